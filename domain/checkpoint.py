"""Checkpoints: the signed statement of how far the trail is sealed, and of every seal written.

The sealer writes one after each step of a pass: its `sequence` is one more than the last,
`previous` is the last one's hash and `expires_at` (so checkpoints form one chain, and a
checkpoint removed before its time or replaced breaks the link of the one after it),
`sealed_through` is the moment every window ending at or before it has been sealed, and
`sealed` lists the seals written since the last checkpoint (account, seal id, window
start, the seal's hash and `expires_at`).

What the database holds beside it (the sealer's lease and unsigned progress) decides
nothing: a verifier reads how far an account is sealed from the latest checkpoint whose
signature holds, and which seals must exist from the checkpoints that list them. A copy
held outside the database (a witness) shows a cut of the newest checkpoints too.

The signed bytes are `canonical(body())`: JSON with sorted keys, no spaces, UTF-8, with
timestamps as ISO 8601 UTC at millisecond precision. The hash is SHA-256 (hex) of
`canonical({**body(), "key_id": ..., "signature": ...})`.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from domain.integrity import Seal, canonical
from domain.timestamps import at_storage_precision, iso_utc

CHECKPOINT_FORMAT = 1
"""`body()["checkpoint"]`: the version of the format, for verifiers in other languages."""
CHECKPOINT_KEPT = timedelta(days=30)
"""How long a checkpoint that lists no seal longer-lived than this is kept: long enough for
a witness that was away to catch up along the chain."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedHead:
    """A seal as a checkpoint lists it."""

    account: str
    seal_id: str
    window_start: datetime
    seal_hash: str
    expires_at: datetime

    @classmethod
    def of(cls, seal: Seal) -> "SealedHead":
        return cls(
            account=seal.account,
            seal_id=seal.id,
            window_start=seal.window_start,
            seal_hash=seal.hash(),
            expires_at=seal.expires_at,
        )

    def row(self) -> list[str]:
        return [
            self.account,
            self.seal_id,
            iso_utc(self.window_start),
            self.seal_hash,
            iso_utc(self.expires_at),
        ]

    def digest(self) -> str:
        """What a checkpoint signs of it: SHA-256 hex of the canonical JSON of `row()`, so a
        published checkpoint names no account but those whose heads go with it."""
        return hashlib.sha256(canonical(self.row())).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    sequence: int
    previous: str | None
    """The hash of checkpoint `sequence - 1`; None for the first."""
    previous_expires_at: datetime | None
    """Until when checkpoint `sequence - 1` is kept: gone earlier, it was removed."""
    issued_at: datetime
    sealed_through: datetime
    sealed: tuple[SealedHead, ...]
    """The heads known with it: every one it lists (as the sealer wrote it, as a store keeps
    it) or one account's (a copy published to that account: `document(account)`)."""
    listed: tuple[str, ...] = ()
    """The digest of every seal it lists (`SealedHead.digest`), signed; computed from
    `sealed` when not given."""
    kept_until: datetime | None = None
    """`expires_at` as stated (signed); computed when not given."""
    key_id: str = ""
    signature: str = ""

    def __post_init__(self) -> None:
        if not self.listed and self.sealed:
            object.__setattr__(self, "listed", tuple(head.digest() for head in self.sealed))
        if self.kept_until is None:
            kept = self.issued_at + CHECKPOINT_KEPT
            latest = max([kept, *(head.expires_at for head in self.sealed)])
            object.__setattr__(self, "kept_until", at_storage_precision(latest))

    @property
    def expires_at(self) -> datetime:
        """As long as the seals it lists, and at least `CHECKPOINT_KEPT`."""
        assert self.kept_until is not None  # set at construction
        return self.kept_until

    @property
    def whole(self) -> bool:
        """Whether every seal it lists is known with it, and nothing else (as a store must
        keep it: a head removed from beside it would hide the seal it names)."""
        return sorted(head.digest() for head in self.sealed) == sorted(self.listed)

    def heads_of(self, account: str) -> tuple[SealedHead, ...]:
        return tuple(head for head in self.sealed if head.account == account)

    def body(self) -> dict[str, Any]:
        """What the signature covers."""
        return {
            "checkpoint": CHECKPOINT_FORMAT,
            "sequence": self.sequence,
            "previous": None
            if self.previous is None or self.previous_expires_at is None
            else [self.previous, iso_utc(self.previous_expires_at)],
            "issued_at": iso_utc(self.issued_at),
            "sealed_through": iso_utc(self.sealed_through),
            "expires_at": iso_utc(self.expires_at),
            "sealed": list(self.listed),
        }

    def message(self) -> bytes:
        return canonical(self.body())

    def hash(self) -> str:
        signed = {**self.body(), "key_id": self.key_id, "signature": self.signature}
        return hashlib.sha256(canonical(signed)).hexdigest()

    def signed(self, key_id: str, sign: Callable[[bytes], str]) -> "Checkpoint":
        return replace(self, key_id=key_id, signature=sign(self.message()))

    def document(self, account: str | None = None) -> dict[str, Any]:
        """The body with its key id and signature, and the heads known with it: all of them
        (how it is stored and sent to witnesses), or with `account` only that account's
        (how it is published to the account: it names no other tenant)."""
        heads = self.sealed if account is None else self.heads_of(account)
        return {
            **self.body(),
            "key_id": self.key_id,
            "signature": self.signature,
            "heads": [head.row() for head in heads],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Checkpoint":
        """The checkpoint a document (as `document()` writes it) describes; ValueError if it
        is not one (its signature is the caller's to check)."""
        try:
            if document["checkpoint"] != CHECKPOINT_FORMAT:
                raise ValueError("not a checkpoint of a format this version reads")
            sequence = document["sequence"]
            previous = document["previous"]
            if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
                raise ValueError("a checkpoint's sequence is a positive integer")
            if previous is not None and not isinstance(previous, list):
                raise ValueError("a checkpoint's previous is [hash, expires_at] or null")
            listed = tuple(_text(digest) for digest in document["sealed"])
            heads = tuple(
                SealedHead(
                    account=_text(account),
                    seal_id=_text(seal_id),
                    window_start=_instant(start),
                    seal_hash=_text(seal_hash),
                    expires_at=_instant(expires),
                )
                for account, seal_id, start, seal_hash, expires in document["heads"]
            )
            if any(head.digest() not in listed for head in heads):
                raise ValueError("a head the checkpoint does not list")
            return cls(
                sequence=sequence,
                previous=None if previous is None else _text(previous[0]),
                previous_expires_at=None if previous is None else _instant(previous[1]),
                issued_at=_instant(document["issued_at"]),
                sealed_through=_instant(document["sealed_through"]),
                sealed=heads,
                listed=listed,
                kept_until=_instant(document["expires_at"]),
                key_id=_text(document["key_id"]),
                signature=_text(document["signature"]),
            )
        except (LookupError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed checkpoint: {type(exc).__name__}") from None


def next_checkpoint(
    latest: "Checkpoint | None",
    *,
    issued_at: datetime,
    sealed_through: datetime,
    sealed: tuple[SealedHead, ...],
) -> Checkpoint:
    """The unsigned checkpoint after `latest` (the first if None). Its times are kept at
    the milliseconds its document states, so it equals itself read back from any store."""
    return Checkpoint(
        sequence=1 if latest is None else latest.sequence + 1,
        previous=None if latest is None else latest.hash(),
        previous_expires_at=None if latest is None else latest.expires_at,
        issued_at=at_storage_precision(issued_at),
        sealed_through=sealed_through,
        sealed=sealed,
    )


def extends(newer: Checkpoint, older: Checkpoint) -> bool:
    """Whether `newer` is the checkpoint right after `older` in one chain: the next
    sequence, linked to its hash, sealed no less far."""
    return (
        newer.sequence == older.sequence + 1
        and newer.previous == older.hash()
        and newer.previous_expires_at == older.expires_at
        and newer.sealed_through >= older.sealed_through
    )


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a checkpoint's times are ISO 8601 strings")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a checkpoint's times carry their offset")
    return moment


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value
