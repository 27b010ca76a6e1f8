"""Tamper evidence: entry digests, Merkle roots, seals over windows of the trail, and the
problems a verifier reports (judging a seal is `domain.seal_verdict`'s). Pure functions over
plain data; signing is an adapter's job.

An entry's digest is SHA-256 over a canonical JSON encoding of the fields the entry says
it covers (`domain.entry.DIGEST_FIELDS`: every stored field but the digest). A seal
closes one account's window of ingestion time: it lists each entry's id, `expires_at` and
digest (so a verifier knows which entries must still exist, and which one changed), a
Merkle root over the digests in (created_at, id) order, and a link to the account's
previous seal (its hash and `expires_at`, so a missing predecessor is legitimate only once
it has expired). The seal's hash covers its signature, so altering any part breaks the link.

Seals of version 2 sign a header rather than the whole body: the header carries the entry
list's SHA-256 (`entries_digest`) in place of the list, so the signature still covers every
listed id, expiry and digest, and a receipt for one entry (`domain.proof`) can carry the
signed header without revealing the other entries. Version 1 seals (signed over the whole
body) still verify as they were written.
"""

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from typing import Any

from domain.timestamps import iso_utc

MODIFIED = "MODIFIED"
MISSING = "MISSING"
INJECTED = "INJECTED"
SEAL_MISSING = "SEAL_MISSING"
SEAL_INVALID = "SEAL_INVALID"
CHECKPOINT_INVALID = "CHECKPOINT_INVALID"
WITNESS_UNAVAILABLE = "WITNESS_UNAVAILABLE"


def canonical(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_over(
    names: Iterable[str], optional: Iterable[str] = ()
) -> Callable[[dict[str, Any]], str]:
    """The digest function of an entry whose digest covers `names`: SHA-256 hex of
    `canonical` of those fields (timestamps as ISO 8601 UTC with milliseconds). A name in
    `optional` is left out when its value is null, an empty list or absent, so a field added
    later changes no digest written before it existed. Written out by hand because it is on
    every write's path: the bytes are exactly `canonical()`'s, at half its cost."""
    omittable = frozenset(optional)
    # ('"account":', "account", False), ... in sorted key order, as canonical() writes them.
    heads = [(encode_basestring(name) + ":", name, name in omittable) for name in sorted(names)]

    def digest(fields: dict[str, Any]) -> str:
        parts = []
        for head, name, may_omit in heads:
            if may_omit:
                value = fields.get(name)
                if value is None or (isinstance(value, list | tuple) and not value):
                    continue
            else:
                value = fields[name]
            parts.append(head + _json_value(value))
        return hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()

    return digest


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, datetime):
        return encode_basestring(iso_utc(value))
    if value.__class__ is int:
        return int.__repr__(value)  # what json writes for an int
    if value.__class__ is float and math.isfinite(value):
        return float.__repr__(value)  # and for a finite float
    if isinstance(value, dict):
        # Sorted keys, as canonical() writes them.
        return (
            "{"
            + ",".join(
                encode_basestring(key) + ":" + _json_value(value[key]) for key in sorted(value)
            )
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def merkle_root(digests: Sequence[str]) -> str:
    """RFC 6962-style tree: leaves and nodes hashed with distinct prefixes; an odd node is
    carried up unpaired. The root of no leaves is the hash of nothing."""
    if not digests:
        return hashlib.sha256(b"").hexdigest()
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(d)).digest() for d in digests]
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_of(moment: datetime, length: timedelta) -> datetime:
    """The start (in UTC) of the window of `length`, aligned on the epoch, holding `moment`."""
    moment = moment.astimezone(UTC)
    return moment - (moment - _EPOCH) % length


@dataclass(frozen=True, slots=True)
class SealId:
    """A seal's id: one seal per account and window, written `<account>/<ISO window start>`
    (UTC, milliseconds). Formatted and read only here."""

    account: str
    window_start: datetime

    def __str__(self) -> str:
        return f"{self.account}/{iso_utc(self.window_start)}"

    @classmethod
    def parse(cls, text: str) -> "SealId":
        """The id `text` spells; ValueError if it does not name a window start."""
        account, slash, start = text.rpartition("/")
        if not slash:
            raise ValueError("a seal id is <account>/<window start>")
        return cls(account, datetime.fromisoformat(start))


def seal_id(account: str, window_start: datetime) -> str:
    return str(SealId(account, window_start))


@dataclass(frozen=True, slots=True)
class SealedEntry:
    id: str
    expires_at: datetime
    digest: str


@dataclass(frozen=True, slots=True)
class SealLink:
    """What a seal knows of its predecessor."""

    seal_id: str
    hash: str
    expires_at: datetime


def _seal_hash(body: dict[str, Any], key_id: str, signature: str) -> str:
    return hashlib.sha256(canonical({**body, "key_id": key_id, "signature": signature})).hexdigest()


SEAL_VERSION = 2
"""The version new seals are written in (`Seal.version`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Seal:
    account: str
    window_start: datetime
    window_end: datetime
    entries: tuple[SealedEntry, ...]
    merkle_root: str
    previous: SealLink | None
    sealed_at: datetime
    key_id: str = ""
    signature: str = ""
    version: int = 1
    """1: signed over `body()`; 2: signed over `header()`."""

    @property
    def id(self) -> str:
        return seal_id(self.account, self.window_start)

    @property
    def expires_at(self) -> datetime:
        """A seal lasts as long as the last of its entries."""
        return max(entry.expires_at for entry in self.entries)

    def _listed(self) -> list[list[str]]:
        return [[e.id, iso_utc(e.expires_at), e.digest] for e in self.entries]

    def _fields(self) -> dict[str, Any]:
        previous = self.previous
        return {
            "account": self.account,
            "window_start": iso_utc(self.window_start),
            "window_end": iso_utc(self.window_end),
            "count": len(self.entries),
            "merkle_root": self.merkle_root,
            "previous": None
            if previous is None
            else [previous.seal_id, previous.hash, iso_utc(previous.expires_at)],
            "sealed_at": iso_utc(self.sealed_at),
        }

    def header(self) -> dict[str, Any]:
        """What a version 2 signature covers: the body with the entry list's digest in place
        of the list."""
        return {
            "seal": 2,
            **self._fields(),
            "entries_digest": hashlib.sha256(canonical(self._listed())).hexdigest(),
        }

    def body(self) -> dict[str, Any]:
        """The whole seal as stored and exported (what a version 1 signature covers)."""
        if self.version == 1:
            return {**self._fields(), "entries": self._listed()}
        return {**self.header(), "entries": self._listed()}

    def signed_part(self) -> dict[str, Any]:
        """What the signature covers: the body (version 1) or the header (version 2)."""
        return self.body() if self.version == 1 else self.header()

    def message(self) -> bytes:
        """The bytes the signature is over."""
        return canonical(self.signed_part())

    def hash(self) -> str:
        """Covers the signed part and the signature: what the next seal and a checkpoint
        link to."""
        return _seal_hash(self.signed_part(), self.key_id, self.signature)

    def link(self) -> SealLink:
        return SealLink(self.id, self.hash(), self.expires_at)

    def signed(self, key_id: str, sign: Callable[[bytes], str]) -> tuple["Seal", SealLink]:
        """This seal signed by `sign` under `key_id`, and the link to it. The same as
        `replace(...)` then `link()`, writing the signed part out once instead of twice."""
        part = self.signed_part()
        signature = sign(canonical(part))
        seal = dataclasses.replace(self, key_id=key_id, signature=signature)
        return seal, SealLink(seal.id, _seal_hash(part, key_id, signature), seal.expires_at)

    @classmethod
    def from_body(cls, body: dict[str, Any], *, key_id: str, signature: str) -> "Seal":
        """The seal a body (as `body()` writes it) describes; ValueError if it is malformed."""
        try:
            previous = body["previous"]
            version = body.get("seal", 1)
            if version not in (1, 2):
                raise ValueError("a seal of a version this one does not read")
            seal = cls(
                account=body["account"],
                window_start=datetime.fromisoformat(body["window_start"]),
                window_end=datetime.fromisoformat(body["window_end"]),
                entries=tuple(
                    SealedEntry(id_, datetime.fromisoformat(expires), digest)
                    for id_, expires, digest in body["entries"]
                ),
                merkle_root=body["merkle_root"],
                previous=None
                if previous is None
                else SealLink(previous[0], previous[1], datetime.fromisoformat(previous[2])),
                sealed_at=datetime.fromisoformat(body["sealed_at"]),
                key_id=key_id,
                signature=signature,
                version=version,
            )
        except (LookupError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed seal: {exc!r}") from None
        return seal


def new_seal(
    *,
    account: str,
    window_start: datetime,
    window: timedelta,
    entries: Iterable[tuple[str, datetime, datetime, str]],
    previous: SealLink | None,
    sealed_at: datetime,
) -> Seal:
    """An unsigned seal over (id, created_at, expires_at, digest) rows of one window."""
    ordered = sorted(entries, key=lambda row: (row[1], row[0]))
    sealed = tuple(SealedEntry(id_, expires, digest) for id_, _, expires, digest in ordered)
    return Seal(
        account=account,
        window_start=window_start,
        window_end=window_start + window,
        entries=sealed,
        merkle_root=merkle_root([e.digest for e in sealed]),
        previous=previous,
        sealed_at=sealed_at,
        version=SEAL_VERSION,
    )


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    detail: str
    entry_id: str | None = None
    window: datetime | None = None


@dataclass
class Findings:
    problems: list[Problem] = field(default_factory=list)
    windows_checked: int = 0
    entries_verified: int = 0
    unsealed_entries: int = 0
    checked_at: datetime | None = None
    """The moment expiry was judged at, on `clock`."""
    clock: str = "service"
    """"database" (the store's own expiry clock, read from it) or "service"."""

    @property
    def ok(self) -> bool:
        return not self.problems
