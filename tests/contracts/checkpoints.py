"""Signed checkpoints over made-up seals, for the checkpoint contracts and the SQLite tests."""

from datetime import datetime, timedelta

from domain.checkpoint import Checkpoint, SealedHead, next_checkpoint
from tests.contracts.seals import KEYS, T0, WINDOW


def head(
    account: str = "acme", window: int = 0, *, expires_at: datetime | None = None
) -> SealedHead:
    start = T0 + window * WINDOW
    return SealedHead(
        account=account,
        seal_id=f"{account}/{start.isoformat()}",
        window_start=start,
        seal_hash=f"{account}{window:04d}".ljust(64, "c"),
        expires_at=expires_at or start + timedelta(days=90, milliseconds=321),
    )


def signed(checkpoint: Checkpoint) -> Checkpoint:
    return checkpoint.signed(KEYS.key_id, KEYS.sign)


def chain(*listed: tuple[SealedHead, ...], start: datetime = T0) -> list[Checkpoint]:
    """One signed checkpoint per tuple of heads, each after the one before."""
    checkpoints: list[Checkpoint] = []
    for step, heads in enumerate(listed):
        checkpoints.append(
            signed(
                next_checkpoint(
                    checkpoints[-1] if checkpoints else None,
                    issued_at=start + step * WINDOW + timedelta(seconds=5, milliseconds=17),
                    sealed_through=start + step * WINDOW,
                    sealed=heads,
                )
            )
        )
    return checkpoints
