"""Use case: seal each account's trail in windows of ingestion time.

Windows close `grace` after they end (longer than any insert may take, clock skew
included), and are sealed in order, across all accounts, in steps of up to WINDOWS_PER_PASS
windows. Each step ends with a signed checkpoint (`domain.checkpoint`) that lists the seals
it wrote and how far the trail is sealed; the next pass starts from the latest checkpoint,
never from the unsigned progress kept beside the lease, so rewinding that progress makes no
window be sealed again. Running again is harmless: a window sealed already is skipped (and
listed in the next checkpoint if a crash left it unlisted). After downtime the sealer
catches up window by window. Writers never wait for it.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.periodic import Periodic
from application.ports import (
    AuditEntryRepository,
    Checkpoints,
    Clock,
    SealerState,
    SealKeyPair,
    Seals,
)
from application.reading.criteria import EntryCriteria
from domain.checkpoint import Checkpoint, SealedHead, next_checkpoint
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
    expiry_tolerance: timedelta
    """How far past its `expires_at` a missing entry or seal may be before the verifier
    reports it: the store's own expiry (MongoDB's TTL monitor, the embedded sweep) is behind
    the clock by up to its own period, and another clock may run ahead."""


class SealTrail:
    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        seals: Seals,
        state: SealerState,
        checkpoints: Checkpoints,
        signer: SealKeyPair,
        clock: Clock,
        holder: str,
        config: SealingConfig,
    ) -> None:
        self._entries = entries
        self._seals = seals
        self._state = state
        self._checkpoints = checkpoints
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
        """Seal every window closed since the last checkpoint; the number of seals written."""
        config = self._config
        now = self._clock.now()
        if not await self._state.acquire(self._holder, now=now, until=now + config.lease):
            return 0
        horizon = window_of(now - config.grace, config.window)
        checkpoint = await self._checkpoints.latest()
        if checkpoint is not None and not self._signer.verify(
            checkpoint.key_id, checkpoint.message(), checkpoint.signature
        ):
            # Edited behind the service (its progress pushed ahead would make windows be
            # skipped unsealed): nothing is sealed on top of it until someone looks.
            log.error(
                "the latest checkpoint (sequence %d) does not verify: it was changed behind "
                "the service; sealing is stopped (verifyAuditLogs reports CHECKPOINT_INVALID)",
                checkpoint.sequence,
            )
            return 0
        start = await self._start(checkpoint)
        written = 0
        while start is not None and start < horizon:
            end = min(horizon, start + config.window * WINDOWS_PER_PASS)
            heads, new = await self._seal_between(start, end)
            checkpoint = await self._checkpoint(checkpoint, end, heads)
            written += new
            if checkpoint is None:
                break
            await self._state.advance(self._holder, end)
            start = end
        self.sealed += written
        return written

    async def _start(self, checkpoint: Checkpoint | None) -> datetime | None:
        """Where this pass starts: the latest checkpoint's `sealed_through`. Before the first
        checkpoint (a trail sealed by a version without them), the progress as stored, or
        the window of the oldest entry."""
        stored = await self._state.sealed_through()
        if checkpoint is not None:
            signed = checkpoint.sealed_through
            if stored is not None and stored != signed:
                log.warning(
                    "the sealer's stored progress (%s) differs from the latest signed "
                    "checkpoint (%s, sequence %d): it was changed behind the service, or a "
                    "crash came between the two writes; sealing goes on from the checkpoint",
                    stored.isoformat(),
                    signed.isoformat(),
                    checkpoint.sequence,
                )
            return signed
        if stored is not None:
            return stored
        first = await self._entries.first_created_at()
        return None if first is None else window_of(first, self._config.window)

    async def _checkpoint(
        self, latest: Checkpoint | None, sealed_through: datetime, heads: list[SealedHead]
    ) -> Checkpoint | None:
        """Sign and store the checkpoint after `latest`; None if another sealer wrote that
        sequence first (its lease ran out under this one: it goes on from there)."""
        unsigned = next_checkpoint(
            latest,
            issued_at=self._clock.now(),
            sealed_through=sealed_through,
            sealed=tuple(heads),
        )
        checkpoint = unsigned.signed(self._signer.key_id, self._signer.sign)
        if await self._checkpoints.add(checkpoint):
            return checkpoint
        log.warning(
            "checkpoint %d was written by another sealer first: this pass stops",
            checkpoint.sequence,
        )
        return None

    async def _seal_between(self, start: datetime, end: datetime) -> tuple[list[SealedHead], int]:
        """Seal the windows in [start, end): the heads the next checkpoint lists (the seals
        written, and any a crash left unlisted), in window order, and how many were written."""
        window = self._config.window
        rows: dict[tuple[str, datetime], list[tuple[str, datetime, datetime, str]]]
        rows = defaultdict(list)
        every_account = EntryCriteria.created_between(None, start, end)
        # `now=start`: entries created in these windows are all included, expired or not.
        async for batch in self._entries.stream(every_account, now=start):
            for entry in batch:
                key = (entry.account, window_of(entry.created_at, window))
                rows[key].append((entry.id, entry.created_at, entry.expires_at, entry.digest))
        heads: list[SealedHead] = []
        written = 0
        for (account, window_start), sealed_rows in sorted(rows.items(), key=lambda i: i[0][1]):
            existing = await self._seals.get(seal_id(account, window_start))
            if existing is not None:
                if not await self._checkpoints.listing(
                    account, window_start, window_start + window
                ):
                    heads.append(SealedHead.of(existing))
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
                heads.append(_head(signed, link))
                written += 1
        return heads, written

    def _link_to(self, latest: Seal) -> SealLink:
        """The link to an account's latest seal: remembered if this instance wrote it (the
        same id and signature), else computed from the seal as stored."""
        known = self._written.get(latest.account)
        if known is not None and known[:2] == (latest.id, latest.signature):
            return known[2]
        return latest.link()


def _head(seal: Seal, link: SealLink) -> SealedHead:
    """A seal as a checkpoint lists it, from the link its signing made (hashed once)."""
    return SealedHead(
        account=seal.account,
        seal_id=link.seal_id,
        window_start=seal.window_start,
        seal_hash=link.hash,
        expires_at=link.expires_at,
    )


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
