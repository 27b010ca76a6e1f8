"""Shared by the export benchmarks: the exported trail, the app ready to export, and a
hand-written ASGI client that counts the body and drops it (httpx.ASGITransport would
buffer the whole body, which is what an export must never need)."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from domain.entry import AuditEntry
from entrypoints.app import Overrides, create_app
from entrypoints.settings import (
    AccessSettings,
    ExportSettings,
    InterceptorSettings,
    ServerSettings,
    Settings,
    StoreSettings,
)
from tests.builders import nth_entry

_EXPORT = """query($f: ExportFormat!) {
  exportAuditLogs(filter: {account: "acme"}, format: $f) { url }
}"""
_REASON = "second factor accepted after the password; session bound to the device certificate"
_DIGEST = "d" * 64
_MS = timedelta(milliseconds=1)
_ONE_ACTION = ("auth.login",)


def generated(i: int, newest: datetime) -> AuditEntry:
    """The i-th entry of acme's exported trail, newest first, 1 ms apart, with a long reason
    on every row; no field contains a newline. Stored entries carry their ingestion digest;
    computing one per row here would measure the generator, not the export."""
    return nth_entry(
        i, newest=newest, step=_MS, actions=_ONE_ACTION, users=1000,
        reasons=(_REASON, _REASON), request_ids=False, digest=_DIGEST,
    )  # fmt: skip


def newest_now() -> datetime:
    """Now, at the millisecond precision the store keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def bench_settings(operator_token: str) -> Settings:
    return Settings(
        server=ServerSettings(),
        store=StoreSettings(store="memory", embedded_ttl_sweep_seconds=3600),
        access=AccessSettings(operator_token=SecretStr(operator_token)),
        interceptor=InterceptorSettings(linger_ms=0),
        export=ExportSettings(signing_key=SecretStr(secrets.token_urlsafe(32))),
    )


class Exporter:
    """GraphQL through httpx.ASGITransport (small bodies): the account and export links."""

    def __init__(self, app: FastAPI, http: httpx.AsyncClient, operator_token: str) -> None:
        self.app = app
        self._http = http
        self._headers = {"Authorization": f"Bearer {operator_token}"}

    async def operator(self, query: str, variables: dict[str, Any]) -> Any:
        response = await self._http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self._headers
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"GraphQL failed: {body}")
        return body["data"]

    async def link(self, fmt: str) -> str:
        data = await self.operator(_EXPORT, {"f": fmt})
        await self.settle()
        return str(data["exportAuditLogs"]["url"])

    async def settle(self) -> None:
        """Wait until the service's own audit events so far are delivered."""
        await self.app.state.services.emitter.drain()


@asynccontextmanager
async def running_app(overrides: Overrides | None = None) -> AsyncIterator[Exporter]:
    """The app with its lifespan running and acme on the pro plan (download allowed)."""
    token = secrets.token_urlsafe(32)
    app = create_app(bench_settings(token), overrides)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as http:
            exporter = Exporter(app, http, token)
            await exporter.operator(
                'mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }',
                {},
            )
            yield exporter


@dataclass
class Body:
    status: int | None = None
    bytes: int = 0
    rows: int = 0
    """Line ends seen: rows for NDJSON, rows and the header for CSV."""
    messages: int = 0
    complete: bool = False
    trailer_size: int = 0
    """Bytes of an NDJSON export's trailer (the last chunk, written on its own)."""


async def download(app: FastAPI, url: str, line_end: bytes = b"\n") -> Body:
    """GET `url` from the ASGI app: count bytes and line ends of each chunk, then drop it."""
    body = Body()
    finished = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            body.status = message["status"]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            body.messages += 1
            body.bytes += len(chunk)
            body.rows += chunk.count(line_end)
            if chunk:
                body.trailer_size = len(chunk) if chunk.startswith(b'{"_export"') else 0
            if not message.get("more_body", False):
                body.complete = True
                finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench.test", 80),
        "state": {},
    }
    await app(scope, receive, send)
    if body.status != 200 or not body.complete:
        raise RuntimeError(f"the export did not complete: {body}")
    return body
