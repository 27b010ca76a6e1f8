"""Use case of `auditlog-witness`: accept the service's checkpoints one chain long, and
countersign them.

A checkpoint is taken only if the service's key signed it, and only as the next link of the
chain the witness holds: the first one is trusted on first use, every later one must be
`extends(new, last)`. So whoever can rewrite the service's database cannot cut its head
back, or show this witness one history and another witness (or a verifier) another, without
this witness refusing it; its refusals (FORK, REWIND) are logged. A checkpoint sent again
is answered as it was the first time.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from application.ports import Clock, SealKeys, SealSigner
from domain.checkpoint import Checkpoint, extends
from domain.timestamps import at_storage_precision
from domain.witnessing import (
    BAD_SIGNATURE,
    FORK,
    GAP,
    REWIND,
    Witnessed,
    WitnessedHead,
    checkpoint_statement,
    head_statement,
)

log = logging.getLogger("auditlog.witness")


class WitnessLedger(Protocol):
    """What a witness accepted, kept for good: never changed, never removed."""

    async def last(self) -> Witnessed | None:
        """The accepted checkpoint with the highest sequence."""

    async def get(self, sequence: int) -> Witnessed | None:
        """The accepted checkpoint of that sequence."""

    async def add(self, witnessed: Witnessed) -> None:
        """Keep a checkpoint (its sequence is new) and, in the same transaction, each
        account's head it lists if it is newer than the one kept."""

    async def head(self, account: str) -> WitnessedHead | None:
        """The account's newest seal an accepted checkpoint listed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    witnessed: Witnessed
    first_use: bool = False
    """Nothing was held: this checkpoint is trusted as it comes."""
    again: bool = False
    """Accepted before: the answer is the one given then."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    error: str
    expected: int | None = None
    """For GAP: the sequence the witness takes next."""


class Countersigning:
    def __init__(
        self, *, ledger: WitnessLedger, service_keys: SealKeys, signer: SealSigner, clock: Clock
    ) -> None:
        self._ledger = ledger
        self._service_keys = service_keys
        self._signer = signer
        self._clock = clock
        # Judging and adding are one step: two checkpoints of one sequence sent at once must
        # not both be found to extend the last.
        self._lock = asyncio.Lock()

    async def execute(self, checkpoint: Checkpoint) -> Accepted | Refused:
        if not self._service_keys.verify(
            checkpoint.key_id, checkpoint.message(), checkpoint.signature
        ):
            return Refused(error=BAD_SIGNATURE)
        async with self._lock:
            last = await self._ledger.last()
            if last is None:
                log.info(
                    "trusted checkpoint %d on first use: later ones must extend it",
                    checkpoint.sequence,
                )
                return Accepted(witnessed=await self._accept(checkpoint), first_use=True)
            if checkpoint.sequence <= last.sequence:
                held = (
                    last
                    if checkpoint.sequence == last.sequence
                    else await self._ledger.get(checkpoint.sequence)
                )
                if held is not None and held.checkpoint_hash == checkpoint.hash():
                    return Accepted(witnessed=held, again=True)
                return self._refuse(FORK if held is not None else REWIND, checkpoint, last)
            if checkpoint.sequence > last.sequence + 1:
                return Refused(error=GAP, expected=last.sequence + 1)
            if not extends(checkpoint, last.checkpoint):
                return self._refuse(REWIND, checkpoint, last)
            return Accepted(witnessed=await self._accept(checkpoint))

    async def latest(self) -> Witnessed | None:
        return await self._ledger.last()

    async def head(self, account: str) -> tuple[WitnessedHead, str] | None:
        """The account's newest head seen, and this witness's signature over it."""
        head = await self._ledger.head(account)
        return None if head is None else (head, self._signer.sign(head_statement(head)))

    async def _accept(self, checkpoint: Checkpoint) -> Witnessed:
        at = at_storage_precision(self._clock.now())
        statement = checkpoint_statement(checkpoint.hash(), checkpoint.sequence, at)
        witnessed = Witnessed(
            checkpoint=checkpoint, witnessed_at=at, cosignature=self._signer.sign(statement)
        )
        await self._ledger.add(witnessed)
        return witnessed

    @staticmethod
    def _refuse(error: str, checkpoint: Checkpoint, last: Witnessed) -> Refused:
        # Hashes by their first 16 digits: the log scrubber takes 64 hex digits for a secret.
        log.warning(
            "refused checkpoint %d (hash %s...), signed by the service, as %s: the last "
            "accepted is %d (hash %s...); the service's chain was rewritten, or is shown "
            "differently to others",
            checkpoint.sequence,
            checkpoint.hash()[:16],
            error,
            last.sequence,
            last.checkpoint_hash[:16],
        )
        return Refused(error=error)
