"""`GET /exports/<token>`: stream an export in constant memory.

Refusals are a JSON body with the code and status of `adapters.error_codes` (403 for a link
that is not, or no longer, valid). An NDJSON export is its rows, the `_seal` lines of their
windows and a `_checkpoint` line, the latest checkpoint when the export began (for a key
bound to one application neither, but a `_proof` line after each batch of rows for each
sealed row of it), then a signed `_export` trailer written only once everything before it
went out. Once streaming has begun the status is sent, so a
failure midway is signalled in the body instead: NDJSON ends with `{"_error": "<code>"}` and
no trailer; CSV has no such line, so the response is aborted and the client sees a broken
transfer rather than a clean, short file. CSV carries no seals and no trailer: it is for
spreadsheets, NDJSON is what `auditlog-verify` checks.
"""

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Send

from adapters.error_codes import INTERNAL_SERVER_ERROR, STORE_UNAVAILABLE, ErrorCode, error_code
from adapters.inbound.http.export_formats import (
    checkpoint_line,
    csv_chunks,
    ndjson_chunks,
    seal_line,
    trailer_line,
)
from adapters.inbound.http.origin import origin_of
from application.errors import ApplicationError, Forbidden, RateLimited, StoreUnavailable
from application.exporting.export import Export
from application.exporting.grant import ExportFormat
from application.services import Services
from domain.errors import InvalidField

log = logging.getLogger("auditlog.export")

_MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.NDJSON: "application/x-ndjson",
}


class _Aborted(Exception):
    """Raised by the body to end the response without completing it."""


class AbortableStreamingResponse(StreamingResponse):
    """A streaming response that can be cut off: on `_Aborted` it returns without sending
    the final body message, so the server drops the connection and the client sees an
    incomplete transfer, without the server logging the failure a second time."""

    async def stream_response(self, send: Send) -> None:
        with contextlib.suppress(_Aborted):
            await super().stream_response(send)


def _refusal(error: Exception, row: ErrorCode) -> JSONResponse:
    body: dict[str, str] = {"code": row.code, "message": str(error)}
    if isinstance(error, Forbidden) and error.reason is not None:
        body["reason"] = error.reason
    response = JSONResponse({"error": body}, status_code=row.status)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def exports_router() -> APIRouter:
    router = APIRouter()

    @router.get("/exports/{token}", include_in_schema=False)
    async def download(token: str, request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            export = await services.export.download.execute(token, origin_of(request))
        except (ApplicationError, InvalidField) as exc:
            row = error_code(exc)
            if row is None:
                raise
            return _refusal(exc, row)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        filename = f"audit-logs-{export.account}-{stamp}.{export.format.value}"
        return AbortableStreamingResponse(
            export_body(export),
            media_type=_MEDIA_TYPES[export.format],
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    return router


async def export_body(export: Export) -> AsyncIterator[bytes]:
    """The response body: rows (NDJSON: each batch followed by its proofs), then (NDJSON)
    seals, the checkpoint and the trailer, or the error line."""
    if export.format is ExportFormat.CSV:
        encoded = csv_chunks(export.entries)
    else:
        encoded = ndjson_chunks(export.entries, export.proofs)
    # Closed explicitly, so a client that goes away releases the cursor (and the download
    # is recorded) at once rather than whenever the generators are collected.
    async with aclosing(export.entries), aclosing(encoded) as chunks:
        try:
            async for chunk in chunks:
                yield chunk
            if export.format is ExportFormat.NDJSON:
                # The seals of the exported windows, so the file can be verified offline.
                async for seal in export.seals():
                    yield seal_line(seal)
                # How far the trail was sealed: the verifier's bound for closed windows.
                if export.checkpoint is not None:
                    yield checkpoint_line(export.checkpoint, export.account)
                # Signed last, over what went out: a file cut short has none.
                yield trailer_line(export.trailer())
        except Exception as exc:
            expected = isinstance(exc, StoreUnavailable)
            log.error(
                "export of account %s failed midway: %s",
                export.account,
                type(exc).__name__,
                exc_info=None if expected else exc,
            )
            if export.format is ExportFormat.CSV:
                raise _Aborted() from None
            code = STORE_UNAVAILABLE if expected else INTERNAL_SERVER_ERROR
            yield (json.dumps({"_error": code}) + "\n").encode()
