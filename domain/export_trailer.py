"""The signed last line of an NDJSON export: what was asked, and digests over what came out.

A trailer states the account, the filter as applied (tenant scope included), the format,
when the export was made, the number of rows, the oldest and newest `createdAt`, a digest
over the rows in file order and, when the export carries seals, their number and a digest
over them, the sequence and hash of the checkpoint it carries (or null), and, when the
export carries receipts (a key bound to one application), their number and a digest over
them. It is signed
with the seal key, so the published keys verify it, and it is written only once every row
and seal went out: a file that lost rows, gained them, had them reordered or duplicated, had
its checkpoint swapped or stripped, lost or gained a receipt, or was cut short no longer
matches its trailer. A trailer written before exports carried checkpoints has no
`checkpoint` key, one written before they carried receipts no `proofs` key, and each is read
as it was signed.

The digests are over values that do not depend on how a line is encoded: `rows_digest` is
SHA-256 over the rows' `digest` values in file order, each followed by a newline (`\n`),
`seals.digest` the same over the seals' hashes (`Seal.hash`), and `proofs.digest` the same
over SHA-256 of each receipt's canonical JSON (`proving.proof_hash`). The signature
is over `canonical(body)`; the body's `type` keeps it apart from every seal body.
"""

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.integrity import canonical
from domain.timestamps import iso_utc

TRAILER_TYPE = "auditlog.export.v1"


class Digests:
    """A running SHA-256 over digests as text, each followed by a newline, in the order given.
    Text rather than raw bytes, so a stored digest that is not hex cannot stop an export."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def add(self, hex_digest: str) -> None:
        self._hash.update(hex_digest.encode() + b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True, slots=True)
class SealsSummary:
    """How many seal (or proof) lines an export carries, and the digest over their hashes."""

    count: int
    digest: str


@dataclass(frozen=True, slots=True)
class CheckpointRef:
    """The checkpoint an export carries, as its trailer names it."""

    sequence: int
    hash: str
    """`Checkpoint.hash()`: it covers the checkpoint's signature too."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportTrailer:
    account: str
    filter: Mapping[str, Any]
    """The filter as applied, as JSON values (timestamps as ISO 8601 UTC)."""
    key: str | None
    """The API key that asked, or None for the operator."""
    application: str | None
    """The one application that key is bound to, if it is."""
    format: str
    exported_at: datetime
    count: int
    oldest: datetime | None
    newest: datetime | None
    rows_digest: str
    seals: SealsSummary | None
    """None when the export carries no seals (a key bound to one application)."""
    checkpoint: CheckpointRef | None = None
    """The checkpoint the export carries; None when it carries none (a key bound to one
    application, or nothing sealed yet)."""
    proofs: SealsSummary | None = None
    """The `_proof` lines the export carries; None when it carries none (an export with
    seals)."""
    states_checkpoint: bool = True
    """False for a trailer written before exports carried checkpoints: its body has no
    `checkpoint` key (and its signature is over that body)."""
    states_proofs: bool = True
    """False for a trailer written before exports carried receipts: its body has no `proofs`
    key."""
    key_id: str = ""
    signature: str = ""

    def body(self) -> dict[str, Any]:
        """What the signature covers (the signing key's id included)."""
        seals, checkpoint, proofs = self.seals, self.checkpoint, self.proofs
        body: dict[str, Any] = {
            "type": TRAILER_TYPE,
            "account": self.account,
            "filter": dict(self.filter),
            "scope": {"key": self.key, "application": self.application},
            "format": self.format,
            "exported_at": iso_utc(self.exported_at),
            "count": self.count,
            "oldest": None if self.oldest is None else iso_utc(self.oldest),
            "newest": None if self.newest is None else iso_utc(self.newest),
            "rows_digest": self.rows_digest,
            "seals": None if seals is None else {"count": seals.count, "digest": seals.digest},
            "key_id": self.key_id,
        }
        if self.states_checkpoint:
            body["checkpoint"] = (
                None
                if checkpoint is None
                else {"sequence": checkpoint.sequence, "hash": checkpoint.hash}
            )
        if self.states_proofs:
            body["proofs"] = (
                None if proofs is None else {"count": proofs.count, "digest": proofs.digest}
            )
        return body

    def message(self) -> bytes:
        """The bytes the signature is over."""
        return canonical(self.body())

    def signed(self, key_id: str, sign: Callable[[bytes], str]) -> "ExportTrailer":
        unsigned = dataclasses.replace(self, key_id=key_id)
        return dataclasses.replace(unsigned, signature=sign(unsigned.message()))

    @classmethod
    def from_body(cls, body: Any, *, signature: str) -> "ExportTrailer":
        """The trailer a body (as `body()` writes it) describes; ValueError if it is malformed
        or is not exactly what `body()` would write for it."""
        try:
            if body["type"] != TRAILER_TYPE:
                raise ValueError("not an export trailer of a known version")
            seals, scope = body["seals"], body["scope"]
            states_checkpoint = "checkpoint" in body
            checkpoint = body.get("checkpoint")
            states_proofs = "proofs" in body
            proofs = body.get("proofs")
            trailer = cls(
                account=body["account"],
                filter=body["filter"],
                key=scope["key"],
                application=scope["application"],
                format=body["format"],
                exported_at=datetime.fromisoformat(body["exported_at"]),
                count=body["count"],
                oldest=_moment(body["oldest"]),
                newest=_moment(body["newest"]),
                rows_digest=body["rows_digest"],
                seals=None if seals is None else SealsSummary(seals["count"], seals["digest"]),
                checkpoint=None if checkpoint is None else _reference(checkpoint),
                proofs=None if proofs is None else SealsSummary(proofs["count"], proofs["digest"]),
                states_checkpoint=states_checkpoint,
                states_proofs=states_proofs,
                key_id=body["key_id"],
                signature=signature,
            )
            written = trailer.body()
        except (LookupError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed trailer: {type(exc).__name__}") from None
        counts = [body["count"], *(s["count"] for s in (seals, proofs) if s is not None)]
        if written != body or any(type(count) is not int for count in counts):
            raise ValueError("the trailer is not in its canonical form")
        return trailer


def _reference(value: Any) -> CheckpointRef:
    sequence, hash_ = value["sequence"], value["hash"]
    if type(sequence) is not int or not isinstance(hash_, str):
        raise TypeError("a checkpoint is named by an integer sequence and a hash")
    return CheckpointRef(sequence, hash_)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
