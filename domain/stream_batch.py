"""Stream batches: the signed header that lets a receiver verify what a delivery carries.

Each batch a log stream delivers carries its entries (export rows, each with its digest)
and a signed header stating, for that batch: the stream and account, its `sequence` (1 for
the stream's first batch, one more each batch after), `previous` (the hash of the batch
before it, "" for the first), `count`, the `first` and `last` entry ids, `through` (the
`created_at` of the last entry), `root` (the Merkle root over the entries' digests in the
order sent, `domain.integrity.merkle_root`) and `sent_at`.

A receiver recomputes each entry's digest from its fields (`domain.entry.entry_digest`),
the root from the digests in order, checks the count, the first and last ids and that no
id comes twice, the signature (Ed25519 under `key_id`, a key of the JWK set the service
publishes), and that `previous` is the hash of the last batch it accepted: so nothing was
altered, dropped, reordered or duplicated on the way, and no batch is missing between two.

The signed bytes are `canonical(body())`: JSON with sorted keys, no spaces, UTF-8, with
timestamps as ISO 8601 UTC at millisecond precision. The batch's hash is SHA-256 (hex) of
`canonical(document())`, the body with `key_id` and `signature`.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.entry import AuditEntry
from domain.integrity import canonical, merkle_root
from domain.timestamps import iso_utc

BATCH_FORMAT = 1
"""`body()["version"]`: the version of the format, for verifiers in other languages."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchHeader:
    stream: str
    account: str
    sequence: int
    """1 for a stream's first batch, one more for each batch after it."""
    previous: str
    """SHA-256 hex of the previous batch's signed header document ("" for the first)."""
    count: int
    first: str | None
    """The first entry's id; None if the batch is empty."""
    last: str | None
    through: datetime | None
    """The `created_at` of the last entry; None if the batch is empty."""
    root: str
    """`merkle_root` of the entries' digests, in the order they are sent."""
    sent_at: datetime
    version: int = BATCH_FORMAT

    def body(self) -> dict[str, Any]:
        """The header as JSON values: what the signature covers."""
        return {
            "version": self.version,
            "stream": self.stream,
            "account": self.account,
            "sequence": self.sequence,
            "previous": self.previous,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "through": None if self.through is None else iso_utc(self.through),
            "root": self.root,
            "sent_at": iso_utc(self.sent_at),
        }

    def signed_bytes(self) -> bytes:
        """The bytes the signature is over."""
        return canonical(self.body())

    def signed(self, key_id: str, sign: Callable[[bytes], str]) -> "SignedBatchHeader":
        return SignedBatchHeader(self, key_id, sign(self.signed_bytes()))


@dataclass(frozen=True, slots=True)
class SignedBatchHeader:
    header: BatchHeader
    key_id: str
    signature: str
    """Base64 Ed25519 signature over `header.signed_bytes()`."""

    def document(self) -> dict[str, Any]:
        """The header as delivered: its body with `key_id` and `signature`."""
        return {**self.header.body(), "key_id": self.key_id, "signature": self.signature}

    def hash(self) -> str:
        """SHA-256 hex of the canonical document: what the next batch's `previous` names."""
        return hashlib.sha256(canonical(self.document())).hexdigest()


def header_of(
    *,
    stream_id: str,
    account: str,
    sequence: int,
    previous: str,
    entries: Sequence[AuditEntry],
    sent_at: datetime,
) -> BatchHeader:
    """The unsigned header of a batch of `entries`, in the order they are sent."""
    return BatchHeader(
        stream=stream_id,
        account=account,
        sequence=sequence,
        previous=previous,
        count=len(entries),
        first=entries[0].id if entries else None,
        last=entries[-1].id if entries else None,
        through=entries[-1].created_at if entries else None,
        root=merkle_root([entry.digest for entry in entries]),
        sent_at=sent_at,
    )
