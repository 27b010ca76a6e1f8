"""The HTTP API of `auditlog-witness`.

    POST /checkpoints          a checkpoint document (as `Checkpoint.document()`) -> receipt
    GET  /checkpoints/latest   the last accepted document with its receipt, or 404
    GET  /heads/{account}      the account's newest seal seen, countersigned, or 404

A receipt is `{"sequence", "checkpoint_hash", "witnessed_at", "witness_key", "cosignature"}`
(plus `trust_on_first_use` on a POST): `cosignature` is the witness's Ed25519 signature over
the canonical JSON of its other fields but `witness_key` (`domain.witnessing`), and
`witness_key` is the witness's base64url public key. Refusals are `{"error": CODE,
"message"}`: 400 MALFORMED or BAD_SIGNATURE, 409 GAP (with `expected`), FORK or REWIND, 413
TOO_LARGE, 408 TIMEOUT. A body is read up to a bound, within a deadline, and parsed
strictly: UTF-8 JSON without duplicate keys or NaN, exactly as `Checkpoint.document()` writes
it. No answer carries a trace.
"""

import asyncio
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from application.integrity.countersigning import Accepted, Countersigning
from domain.checkpoint import Checkpoint
from domain.timestamps import iso_utc
from domain.witnessing import BAD_SIGNATURE, FORK, GAP, REWIND, Witnessed, head_fields

MAX_BODY_BYTES = 1024 * 1024
"""Far above a checkpoint's size (ten windows of a thousand accounts' seals is ~0.2 MiB)."""
BODY_TIMEOUT_SECONDS = 30.0
# SQLite's INTEGER: a larger sequence could not be kept (nor does the service write one).
_MAX_SEQUENCE = 2**63 - 1
_REFUSALS = {
    BAD_SIGNATURE: (400, "not signed by a key of the service this witness watches"),
    GAP: (409, "later than the next checkpoint: send the chain in order from `expected`"),
    FORK: (409, "another checkpoint of a sequence already accepted"),
    REWIND: (409, "does not extend the last checkpoint accepted"),
}


class _Refusal(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


def witness_app(countersigning: Countersigning, *, witness_key: str) -> FastAPI:
    app = FastAPI(title="auditlog-witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The server logs it with its trace; the client learns nothing of it.
        return _error(500, "INTERNAL", "the witness failed; see its log")

    @app.post("/checkpoints")
    async def submit(request: Request) -> JSONResponse:
        try:
            checkpoint = _checkpoint(await _body(request))
        except _Refusal as refusal:
            return _error(refusal.status, refusal.error, str(refusal))
        result = await countersigning.execute(checkpoint)
        if isinstance(result, Accepted):
            receipt = _receipt(result.witnessed, witness_key)
            return JSONResponse({**receipt, "trust_on_first_use": result.first_use})
        status, message = _REFUSALS[result.error]
        extra = {} if result.expected is None else {"expected": result.expected}
        return _error(status, result.error, message, **extra)

    @app.get("/checkpoints/latest")
    async def latest() -> JSONResponse:
        witnessed = await countersigning.latest()
        if witnessed is None:
            return _error(404, "NOT_FOUND", "no checkpoint accepted yet")
        return JSONResponse(
            {"checkpoint": witnessed.checkpoint.document(), **_receipt(witnessed, witness_key)}
        )

    @app.get("/heads/{account}")
    async def head(account: str) -> JSONResponse:
        found = await countersigning.head(account)
        if found is None:
            return _error(404, "NOT_FOUND", "no seal of this account seen")
        seen, cosignature = found
        return JSONResponse(
            {
                **head_fields(seen.head),
                "sequence": seen.sequence,
                "checkpoint_hash": seen.checkpoint_hash,
                "witnessed_at": iso_utc(seen.witnessed_at),
                "witness_key": witness_key,
                "cosignature": cosignature,
            }
        )

    return app


def _receipt(witnessed: Witnessed, witness_key: str) -> dict[str, Any]:
    return {
        "sequence": witnessed.sequence,
        "checkpoint_hash": witnessed.checkpoint_hash,
        "witnessed_at": iso_utc(witnessed.witnessed_at),
        "witness_key": witness_key,
        "cosignature": witnessed.cosignature,
    }


def _error(status: int, error: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": error, "message": message, **extra}, status_code=status)


async def _body(request: Request) -> bytes:
    """The body, refused past MAX_BODY_BYTES (before reading it, if it says so) or when it
    takes longer than BODY_TIMEOUT_SECONDS to arrive."""
    too_large = _Refusal(413, "TOO_LARGE", f"a checkpoint is at most {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise _Refusal(408, "TIMEOUT", "the body did not arrive in time") from None
    return b"".join(chunks)


def _checkpoint(body: bytes) -> Checkpoint:
    malformed = _Refusal(
        400, "MALFORMED", "not a checkpoint document as the service writes it (JSON, UTF-8)"
    )
    try:
        document = json.loads(
            body.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise malformed from None
    if not isinstance(document, dict):
        raise malformed
    try:
        checkpoint = Checkpoint.from_document(document)
    except ValueError:
        raise malformed from None
    # Read back as written: no key it lacks, no second way to write a time, so the stored
    # document is the one the service signed, byte for byte.
    if checkpoint.document() != document or checkpoint.sequence > _MAX_SEQUENCE:
        raise malformed
    return checkpoint


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
