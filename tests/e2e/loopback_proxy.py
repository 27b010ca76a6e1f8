"""A loopback HTTP proxy in front of a server, for the faults a platform service meets on the
way to it: an answer lost after the request was served, or no server at all for a while.

One request per connection (it answers `Connection: close`), forwarded with httpx.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

_HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}


class LoopbackProxy:
    """Forwards to `upstream`. `drop_answers` answers that many requests with nothing: the
    request is served upstream, then the connection is closed before a byte of the answer."""

    def __init__(self, upstream: str, *, drop_answers: int = 0) -> None:
        self._upstream = httpx.AsyncClient(base_url=upstream, timeout=30)
        self.drop_answers = drop_answers
        self.forwarded = 0
        self.dropped = 0
        self._server: asyncio.Server | None = None

    async def listen(self, port: int = 0) -> int:
        """Start accepting on 127.0.0.1 (`port`, else a free one); return the port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._upstream.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = dict(line.split(": ", 1) for line in header_lines if line and ": " in line)
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
            body = await reader.readexactly(length)
            forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            answer = await self._upstream.request(method, target, headers=forwarded, content=body)
            self.forwarded += 1
            if self.dropped < self.drop_answers:
                self.dropped += 1
                return  # served upstream; the caller never hears of it
            content_type = answer.headers.get("content-type", "application/octet-stream")
            writer.write(
                f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(answer.content)}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + answer.content
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def proxying(upstream: str, *, drop_answers: int = 0) -> AsyncIterator[LoopbackProxy]:
    proxy = LoopbackProxy(upstream, drop_answers=drop_answers)
    try:
        yield proxy
    finally:
        await proxy.close()
