"""A receiver shaped like Splunk's HTTP Event Collector, on loopback, for the process tests:
it answers what `status` says (503 "Server is busy" as HEC does), 403 to a wrong token and
400 to a body that is not entry events closed by the batch's; it notes the Authorization
and the answer of every request and keeps the events of each one it took. HEC events are
JSON objects one after another in the body (Splunk, "Format events for HTTP Event
Collector"); the service's batch closes with an auditlog:batch event."""

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.e2e.stream_outages import wait_until
from tests.e2e.test_server_process import free_port

PATH = "/services/collector/event"
# HEC's answers (Splunk, "Troubleshoot HTTP Event Collector": codes 0, 4, 6 and 9).
_ANSWERS = {
    200: {"text": "Success", "code": 0},
    400: {"text": "Invalid data format", "code": 6},
    403: {"text": "Invalid token", "code": 4},
    503: {"text": "Server is busy", "code": 9},
}


@dataclass
class Taken:
    """A request answered 200: its entry events and its closing batch event."""

    entries: list[dict[str, Any]]
    batch: dict[str, Any]


@dataclass
class HecReceiver:
    token: str
    status: int = 200
    authorizations: list[str | None] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    taken: list[Taken] = field(default_factory=list)
    malformed: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def _collect(self, request: Request) -> Response:
        authorization = request.headers.get("authorization")
        self.authorizations.append(authorization)
        body = await request.body()
        status = self.status
        if authorization != f"Splunk {self.token}":
            status = 403
        elif status == 200:
            try:
                *entries, closing = events(body)
                assert closing["sourcetype"] == "auditlog:batch"
                assert all(event["sourcetype"] == "auditlog:entry" for event in entries)
                self.taken.append(Taken(entries, closing))
            except (ValueError, AssertionError, KeyError):
                self.malformed += 1
                status = 400
        self.answered.append(status)
        return JSONResponse(_ANSWERS[status], status_code=status)

    def entry_ids(self) -> list[str]:
        return [event["event"]["id"] for got in self.taken for event in got.entries]

    def arrivals(self) -> list[tuple[str, object]]:
        """(entry id, (batch sequence, the event)) for each entry event taken, in order."""
        return [
            (event["event"]["id"], (got.batch["event"]["sequence"], event))
            for got in self.taken
            for event in got.entries
        ]


def events(body: bytes) -> list[dict[str, Any]]:
    """The JSON objects of a HEC body, one after another (whitespace between allowed)."""
    decoder, text, at = json.JSONDecoder(), body.decode(), 0
    found: list[dict[str, Any]] = []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        event, at = decoder.raw_decode(text, at)
        found.append(event)


class Collecting:
    """The receiver served on its port while inside `with`."""

    def __init__(self, receiver: HecReceiver) -> None:
        app = Starlette(routes=[Route(PATH, receiver._collect, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=receiver.port, log_level="error",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "Collecting":
        self._thread.start()
        server = self._server
        wait_until("the HEC receiver to listen", lambda: server.started, seconds=10)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
