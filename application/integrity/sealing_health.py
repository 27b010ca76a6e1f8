"""Use case: make a stalled sealer loud (issue 15).

Sealing that stops is silent by itself: writers never wait for the sealer, so the trail goes
on growing unsealed. Someone with write access to the database can stop it on purpose by
writing a lease for a holder of their own until 2100: no instance may take it, none seals.
`SealingHealth.check` reads the same data the sealer does and tells two things from it:

- how far sealing lags: from the point the latest signed checkpoint says the trail is sealed
  through to the horizon a sealer running now would reach (`window_of(now - grace)`). Before
  the first checkpoint it counts from the progress stored beside the lease, as the sealer
  starts from it; with neither, from the window of the oldest entry (the sealer's first
  window); with no entries either, nothing is owed and the lag is zero. It is *lagging* past
  `max_lag_windows` windows: a healthy sealer is at most one interval and a window behind.
- whether the lease is *suspect*: its `until` is later than `now + lease + grace`. A sealer
  only ever takes the lease until its own `now + lease`, and instances' clocks differ by
  less than `grace` (the setting says so), so no genuine sealer writes that; whoever holds
  it, it was written behind the service. A lease renewed within its term by an intruder is
  not told apart from an instance's: it shows as lagging instead, since nothing seals.

Each check sets the telemetry's gauges and keeps its status for `/readyz`; a warning is
logged when the state turns bad (or from one bad state to another), an info line when it
is ok again, and nothing while it stays as it is.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from application.integrity.sealing import SealingConfig
from application.ports import (
    AuditEntryRepository,
    Checkpoints,
    Clock,
    Lease,
    SealerState,
    SealKeys,
    Telemetry,
)
from domain.integrity import window_of

log = logging.getLogger("auditlog.sealing")

# A holder is text from the database: quoted and cut so a log line stays one short line.
_HOLDER_SHOWN = 80

SealingState = Literal["ok", "lagging", "lease_suspect", "checkpoint_invalid"]
"""`checkpoint_invalid` (the latest checkpoint does not verify: the sealer stops) wins over
`lease_suspect`, which wins over `lagging`: each says why nothing seals."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SealingStatus:
    state: SealingState
    lag: timedelta
    lag_windows: int
    """Whole windows the horizon is ahead of the sealed point."""
    sealed_through: datetime | None
    """The point the lag is counted from; None while nothing is owed (no entries)."""
    lease: Lease | None
    checked_at: datetime


class SealingHealth:
    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        checkpoints: Checkpoints,
        state: SealerState,
        keys: SealKeys,
        clock: Clock,
        config: SealingConfig,
        max_lag_windows: int,
        telemetry: Telemetry,
    ) -> None:
        self._entries = entries
        self._checkpoints = checkpoints
        self._keys = keys
        self._state = state
        self._clock = clock
        self._config = config
        self._max_lag = config.window * max_lag_windows
        self._max_lag_windows = max_lag_windows
        self._telemetry = telemetry
        self.last: SealingStatus | None = None
        """The latest check's status; None before the first."""

    async def check(self) -> SealingStatus:
        config = self._config
        now = self._clock.now()
        horizon = window_of(now - config.grace, config.window)
        sealed, forged = await self._sealed_point()
        lag = timedelta(0) if sealed is None else max(horizon - sealed, timedelta(0))
        lease = await self._state.lease()
        suspect = lease is not None and lease.until > now + config.lease + config.grace
        state: SealingState = (
            "checkpoint_invalid"
            if forged
            else "lease_suspect"
            if suspect
            else "lagging"
            if lag > self._max_lag
            else "ok"
        )
        status = SealingStatus(
            state=state,
            lag=lag,
            lag_windows=lag // config.window,
            sealed_through=sealed,
            lease=lease,
            checked_at=now,
        )
        self._telemetry.sealing_checked(lag.total_seconds(), lease_suspect=suspect)
        previous, self.last = self.last, status
        if state != (previous.state if previous is not None else "ok"):
            self._log_change(status)
        return status

    async def _sealed_point(self) -> tuple[datetime | None, bool]:
        """Where the sealer goes on from (the same order `SealTrail` reads it in), and
        whether the latest checkpoint fails its signature (then the lag is counted as if
        there were none: its `sealed_through` may have been pushed ahead to hide it)."""
        checkpoint = await self._checkpoints.latest()
        forged = checkpoint is not None and not self._keys.verify(
            checkpoint.key_id, checkpoint.message(), checkpoint.signature
        )
        if checkpoint is not None and not forged:
            return checkpoint.sealed_through, False
        stored = await self._state.sealed_through()
        if stored is not None:
            return stored, forged
        first = await self._entries.first_created_at()
        return None if first is None else window_of(first, self._config.window), forged

    def _log_change(self, status: SealingStatus) -> None:
        sealed = "nothing" if status.sealed_through is None else status.sealed_through.isoformat()
        lease = status.lease
        holder = "nobody" if lease is None else repr(lease.holder[:_HOLDER_SHOWN])
        until = "" if lease is None else f" until {lease.until.isoformat()}"
        if status.state == "checkpoint_invalid":
            log.warning(
                "sealing is stopped: the latest checkpoint does not verify (it was changed "
                "behind the service); sealed through %s by the unsigned progress, %d windows "
                "behind",
                sealed,
                status.lag_windows,
            )
        elif status.state == "lease_suspect":
            log.warning(
                "sealing is stopped: the sealer lease is held by %s%s, longer than any sealer "
                "takes it (%ds): it was written behind the service; sealed through %s, "
                "%d windows behind",
                holder,
                until,
                self._config.lease.total_seconds(),
                sealed,
                status.lag_windows,
            )
        elif status.state == "lagging":
            log.warning(
                "sealing lags %d windows (more than AUDITLOG_SEAL_MAX_LAG_WINDOWS=%d): sealed "
                "through %s; the lease is held by %s%s",
                status.lag_windows,
                self._max_lag_windows,
                sealed,
                holder,
                until,
            )
        else:
            log.info("sealing is back on time: %d windows behind", status.lag_windows)
