"""Entries as NDJSON or CSV, encoded in chunks as they stream from the store.

Columns and keys are the GraphQL `AuditLogEntry` fields, timestamps ISO 8601 UTC. CSV
follows RFC 4180 (CRLF, quotes doubled) and neutralises spreadsheet formulas: a text cell
that starts with =, +, -, @, tab or carriage return gets a leading apostrophe (OWASP, "CSV
Injection"), so opening an export in a spreadsheet never runs what a caller recorded.
"""

import csv
import io
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson

from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.export_trailer import ExportTrailer
from domain.integrity import Seal
from domain.proof import EntryProof
from domain.timestamps import iso_utc

COLUMNS = (
    "id", "action", "email", "success", "reason", "application", "account",
    "createdAt", "expiresAt", "ip", "userAgent", "requestId", "occurredAt",
    "idempotencyKey", "actor", "targets", "metadata", "digest",
)  # fmt: skip
# CSV cells holding JSON (an object or a list): written as compact JSON text.
_JSON_COLUMNS = frozenset({"actor", "targets", "metadata"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def seal_line(seal: Seal) -> bytes:
    """A seal as an NDJSON line: its signed body, key id and signature, under `_seal`."""
    document = {**seal.body(), "id": seal.id, "key_id": seal.key_id, "signature": seal.signature}
    return orjson.dumps({"_seal": document}) + b"\n"


def checkpoint_line(checkpoint: Checkpoint, account: str) -> bytes:
    """A checkpoint as an NDJSON line: its document (body, key id, signature) with the
    heads of `account` only, under `_checkpoint`: another tenant shows only as a digest."""
    return orjson.dumps({"_checkpoint": checkpoint.document(account)}) + b"\n"


def proof_line(proof: EntryProof) -> bytes:
    """A receipt as an NDJSON line: its document under `_proof`."""
    return orjson.dumps({"_proof": proof.document()}) + b"\n"


def trailer_line(trailer: ExportTrailer) -> bytes:
    """The last line of an NDJSON export: the signed body under `_export`, then the signature."""
    return orjson.dumps({"_export": trailer.body(), "signature": trailer.signature}) + b"\n"


def as_row(entry: AuditEntry) -> dict[str, Any]:
    # Written out: a dict built from `dataclasses.fields` costs a quarter more per row. The
    # keys are `application.exporting.lines.ROW_KEYS`, which a unit test holds this to.
    return {
        "id": entry.id,
        "action": entry.action,
        "email": entry.email,
        "success": entry.success,
        "reason": entry.reason,
        "application": entry.application,
        "account": entry.account,
        "createdAt": iso_utc(entry.created_at),
        "expiresAt": iso_utc(entry.expires_at),
        "ip": entry.ip,
        "userAgent": entry.user_agent,
        "requestId": entry.request_id,
        "occurredAt": None if entry.occurred_at is None else iso_utc(entry.occurred_at),
        "idempotencyKey": entry.idempotency_key,
        "actor": None if entry.actor is None else entry.actor.as_json(),
        "targets": [target.as_json() for target in entry.targets],
        "metadata": entry.metadata,
        "digest": entry.digest,
    }


async def ndjson_chunks(
    batches: AsyncIterator[Sequence[AuditEntry]],
    proofs: Callable[[Sequence[AuditEntry]], Awaitable[list[EntryProof]]] | None = None,
) -> AsyncGenerator[bytes, None]:
    """A chunk per batch the store read: the rows of a batch go out before the next is read,
    so a store failing midway leaves every row read before it in the body. With `proofs`,
    the receipts of a batch's rows follow them, so none is held longer than its batch."""
    # orjson (UTF-8 out, no escaping of non-ASCII) is several times faster than json here.
    dumps = orjson.dumps
    async for batch in batches:
        yield b"".join([dumps(as_row(entry)) + b"\n" for entry in batch])
        if proofs is not None:
            found = await proofs(batch)
            if found:
                yield b"".join([proof_line(proof) for proof in found])


def neutralise(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


async def csv_chunks(batches: AsyncIterator[Sequence[AuditEntry]]) -> AsyncGenerator[bytes, None]:
    """The header, then a chunk per batch the store read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    async for batch in batches:
        for entry in batch:
            row = as_row(entry)
            for column in _JSON_COLUMNS:
                if row[column] is not None:
                    row[column] = orjson.dumps(row[column]).decode()
            writer.writerow([neutralise(row[column]) for column in COLUMNS])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()
