"""A webhook receiver on loopback that checks every request with the `standardwebhooks`
package (an implementation of the specification nobody here wrote) and keeps what it got."""

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    secret: str | None = None
    status: int = 200
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        raw = await request.body()
        try:
            assert self.secret is not None
            Webhook(self.secret).verify(raw, dict(request.headers))
        except (AssertionError, WebhookVerificationError):
            self.refused += 1
            return Response(status_code=401)
        if self.status == 200:
            self.received.append(Received(dict(request.headers), orjson.loads(raw)))
        return Response(status_code=self.status)

    def entries(self) -> list[dict[str, Any]]:
        return [row for got in self.received for row in got.body["entries"]]

    async def wait_for(self, count: int, seconds: float = 20) -> None:
        """Until `count` entries arrived (the service's delivery runs on this event loop)."""
        deadline = time.monotonic() + seconds
        while len(self.entries()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.entries())} entries arrived, not {count}")
            await asyncio.sleep(0.05)


class Serving:
    def __init__(self, receiver: WebhookReceiver) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            receiver.port = probe.getsockname()[1]
        app = Starlette(routes=[Route("/hook", receiver._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=receiver.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "Serving":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
