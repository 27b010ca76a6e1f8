"""GET /exports/<token> streams: constant memory whatever the size, and a visible failure.

The entries come from a repository that makes them on the fly, so the only memory an export
could hold on to is the service's own. The download drives the ASGI app with a hand-written
`receive`/`send` pair that counts and discards the body (httpx.ASGITransport would buffer
all of it); the failure tests go through uvicorn over a real socket, where an aborted
response is what a client actually sees.
"""

import asyncio
import contextlib
import csv
import io
import json
import logging
import socket
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from adapters.inbound.http.export_formats import COLUMNS
from domain.entry import AuditEntry
from entrypoints.app import Overrides, create_app
from tests.builders import nth_entry
from tests.e2e.api import Api
from tests.e2e.conftest import settings
from tests.fakes import FakeClock, GeneratedEntries

ROWS = 100_000
PEAK_GROWTH_LIMIT = 20 * 1024 * 1024
FAIL_AFTER = 1_250
"""Entries the failing stream yields before the store "goes away": more than one chunk."""

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
EXPORT = """query($f: ExportFormat!) {
  exportAuditLogs(filter: {account: "acme"}, format: $f) { url }
}"""
# Shared by every generated entry, so they cost the generator nothing, yet they make each row
# a few hundred bytes: a body held in memory would be well over the limit.
REASON = "second factor accepted after the password; session bound to the device certificate"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
RETENTION = timedelta(days=90)
_MS = timedelta(milliseconds=1)


def generated(i: int) -> AuditEntry:
    """The i-th entry, newest first (1 ms apart). No field contains a newline."""
    return nth_entry(
        i,
        newest=NOW - _MS,
        step=_MS,
        reasons=(REASON, REASON),
        user_agent=USER_AGENT,
        request_ids=False,
        retention=RETENTION,
    )


def generating(count: int, *, fail_after: int | None = None) -> GeneratedEntries:
    return GeneratedEntries(count, generated, fail_after=fail_after)


@contextlib.asynccontextmanager
async def started_app(entries: GeneratedEntries) -> AsyncIterator[tuple[FastAPI, Api]]:
    """The app, its lifespan running, with acme on the pro plan (which allows download)."""
    app = create_app(settings(), Overrides(clock=FakeClock(NOW), entries=entries))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            api = Api(http, app.state.services.emitter.drain)
            await api.create_account("acme", "pro")
            yield app, api


async def export_url(api: Api, fmt: str) -> str:
    data = await api.operator(EXPORT, {"f": fmt})
    await api.settle()
    return str(data["exportAuditLogs"]["url"])


class Rows:
    """Parses a body as it arrives, keeping only the unfinished last line.

    Complete lines are parsed at once (NDJSON with json, CSV with the csv module) and let go.
    Cutting CSV at a line end is sound here because no generated field contains a newline.
    """

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.count = 0
        self.first: list[str] | dict[str, Any] | None = None
        self.second: list[str] | dict[str, Any] | None = None
        self.last: list[str] | dict[str, Any] | None = None
        self.before_last: list[str] | dict[str, Any] | None = None
        self.malformed = 0
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        end = data.rfind(b"\n") + 1
        complete, self._carry = data[:end], data[end:]
        if not complete:
            return
        text = complete.decode()
        records: list[Any]
        if self.fmt == "CSV":
            records = list(csv.reader(io.StringIO(text, newline="")))
            self.malformed += sum(len(r) != len(COLUMNS) for r in records)
        else:
            records = [json.loads(line) for line in text.splitlines()]
        if self.count == 0:
            self.first = records[0]
        if self.count <= 1 < self.count + len(records):
            self.second = records[1 - self.count]
        self.before_last = records[-2] if len(records) > 1 else self.last
        self.last = records[-1]
        self.count += len(records)

    @property
    def unfinished(self) -> bytes:
        return self._carry


class Download:
    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body_messages = 0
        self.bytes = 0
        self.complete = False


async def download(app: FastAPI, url: str, rows: Rows) -> Download:
    """GET `url` from the ASGI app, handing each body chunk to `rows` and dropping it."""
    result = Download()
    finished = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays until the whole body is in
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            result.body_messages += 1
            result.bytes += len(body)
            rows.feed(body)
            if not message.get("more_body", False):
                result.complete = True
                finished.set()

    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"audit.test"), (b"user-agent", b"streaming-test")],
        "client": ("127.0.0.1", 50000),
        "server": ("audit.test", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["NDJSON", "CSV"])
async def test_an_export_of_100000_entries_streams_in_constant_memory(fmt: str) -> None:
    async with started_app(generating(ROWS)) as (app, api):
        url = await export_url(api, fmt)
        rows = Rows(fmt)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            received = await download(app, url, rows)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert received.status == 200
    media_type = "application/x-ndjson" if fmt == "NDJSON" else "text/csv"
    assert received.headers["content-type"].startswith(media_type)
    assert received.complete
    assert rows.unfinished == b""
    # Held in memory, this body would be over the limit: the limit can catch a buffered one.
    assert received.bytes > 1.2 * PEAK_GROWTH_LIMIT
    growth = peak - before
    assert growth < PEAK_GROWTH_LIMIT, f"peak grew by {growth / 2**20:.1f} MiB while streaming"
    assert received.body_messages > 100, "the body came in a few large pieces, not streamed"
    if fmt == "NDJSON":
        assert rows.count == ROWS + 1  # and the trailer
        assert isinstance(rows.first, dict)
        assert isinstance(rows.last, dict)
        assert isinstance(rows.before_last, dict)
        assert set(rows.first) == set(COLUMNS)
        assert rows.first["id"] == generated(0).id
        assert rows.before_last["id"] == generated(ROWS - 1).id  # not an {"_error": ...} line
        assert rows.last["_export"]["count"] == ROWS
    else:
        assert rows.count == ROWS + 1  # and the header
        assert rows.malformed == 0
        assert rows.first == list(COLUMNS)
        assert rows.second is not None
        assert rows.second[0] == generated(0).id
        assert rows.last is not None
        assert rows.last[0] == generated(ROWS - 1).id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """uvicorn in this event loop, on a free port, running the app's lifespan."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    pytest.fail("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def failing_server() -> AsyncIterator[tuple[httpx.AsyncClient, Api]]:
    """A real server whose store fails after FAIL_AFTER entries, and a client of it."""
    entries = generating(ROWS, fail_after=FAIL_AFTER)
    app = create_app(settings(), Overrides(clock=FakeClock(NOW), entries=entries))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        api = Api(http, app.state.services.emitter.drain)
        await api.create_account("acme", "pro")
        yield http, api


def assert_logged_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    failures = [r for r in caplog.records if r.name == "auditlog.export"]
    assert len(failures) == 1, [r.getMessage() for r in caplog.records]
    record = failures[0]
    assert record.levelno == logging.ERROR
    assert "failed midway" in record.getMessage()
    assert "StoreUnavailable" in record.getMessage()
    assert not record.exc_info, "an expected store failure is logged without a traceback"
    assert not record.exc_text


async def test_an_ndjson_export_that_fails_midway_ends_with_an_error_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with failing_server() as (http, api):
        url = await export_url(api, "NDJSON")
        response = await http.get(url)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.text.endswith("\n")
    *entries, last = response.text.splitlines()
    assert json.loads(last) == {"_error": "STORE_UNAVAILABLE"}
    assert '"_export"' not in response.text, "a failed export carries no trailer"
    rows = [json.loads(line) for line in entries]
    # Every row read before the failure is sent, then the error line.
    assert len(rows) == FAIL_AFTER
    assert all(set(row) == set(COLUMNS) for row in rows)
    assert [row["id"] for row in rows] == [generated(i).id for i in range(len(rows))]
    assert_logged_without_traceback(caplog)


async def read_into(received: bytearray, response: httpx.Response) -> None:
    async for chunk in response.aiter_bytes():
        received += chunk


async def test_a_csv_export_that_fails_midway_is_aborted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    received = bytearray()
    async with failing_server() as (http, api):
        url = await export_url(api, "CSV")
        async with http.stream("GET", url) as response:
            assert response.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                await read_into(received, response)

    # What did arrive is a prefix of the export, header first, and nothing marks it complete
    # but the broken transfer: hence the abort.
    rows = list(csv.reader(io.StringIO(received.decode(), newline="")))
    assert rows[0] == list(COLUMNS)
    assert len(rows) - 1 <= FAIL_AFTER
    assert [row[0] for row in rows[1:]] == [generated(i).id for i in range(len(rows) - 1)]
    assert_logged_without_traceback(caplog)


async def test_an_aborted_csv_export_logs_no_traceback_for_a_store_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with failing_server() as (http, api):
        url = await export_url(api, "CSV")
        async with http.stream("GET", url) as response:
            with pytest.raises(httpx.RemoteProtocolError):
                await response.aread()

    assert_logged_without_traceback(caplog)
    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert tracebacks == []
