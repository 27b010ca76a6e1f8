"""Use case: hand the sealer's checkpoints to each configured witness, in order.

For each witness: ask the last checkpoint it accepted, compare it with the store's of that
sequence, then send the store's checkpoints after it, one by one, as far as the store goes.
A GAP answer (the witness expects an earlier one) restarts from where it says. A FORK or
REWIND answer, or a witness whose last checkpoint the store holds differently or does not
reach, is a cut or a split view of this service's chain: it is logged as a warning naming the
witness, and nothing more is sent to it. A witness that cannot be reached is skipped until
the next pass. A warning is logged when its cause is new, not again at every pass.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from application.ports import Checkpoints
from domain.checkpoint import Checkpoint
from domain.witnessing import FORK, GAP, REWIND

log = logging.getLogger("auditlog.witnessing")

BATCH = 100
"""Checkpoints read from the store at a time."""
PER_PASS = 1_000
"""Checkpoints sent to one witness in one pass at most: a witness far behind catches up over
several passes, and each pass ends in bounded time."""


class WitnessUnavailable(Exception):
    """The witness did not answer, or not in a form this service reads; the message names
    no secret."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    accepted: bool = False
    error: str | None = None
    """Why it refused: GAP, FORK, REWIND, BAD_SIGNATURE, ..."""
    expected: int | None = None
    """With GAP: the sequence the witness takes next."""


class WitnessClient(Protocol):
    """One witness, as the service reaches it."""

    @property
    def name(self) -> str:
        """How logs name it (its URL, without credentials)."""
        ...

    async def latest(self) -> tuple[int, str] | None:
        """The sequence and hash of the last checkpoint it accepted; None if none yet."""

    async def submit(self, checkpoint: Checkpoint) -> Answer:
        """Send it one checkpoint."""


class PushToWitnesses:
    def __init__(self, *, checkpoints: Checkpoints, witnesses: Sequence[WitnessClient]) -> None:
        self._checkpoints = checkpoints
        self._witnesses = witnesses
        self._reported: dict[str, str] = {}

    async def run_once(self) -> int:
        """Send each witness what it lacks; the number of checkpoints accepted."""
        accepted = 0
        for witness in self._witnesses:
            try:
                sent, problem = await self._push(witness)
            except WitnessUnavailable as exc:
                sent, problem = 0, f"witness {witness.name} is unavailable: {exc}"
            accepted += sent
            self._report(witness, problem)
        return accepted

    async def _push(self, witness: WitnessClient) -> tuple[int, str | None]:
        """How many checkpoints it accepted, and what stopped it (None: nothing did)."""
        held = await witness.latest()
        sequence = 0
        if held is not None:
            sequence, held_hash = held
            ours = await self._checkpoints.get(sequence)
            if ours is not None and ours.hash() != held_hash:
                return 0, self._cut(witness, f"holds another checkpoint {sequence}")
            if ours is None:
                latest = await self._checkpoints.latest()
                if latest is None or latest.sequence < sequence:
                    return 0, self._cut(witness, f"holds checkpoint {sequence}, beyond ours")
        accepted = sent = 0
        gap_from: int | None = None
        while sent < PER_PASS:
            batch = await self._checkpoints.after(sequence, min(BATCH, PER_PASS - sent))
            if not batch:
                return accepted, None
            for checkpoint in batch:
                answer = await witness.submit(checkpoint)
                sent += 1
                if answer.accepted:
                    accepted += 1
                    sequence, gap_from = checkpoint.sequence, None
                    continue
                if answer.error == GAP and answer.expected is not None:
                    if answer.expected == gap_from:
                        return accepted, (
                            f"witness {witness.name} needs checkpoint {answer.expected}, "
                            "which this store no longer holds: it cannot catch up"
                        )
                    gap_from = answer.expected
                    sequence = answer.expected - 1
                    break
                refused = f"refused checkpoint {checkpoint.sequence} as {answer.error}"
                if answer.error in (FORK, REWIND):
                    return accepted, self._cut(witness, refused)
                return accepted, f"witness {witness.name} {refused}"
        return accepted, None

    @staticmethod
    def _cut(witness: WitnessClient, what: str) -> str:
        return (
            f"witness {witness.name} {what}: this service's chain of checkpoints was cut or "
            "rewritten, or the witness was shown another; nothing more is sent to it until "
            "this is resolved"
        )

    def _report(self, witness: WitnessClient, problem: str | None) -> None:
        if problem is None:
            self._reported.pop(witness.name, None)
        elif self._reported.get(witness.name) != problem:
            self._reported[witness.name] = problem
            log.warning("%s", problem)
