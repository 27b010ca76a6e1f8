"""Reading the lines of an NDJSON export, each checked for shape before anything trusts it.

Every way a line can be wrong is a `Malformed` with a message naming what is wrong, never
the value itself (a file may hold anything, terminal escapes included), and never another
exception.
"""

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from domain.checkpoint import Checkpoint
from domain.entry import DIGEST_FIELDS, OMITTED_WHEN_EMPTY, AuditEntry, entry_digest
from domain.export_trailer import ExportTrailer
from domain.integrity import Seal, canonical
from domain.proof import PROOF_FORMAT
from domain.timestamps import iso_utc


def row_key(name: str) -> str:
    """The key of an entry field on an export line: its GraphQL name (`user_agent` is
    `userAgent`)."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


# An entry line has one key per entry field, in the order of `AuditEntry`'s fields.
ROW_KEYS = {f.name: row_key(f.name) for f in fields(AuditEntry)}
_DIGESTED = {ROW_KEYS[name]: name for name in DIGEST_FIELDS}
_KEYS = set(ROW_KEYS.values())
# Checked each on its own in `_row`; the other keys by the type of their field.
SPECIAL = (
    "id", "success", "digest", "createdAt", "expiresAt", "occurredAt", "actor", "targets",
    "metadata",
)  # fmt: skip
# Keys of fields added later: a line written before them has none of them.
_ADDED_LATER = {ROW_KEYS[name] for name in OMITTED_WHEN_EMPTY}
_TYPES = {ROW_KEYS[f.name]: f.type for f in fields(AuditEntry)}
_TEXT = tuple(key for key, type_ in _TYPES.items() if type_ is str and key not in SPECIAL)
_OPTIONAL_TEXT = tuple(key for key, type_ in _TYPES.items() if type_ == str | None)
CHECKED = {*SPECIAL, *_TEXT, *_OPTIONAL_TEXT}
"""Every key the reader checks the value of: a test holds that it is every key."""
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_ERROR_CODE = re.compile(r"[A-Z_]{1,64}")


class Malformed(ValueError):
    """A line that is not what the service writes."""


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    id: str
    account: str
    application: str
    created_at: datetime
    expires_at: datetime
    digest: str
    """As the line states it."""
    recomputed: str
    """Of the line's fields."""


@dataclass(frozen=True, slots=True)
class SealLine:
    number: int
    seal: Seal


@dataclass(frozen=True, slots=True)
class CheckpointLine:
    number: int
    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class ProofLine:
    number: int
    document: dict[str, Any]
    """The receipt as the line holds it, for `check_proof`: its shape is checked here, what
    it proves there."""
    entry_id: str
    digest: str
    """The entry's digest as the receipt states it."""
    recomputed: str
    """Of the receipt's entry fields."""
    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class TrailerLine:
    number: int
    trailer: ExportTrailer


@dataclass(frozen=True, slots=True)
class ErrorLine:
    number: int
    code: str
    """The `_error` code, or "an unknown error" if it is not one the service writes."""


Line = Row | SealLine | ProofLine | CheckpointLine | TrailerLine | ErrorLine


def read_line(number: int, raw: str | bytes) -> Line:
    try:
        return _read(number, raw)
    except Malformed:
        raise
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
        raise Malformed(f"line {number} cannot be read ({type(exc).__name__})") from None


def _read(number: int, raw: str | bytes) -> Line:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed(f"line {number} is not UTF-8") from None
    if not raw.strip():
        raise Malformed(f"line {number} is empty")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise Malformed(f"line {number} is not JSON") from None
    if not isinstance(document, dict):
        raise Malformed(f"line {number} is not a JSON object")
    if "_seal" in document:
        return SealLine(number, _seal(number, document))
    if "_proof" in document:
        return _proof(number, document)
    if "_checkpoint" in document:
        return CheckpointLine(number, _checkpoint(number, document))
    if "_export" in document:
        return TrailerLine(number, _trailer(number, document))
    if "_error" in document:
        code = document["_error"]
        known = isinstance(code, str) and _ERROR_CODE.fullmatch(code) and len(document) == 1
        return ErrorLine(number, code if known else "an unknown error")
    return _row(number, document)


def _row(number: int, row: dict[str, Any]) -> Row:
    def wrong(what: str) -> Malformed:
        return Malformed(f"line {number}: {what}")

    if row.keys() != _KEYS:
        if row.keys() != _KEYS - _ADDED_LATER:  # an export made before they existed
            missing, extra = _KEYS - row.keys(), row.keys() - _KEYS
            if missing:
                raise wrong(f"the entry lacks {', '.join(sorted(missing))}")
            raise wrong(f"the entry has {len(extra)} unknown key(s)")
        row = {**row, **dict.fromkeys(_ADDED_LATER), "targets": []}
    if not isinstance(row["id"], str) or not _ID.fullmatch(row["id"]):
        raise wrong("id is not an entry id")
    for key in _TEXT:
        if not isinstance(row[key], str):
            raise wrong(f"{key} is not a string")
    for key in _OPTIONAL_TEXT:
        if row[key] is not None and not isinstance(row[key], str):
            raise wrong(f"{key} is neither a string nor null")
    if not isinstance(row["success"], bool):
        raise wrong("success is not true or false")
    if not isinstance(row["digest"], str) or not _DIGEST.fullmatch(row["digest"]):
        raise wrong("digest is not 64 lowercase hex digits")
    created, expires = (_timestamp(number, row, key) for key in ("createdAt", "expiresAt"))
    if row["occurredAt"] is not None:
        _timestamp(number, row, "occurredAt")
    problem = _parts_problem(row["actor"], row["targets"], row["metadata"])
    if problem:
        raise wrong(problem)
    return Row(
        number=number,
        id=row["id"],
        account=row["account"],
        application=row["application"],
        created_at=created,
        expires_at=expires,
        digest=row["digest"],
        recomputed=entry_digest({name: row[key] for key, name in _DIGESTED.items()}),
    )


def _parts_problem(actor: Any, targets: Any, metadata: Any) -> str | None:
    """What is wrong with the shape of an entry's actor, targets and metadata, if anything
    (what they say is the digest's to check)."""
    if actor is not None and not _is_party(actor):
        return "actor is neither null nor an object of id, type and name"
    if not (isinstance(targets, list) and all(_is_party(target) for target in targets)):
        return "targets is not a list of objects of id, type and name"
    if metadata is not None and not (
        isinstance(metadata, dict)
        and all(
            value is None or isinstance(value, str | int | float | bool)
            for value in metadata.values()
        )
    ):
        return "metadata is neither null nor a flat object"
    return None


def _is_party(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.keys() == {"id", "type", "name"}
        and isinstance(value["id"], str)
        and isinstance(value["type"], str)
        and (value["name"] is None or isinstance(value["name"], str))
    )


def _timestamp(number: int, row: dict[str, Any], key: str) -> datetime:
    """A timestamp exactly as the service writes it (ISO 8601, UTC, milliseconds): the digest
    is over that text, so any other spelling of the same moment would not match it anyway."""
    text = row[key]
    if not isinstance(text, str):
        raise Malformed(f"line {number}: {key} is not a string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"line {number}: {key} is not a date") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Malformed(f"line {number}: {key} has no time zone")
    if iso_utc(moment) != text:
        raise Malformed(f"line {number}: {key} is not ISO 8601 UTC with milliseconds")
    return moment


def _seal(number: int, document: dict[str, Any]) -> Seal:
    content = document["_seal"]
    if len(document) != 1 or not isinstance(content, dict):
        raise Malformed(f"line {number}: a seal line holds one object under _seal")
    if not {"id", "key_id", "signature"} <= content.keys():
        raise Malformed(f"line {number}: the seal lacks its id, key_id or signature")
    key_id, signature = content["key_id"], content["signature"]
    if not isinstance(key_id, str) or not isinstance(signature, str):
        raise Malformed(f"line {number}: the seal's key_id or signature is not a string")
    body = {k: v for k, v in content.items() if k not in ("id", "key_id", "signature")}
    try:
        seal = Seal.from_body(body, key_id=key_id, signature=signature)
        written = seal.body()
    except (ValueError, TypeError, AttributeError):
        raise Malformed(f"line {number}: the seal cannot be read") from None
    # A version 2 seal's `entries_digest` is derived from its list: recomputed, and an
    # edited list breaks the signature (SEAL_INVALID) rather than the line's form.
    if "entries_digest" in written:
        body = {**body, "entries_digest": written["entries_digest"]}
    if written != body or content["id"] != seal.id:
        raise Malformed(f"line {number}: the seal is not in its canonical form")
    return seal


def _checkpoint(number: int, document: dict[str, Any]) -> Checkpoint:
    content = document["_checkpoint"]
    if len(document) != 1 or not isinstance(content, dict):
        raise Malformed(f"line {number}: a checkpoint line holds one object under _checkpoint")
    try:
        checkpoint = Checkpoint.from_document(content)
        # As bytes: `true` for 1, or 1.0, is equal as a value but not what the service writes.
        canonical_form = canonical(checkpoint.document()) == canonical(content)
    except (ValueError, TypeError, AttributeError):
        raise Malformed(f"line {number}: the checkpoint cannot be read") from None
    if not canonical_form:
        raise Malformed(f"line {number}: the checkpoint is not in its canonical form")
    return checkpoint


_PROOF_KEYS = {"proof", "entry", "leaf_index", "leaf_count", "siblings", "seal", "checkpoint"}
_PROOF_ENTRY_KEYS = {*DIGEST_FIELDS, "digest"}
# A receipt issued before the fields added later existed holds none of them.
_OLDER_PROOF_ENTRY_KEYS = _PROOF_ENTRY_KEYS - OMITTED_WHEN_EMPTY


def _proof(number: int, document: dict[str, Any]) -> ProofLine:
    def wrong(what: str) -> Malformed:
        return Malformed(f"line {number}: {what}")

    content = document["_proof"]
    if len(document) != 1 or not isinstance(content, dict):
        raise wrong("a proof line holds one object under _proof")
    if content.keys() != _PROOF_KEYS:
        raise wrong("the proof does not hold exactly the keys of a receipt")
    if type(content["proof"]) is not int or content["proof"] != PROOF_FORMAT:
        raise wrong("the proof is not of a format this version reads")
    entry = content["entry"]
    if not isinstance(entry, dict) or entry.keys() not in (
        _PROOF_ENTRY_KEYS,
        _OLDER_PROOF_ENTRY_KEYS,
    ):
        raise wrong("the proof's entry does not hold exactly the digested fields and its digest")
    problem = _parts_problem(entry.get("actor"), entry.get("targets", []), entry.get("metadata"))
    if problem:
        raise wrong(f"the proof's entry: {problem}")
    if not isinstance(entry["id"], str) or not _ID.fullmatch(entry["id"]):
        raise wrong("the proof's entry id is not an entry id")
    if not isinstance(entry["digest"], str) or not _DIGEST.fullmatch(entry["digest"]):
        raise wrong("the proof's entry digest is not 64 lowercase hex digits")
    if any(type(content[key]) is not int for key in ("leaf_index", "leaf_count")):
        raise wrong("the proof's leaf index or count is not an integer")
    siblings = content["siblings"]
    if not isinstance(siblings, list) or not all(isinstance(h, str) for h in siblings):
        raise wrong("the proof's siblings are not a list of hashes")
    if not isinstance(content["seal"], dict):
        raise wrong("the proof's seal is not an object")
    try:
        checkpoint = Checkpoint.from_document(content["checkpoint"])
        canonical_form = canonical(checkpoint.document()) == canonical(content["checkpoint"])
    except (ValueError, TypeError, AttributeError):
        raise wrong("the proof's checkpoint cannot be read") from None
    if not canonical_form:
        raise wrong("the proof's checkpoint is not in its canonical form")
    return ProofLine(
        number=number,
        document=content,
        entry_id=entry["id"],
        digest=entry["digest"],
        recomputed=entry_digest(entry),
        checkpoint=checkpoint,
    )


def _trailer(number: int, document: dict[str, Any]) -> ExportTrailer:
    if document.keys() != {"_export", "signature"} or not isinstance(document["signature"], str):
        raise Malformed(f"line {number}: a trailer holds _export and a signature, nothing else")
    try:
        return ExportTrailer.from_body(document["_export"], signature=document["signature"])
    except ValueError:
        raise Malformed(f"line {number}: the trailer cannot be read") from None
