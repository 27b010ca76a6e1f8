"""Use case: seal each account's trail in windows of ingestion time.

Windows close `grace` after they end (longer than any insert may take, clock skew
included), and are sealed in order, across all accounts, up to a watermark kept beside the
lease. Running again is harmless: a window sealed already is skipped. After downtime the
sealer catches up window by window. Writers never wait for it.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.periodic import Periodic
from application.ports import AuditEntryRepository, Clock, SealerState, Seals, SealSigner
from application.reading.criteria import EntryCriteria
from domain.integrity import Seal, SealLink, new_seal, seal_id, window_of

log = logging.getLogger("auditlog.sealing")
# The logger the sealer loop's lines have always carried (the name is in every line).
_loop_log = logging.getLogger("auditlog")

# Windows read per pass while catching up: bounds the memory of one pass.
WINDOWS_PER_PASS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class SealingConfig:
    """Every value is given: the service's come from its AUDITLOG_SEAL_* settings."""

    window: timedelta
    grace: timedelta
    lease: timedelta


class SealTrail:
    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        seals: Seals,
        state: SealerState,
        signer: SealSigner,
        clock: Clock,
        holder: str,
        config: SealingConfig,
    ) -> None:
        self._entries = entries
        self._seals = seals
        self._state = state
        self._signer = signer
        self._clock = clock
        self._holder = holder
        self._config = config
        self.sealed = 0
        """Seals written by this instance (for metrics)."""
        # Per account, the id and signature of the last seal this instance wrote, and the link
        # to it: hashing a stored seal again would write its whole body out a second time.
        self._written: dict[str, tuple[str, str, SealLink]] = {}

    async def run_once(self) -> int:
        """Seal every window closed since the last run; the number of seals written."""
        config = self._config
        now = self._clock.now()
        if not await self._state.acquire(self._holder, now=now, until=now + config.lease):
            return 0
        horizon = window_of(now - config.grace, config.window)
        start = await self._state.sealed_through()
        if start is None:
            first = await self._entries.first_created_at()
            if first is None:
                return 0
            start = window_of(first, config.window)
        written = 0
        while start < horizon:
            end = min(horizon, start + config.window * WINDOWS_PER_PASS)
            written += await self._seal_between(start, end)
            await self._state.advance(self._holder, end)
            start = end
        self.sealed += written
        return written

    async def _seal_between(self, start: datetime, end: datetime) -> int:
        window = self._config.window
        rows: dict[tuple[str, datetime], list[tuple[str, datetime, datetime, str]]]
        rows = defaultdict(list)
        every_account = EntryCriteria.created_between(None, start, end)
        # `now=start`: entries created in these windows are all included, expired or not.
        async for batch in self._entries.stream(every_account, now=start):
            for entry in batch:
                key = (entry.account, window_of(entry.created_at, window))
                rows[key].append((entry.id, entry.created_at, entry.expires_at, entry.digest))
        written = 0
        for (account, window_start), sealed_rows in sorted(rows.items(), key=lambda i: i[0][1]):
            if await self._seals.get(seal_id(account, window_start)) is not None:
                continue
            latest = await self._seals.latest(account)
            seal = new_seal(
                account=account,
                window_start=window_start,
                window=window,
                entries=sealed_rows,
                previous=None if latest is None else self._link_to(latest),
                sealed_at=self._clock.now(),
            )
            signed, link = seal.signed(self._signer.key_id, self._signer.sign)
            if await self._seals.add(signed):
                self._written[account] = (signed.id, signed.signature, link)
                written += 1
        return written

    def _link_to(self, latest: Seal) -> SealLink:
        """The link to an account's latest seal: remembered if this instance wrote it (the
        same id and signature), else computed from the seal as stored."""
        known = self._written.get(latest.account)
        if known is not None and known[:2] == (latest.id, latest.signature):
            return known[2]
        return latest.link()


class SealingPass(Protocol):
    async def run_once(self) -> int:
        """Seal what is due; the number of seals written."""
        ...


class SealingLoop:
    """Runs a sealing pass, then waits `interval` seconds, until stopped. A failed pass is
    logged and the next one catches up: a failing store must not stop the sealer for good."""

    def __init__(self, trail: SealingPass, *, interval: float) -> None:
        self._trail = trail
        self._loop = Periodic(
            self._pass, interval=interval, name="sealing pass", log=_loop_log, first_at_start=True
        )

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _pass(self) -> None:
        written = await self._trail.run_once()
        if written:
            _loop_log.info("sealed %d windows", written)
