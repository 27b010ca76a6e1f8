"""Receivers for the stream senders' tests, on loopback: an ASGI app served by uvicorn in a
thread (each request recorded, answered as the test says), and raw TCP servers that never
answer or drip their answer."""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from application.reading.criteria import LogFilter
from application.streams.model import LogStream
from application.streams.ports import Batch
from domain.entry import AuditEntry
from domain.streams import StreamKind, StreamState, destination
from tests.builders import entry

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; `answer` makes the response (200 by default)."""

    answer: Callable[[Received], Response] = lambda _: Response(status_code=200)
    requests: list[Received] = field(default_factory=list)

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        received = Received(request.url.path, dict(request.headers), await request.body())
        self.requests.append(received)
        await self.answer(received)(scope, receive, send)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    app: Receiver, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None
) -> Iterator[int]:
    """Serve `app` on a free port of `host`; yields the port."""
    port = free_port(host)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        ssl_certfile=None if tls is None else str(tls[0]),
        ssl_keyfile=None if tls is None else str(tls[1]),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@asynccontextmanager
async def silent_server(drip: bool = False) -> AsyncIterator[tuple[int, list[int]]]:
    """Accepts and never answers (or answers one byte of a status line every 0.1 s);
    yields the port and a list counting connections."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            if drip:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.1)
            await asyncio.sleep(30)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        server.close()


def stream(kind: StreamKind, url: str) -> LogStream:
    now = datetime.now(UTC)
    return LogStream(
        id="ls_" + "a" * 24,
        account="acme",
        name="siem",
        destination=destination(kind, url),
        filter=LogFilter(account="acme"),
        state=StreamState.ACTIVE,
        created_at=now,
        start=now,
    )


def batch(count: int = 3, sequence: int = 7) -> Batch:
    entries: list[AuditEntry] = [
        entry(action="auth.login", success=index % 2 == 0, email=f"u{index}@example.com")
        for index in range(count)
    ]
    header = {
        "stream": "ls_" + "a" * 24,
        "sequence": sequence,
        "count": count,
        "root": "ab" * 32,
        "key_id": "k1",
        "signature": "c2lnbmF0dXJl",
    }
    return Batch(stream_id="ls_" + "a" * 24, sequence=sequence, entries=entries, header=header)
