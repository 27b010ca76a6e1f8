"""Verify a log-stream batch on arrival: nothing altered, dropped, duplicated or reordered
between the service and the receiver, and no batch missing between two.

Each delivery carries its entries (export rows, each with its `digest`) and a signed header
(docs/stream-verification.md). `verify_batch` recomputes every row's digest from its
fields exactly as the service does, the Merkle root over the digests in the order received,
and checks the count, the first and last ids, that no id comes twice, the header's Ed25519
signature under its `key_id` (a key of the JWK set the service publishes at
`/.well-known/audit-seal-keys.json`) and, given the hash of the last batch accepted, that
this batch names it as `previous`:

    verified = verify_batch(body["batch"], body["entries"], keys, previous=last_hash)
    last_hash = verified.hash

Checking signatures needs the `cryptography` package: `pip install "auditlog-client[verify]"`.
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditlog_client.wire import camel

ALTERED = "ALTERED"
"""An entry's fields do not give its digest, or the entries are not the ones signed (other
entries, another order, more of them)."""
DROPPED = "DROPPED"
"""Fewer entries than the header's count, or not its first or last."""
DUPLICATED = "DUPLICATED"
"""An entry id comes twice in the batch."""
OUT_OF_SEQUENCE = "OUT_OF_SEQUENCE"
"""The batch does not follow the one the receiver accepted last (one is missing between)."""
SIGNATURE_INVALID = "SIGNATURE_INVALID"
"""The header is not signed by a key of the key set (edited, another key, an unknown one)."""
MALFORMED = "MALFORMED"
"""The header, a row or the key set is not of the shape the format states."""

BATCH_FORMAT = 1

DIGESTED_FIELDS = (
    "id", "account", "application", "action", "success", "email", "reason", "ip",
    "user_agent", "request_id", "created_at", "expires_at", "occurred_at",
    "idempotency_key", "actor", "targets", "metadata",
)  # fmt: skip
"""The fields an entry's digest covers, under these (snake_case) names; a row carries each
under its camelCase name (`user_agent` as `userAgent`)."""
OMITTED_WHEN_EMPTY = frozenset({"occurred_at", "idempotency_key", "actor", "targets", "metadata"})
"""Fields added after entries were first digested: left out of the digest when null, an
empty list or absent, so an entry written before they existed keeps its digest."""

_ROW_KEYS = tuple((name, camel(name)) for name in DIGESTED_FIELDS)
_SIGNED_OFF = ("key_id", "signature")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


class BatchInvalid(Exception):
    """The batch does not verify: `reason` is one of ALTERED, DROPPED, DUPLICATED,
    OUT_OF_SEQUENCE, SIGNATURE_INVALID, MALFORMED; `detail` says what, naming entry ids
    and positions but never a field's value."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VerifiedBatch:
    hash: str
    """SHA-256 hex of the signed header: pass it as `previous` for the next batch."""
    sequence: int
    entry_ids: tuple[str, ...]


def canonical(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8: the bytes digests and signatures are over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def batch_hash(header: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of the signed header (its fields, `key_id` and
    `signature`): what the next batch names as `previous`. `BatchInvalid(MALFORMED)` if
    it is not JSON."""
    if not isinstance(header, Mapping):
        raise BatchInvalid(MALFORMED, "the header is not an object")
    return hashlib.sha256(_json_bytes(dict(header), "the header")).hexdigest()


def entry_digest(row: Mapping[str, Any]) -> str:
    """The digest of a row's fields, as the service computes it."""
    fields: dict[str, Any] = {}
    for name, key in _ROW_KEYS:
        if name in OMITTED_WHEN_EMPTY:
            value = row.get(key)
            if value is None or (isinstance(value, list | tuple) and not value):
                continue
        else:
            if key not in row:
                raise BatchInvalid(MALFORMED, f"a row without {key}")
            value = row[key]
        fields[name] = value
    return hashlib.sha256(_json_bytes(fields, "a row")).hexdigest()


def verify_batch(
    header: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    keys: Mapping[str, Any],
    *,
    previous: str | None = None,
) -> VerifiedBatch:
    """Check a delivered batch: its header (as delivered: fields, `key_id`, `signature`),
    its entries as rows, in the order received, against the JWK set `keys`; and, when
    `previous` is given (the `hash` of the last batch accepted, "" before the first), that
    the batch follows it. Raises `BatchInvalid` and never another exception for any input;
    `ImportError` if `cryptography` is not installed."""
    ed25519 = _ed25519()
    fields = _header_fields(header)
    _check_signature(ed25519, fields, keys)
    sequence: int = fields["sequence"]
    if previous is not None and fields["previous"] != previous:
        raise BatchInvalid(
            OUT_OF_SEQUENCE, f"batch {sequence} does not follow the last batch accepted"
        )
    ids = _check_rows(fields, rows)
    return VerifiedBatch(batch_hash(fields), sequence, ids)


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise ImportError(
            "verifying batch signatures needs the cryptography package: "
            'pip install "auditlog-client[verify]"'
        ) from None
    return ed25519


def _header_fields(header: Any) -> dict[str, Any]:
    if not isinstance(header, Mapping):
        raise BatchInvalid(MALFORMED, "the header is not an object")
    fields = dict(header)
    if fields.get("version") != BATCH_FORMAT or isinstance(fields.get("version"), bool):
        raise BatchInvalid(MALFORMED, "a header of a version this verifier does not read")
    for name in ("stream", "account", "previous", "root", "sent_at", *_SIGNED_OFF):
        if not isinstance(fields.get(name), str):
            raise BatchInvalid(MALFORMED, f"the header's {name} is not a string")
    for name in ("first", "last", "through"):
        if name not in fields or not isinstance(fields[name], str | None):
            raise BatchInvalid(MALFORMED, f"the header's {name} is not a string or null")
    for name, least in (("sequence", 1), ("count", 0)):
        value = fields.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise BatchInvalid(MALFORMED, f"the header's {name} is not an integer >= {least}")
    if not _HEX64.fullmatch(fields["root"]):
        raise BatchInvalid(MALFORMED, "the header's root is not a SHA-256 hex digest")
    _json_bytes(fields, "the header")
    return fields


def _check_signature(ed25519: Any, fields: dict[str, Any], keys: Any) -> None:
    key_id = fields["key_id"]
    key = _public_key(ed25519, keys, key_id)
    signature = _b64decode(fields["signature"])
    body = {name: value for name, value in fields.items() if name not in _SIGNED_OFF}
    if signature is None:
        raise BatchInvalid(SIGNATURE_INVALID, "the signature is not base64url")
    try:
        key.verify(signature, canonical(body))
    except Exception:  # cryptography's InvalidSignature, and any signature it cannot read
        raise BatchInvalid(
            SIGNATURE_INVALID, f"the header's signature does not verify under key {key_id}"
        ) from None


def _public_key(ed25519: Any, keys: Any, key_id: str) -> Any:
    listed = keys.get("keys") if isinstance(keys, Mapping) else None
    if not isinstance(listed, list):
        raise BatchInvalid(MALFORMED, "the key set is not a JWK set ({'keys': [...]})")
    for jwk in listed:
        if (
            isinstance(jwk, Mapping)
            and jwk.get("kid") == key_id
            and jwk.get("kty") == "OKP"
            and jwk.get("crv") == "Ed25519"
        ):
            raw = _b64decode(jwk.get("x"))
            if raw is None or len(raw) != 32:
                raise BatchInvalid(MALFORMED, f"key {key_id} is not an Ed25519 public key")
            try:
                return ed25519.Ed25519PublicKey.from_public_bytes(raw)
            except ValueError:
                raise BatchInvalid(
                    MALFORMED, f"key {key_id} is not an Ed25519 public key"
                ) from None
    raise BatchInvalid(SIGNATURE_INVALID, f"no Ed25519 key {key_id} in the key set")


def _check_rows(fields: dict[str, Any], rows: Any) -> tuple[str, ...]:
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
        raise BatchInvalid(MALFORMED, "the entries are not a list")
    ids: list[str] = []
    digests: list[str] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise BatchInvalid(MALFORMED, f"entry {index} is not an object")
        entry_id, digest = row.get("id"), row.get("digest")
        if not isinstance(entry_id, str) or not isinstance(digest, str):
            raise BatchInvalid(MALFORMED, f"entry {index} has no string id and digest")
        if entry_digest(row) != digest:
            raise BatchInvalid(
                ALTERED, f"entry {entry_id} (at {index}): its fields do not give its digest"
            )
        ids.append(entry_id)
        digests.append(digest)
    seen: set[str] = set()
    for index, entry_id in enumerate(ids):
        if entry_id in seen:
            raise BatchInvalid(DUPLICATED, f"entry {entry_id} comes twice (again at {index})")
        seen.add(entry_id)
    count = fields["count"]
    if len(ids) < count:
        raise BatchInvalid(DROPPED, f"{count - len(ids)} of the batch's {count} entries missing")
    if len(ids) > count:
        raise BatchInvalid(ALTERED, f"{len(ids) - count} entries more than the {count} signed")
    for name, got in (("first", ids[0] if ids else None), ("last", ids[-1] if ids else None)):
        if got != fields[name]:
            # The signed one elsewhere in the batch: reordered; nowhere: replaced by another.
            reason = ALTERED if fields[name] in seen else DROPPED
            raise BatchInvalid(reason, f"the batch's {name} entry is not the one signed")
    if _merkle_root(digests) != fields["root"]:
        raise BatchInvalid(ALTERED, "the entries are not the ones signed, in the order signed")
    return tuple(ids)


def _merkle_root(digests: Sequence[str]) -> str:
    """RFC 6962-style: leaf SHA-256(0x00 || digest), node SHA-256(0x01 || left || right), the
    last node of an odd level carried up unpaired; no leaves: SHA-256 of nothing."""
    if not digests:
        return _EMPTY_ROOT
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(d)).digest() for d in digests]
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


def _b64decode(text: Any) -> bytes | None:
    if not isinstance(text, str) or not text.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_bytes(value: Any, what: str) -> bytes:
    try:
        return canonical(value)
    except (TypeError, ValueError, RecursionError):
        raise BatchInvalid(MALFORMED, f"{what} is not JSON") from None
