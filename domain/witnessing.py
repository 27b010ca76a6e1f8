"""What a witness vouches for: that it accepted a checkpoint, as the next in the one chain it
holds, at a moment; and, per account, which seal was the newest any accepted checkpoint
listed.

A witness signs (Ed25519, its own key) the canonical JSON (`domain.integrity.canonical`) of
`{"checkpoint_hash", "sequence", "witnessed_at"}` for a checkpoint, and of
`{"account", "seal_id", "window_start", "seal_hash", "expires_at", "sequence",
"checkpoint_hash", "witnessed_at"}` for an account's head; the two have different keys, so
neither signature can pass for the other. Times are ISO 8601 UTC at millisecond precision.
"""

from dataclasses import dataclass
from datetime import datetime

from domain.checkpoint import Checkpoint, SealedHead
from domain.integrity import canonical
from domain.timestamps import iso_utc

# Why a witness refuses a checkpoint (the `error` of its 400 and 409 answers).
BAD_SIGNATURE = "BAD_SIGNATURE"
GAP = "GAP"
"""Later than the next one: the witness takes the chain in order (it says which it expects)."""
FORK = "FORK"
"""Another checkpoint of a sequence the witness holds: a split view, or a rewritten chain."""
REWIND = "REWIND"
"""The next sequence not linked to the last one accepted (or older than any held): the
chain was cut back and grown again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Witnessed:
    """A checkpoint a witness accepted, and its countersignature."""

    checkpoint: Checkpoint
    witnessed_at: datetime
    cosignature: str

    @property
    def sequence(self) -> int:
        return self.checkpoint.sequence

    @property
    def checkpoint_hash(self) -> str:
        return self.checkpoint.hash()


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessedHead:
    """The newest seal of an account that an accepted checkpoint listed, and which one."""

    head: SealedHead
    sequence: int
    checkpoint_hash: str
    witnessed_at: datetime


def checkpoint_statement(checkpoint_hash: str, sequence: int, witnessed_at: datetime) -> bytes:
    """The bytes a witness signs for a checkpoint it accepted."""
    return canonical(
        {
            "checkpoint_hash": checkpoint_hash,
            "sequence": sequence,
            "witnessed_at": iso_utc(witnessed_at),
        }
    )


def head_statement(head: WitnessedHead) -> bytes:
    """The bytes a witness signs for an account's head."""
    return canonical(
        {
            **head_fields(head.head),
            "sequence": head.sequence,
            "checkpoint_hash": head.checkpoint_hash,
            "witnessed_at": iso_utc(head.witnessed_at),
        }
    )


def head_fields(head: SealedHead) -> dict[str, str]:
    return {
        "account": head.account,
        "seal_id": head.seal_id,
        "window_start": iso_utc(head.window_start),
        "seal_hash": head.seal_hash,
        "expires_at": iso_utc(head.expires_at),
    }
