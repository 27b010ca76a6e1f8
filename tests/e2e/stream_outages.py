"""Helpers for the log stream outage tests: a real server process on a data directory that
can be killed and started again, a webhook receiver (checking signatures with the
`standardwebhooks` package) that can be stopped, made to answer 503 or 410, or to hold a
request without answering, and what the receiver got, checked against the trail."""

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.e2e.test_server_process import SERVER, TOKEN, environment, free_port, started
from tests.e2e.webhook_receiver import WebhookReceiver

# Fast delivery: entries settle after 1 s (more than the store's 0.5 s lock wait), streams
# are looked at every 0.1 s, small batches so that many flow, short send deadlines.
FAST_STREAMS = {
    "operator_token": TOKEN,
    "sqlite_busy_timeout_ms": "500",
    "oldest_first_settle_seconds": "1",
    "stream_allowed_private_hosts": "127.0.0.1",
    "stream_poll_seconds": "0.1",
    "stream_batch_size": "5",
    "stream_connect_timeout_seconds": "1",
    "stream_send_timeout_seconds": "2",
}


def wait_until(what: str, check: Callable[[], Any], seconds: float = 30) -> Any:
    """`check()`'s first truthy value, polled; fails naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


class ServerProcess:
    """`python -m entrypoints.main` on `data_dir`, its output drained (so it never blocks)."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        chosen = {**FAST_STREAMS, **settings}
        env = environment(data_dir=str(data_dir), port=str(self.port), **chosen)
        self.process = subprocess.Popen(
            SERVER, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            started(self.process, self.lines, "the server")
        except BaseException:
            self.kill()
            raise
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def kill(self) -> None:
        """kill -9: no shutdown, no release of the stream's lease."""
        self.process.kill()
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str = TOKEN) -> Any:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def set_up(self) -> str:
        """Account acme (pro) with its application portal; a key that records and reads."""
        self.gql('mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }')
        self.gql(
            'mutation { createApplication(account: "acme", id: "portal", name: "Portal") { id } }'
        )
        issued = self.gql(
            'mutation { issueApiKey(account: "acme", scopes: [RECORD, READ]) { secret } }'
        )
        return str(issued["issueApiKey"]["secret"])

    def create_stream(self, url: str) -> str:
        """A webhook stream of portal's logins to `url`; its signing secret."""
        created = self.gql(
            "mutation($i: LogStreamInput!) { createLogStream(account: \"acme\", input: $i) "
            "{ signingSecret } }",
            {"i": {"name": "SIEM", "kind": "WEBHOOK", "url": url,
                   "filter": {"application": "portal", "actions": ["auth.login"]}}},
        )  # fmt: skip
        return str(created["createLogStream"]["signingSecret"])

    def stream(self) -> dict[str, Any]:
        [listed] = self.gql(
            '{ logStreams(account: "acme") { state lastError delivered failedAttempts } }'
        )["logStreams"]
        return dict(listed)

    def record(self, key: str, number: int) -> str:
        recorded = self.gql(
            "mutation($i: AuditEventInput!) { recordAuditEvent(input: $i) { id } }",
            {"i": {"application": "portal", "action": "auth.login", "success": True,
                   "requestId": f"r{number}"}},
            token=key,
        )  # fmt: skip
        return str(recorded["recordAuditEvent"]["id"])

    def oldest_first(self, key: str) -> list[str]:
        """The ids `auditLogs(order: OLDEST_FIRST)` lists: settled entries in (createdAt, id)."""
        ids: list[str] = []
        after = None
        while True:
            page = self.gql(
                "query($after: String) { auditLogs(order: OLDEST_FIRST, first: 500, "
                'after: $after, filter: { application: "portal", actions: ["auth.login"] }) '
                "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                {"after": after},
                token=key,
            )["auditLogs"]
            ids += [edge["node"]["id"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return ids
            after = page["pageInfo"]["endCursor"]


@dataclass
class Recorder:
    """Records events steadily from a thread until stopped; the ids the service returned."""

    server: ServerProcess
    key: str
    every: float = 0.02
    ids: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "Recorder":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ids.append(self.server.record(self.key, len(self.ids)))
            time.sleep(self.every)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


@dataclass
class OutageReceiver(WebhookReceiver):
    """A WebhookReceiver (its `status` answered, only 200s kept) that can also keep the
    request after `hold_after` kept ones and then hold it unanswered (`held` is set), or
    hold every request without keeping it (`silent`)."""

    hold_after: int | None = None
    silent: bool = False
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    async def _hook(self, request: Request) -> Response:
        self.requests += 1
        if self.silent:
            await self._wait_for_release()
            return Response(status_code=503)
        hold = self.hold_after is not None and len(self.received) >= self.hold_after
        answer = await super()._hook(request)
        if hold and answer.status_code == 200:
            self.hold_after = None
            self.held.set()
            await self._wait_for_release()
        return answer

    async def _wait_for_release(self) -> None:
        await asyncio.to_thread(self.release.wait)


class Listening:
    """The receiver served on its port (a free one chosen at first), as often as started:
    stopped, the port refuses connections."""

    def __init__(self, receiver: OutageReceiver) -> None:
        self.receiver = receiver
        if receiver.port == 0:
            receiver.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Listening":
        app = Starlette(routes=[Route("/hook", self.receiver._hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.receiver.port, log_level="error",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, daemon=True)
        self._thread.start()
        wait_until("the receiver to listen", lambda: server.started, seconds=10)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> "Listening":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.receiver.release.set()
        self.stop()


def check_delivery(receiver: WebhookReceiver, expected: list[str]) -> int:
    """Every id of `expected` arrived, first arrivals in that order, nothing else; an entry
    arriving again comes with the webhook-id (and batch sequence) it came with first. How
    many entries arrived more than once."""

    def arrivals() -> Iterator[tuple[str, object]]:
        for got in receiver.received:
            webhook_id = got.headers["webhook-id"]
            sequence = got.body["batch"]["sequence"]
            assert webhook_id.endswith(f".{sequence}"), (webhook_id, sequence)
            for row in got.body["entries"]:
                yield row["id"], webhook_id

    first_seen, repeats = first_arrivals(arrivals())
    assert len(first_seen) == len(expected), (len(first_seen), len(expected))
    assert first_seen == expected, "entries arrived out of (createdAt, id) order"
    return repeats


def first_arrivals(arrivals: Iterable[tuple[str, object]]) -> tuple[list[str], int]:
    """Entry ids in order of first arrival, and how many arrived again; each arrival is
    (entry id, what identifies its batch and content): a repeat must match its first."""
    first: dict[str, object] = {}
    order: list[str] = []
    repeats = 0
    for entry_id, sent_as in arrivals:
        if entry_id in first:
            repeats += 1
            assert first[entry_id] == sent_as, (entry_id, first[entry_id], sent_as)
        else:
            first[entry_id] = sent_as
            order.append(entry_id)
    return order, repeats


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            state, parent = stat
            if parent == pid and state != "Z":
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def resent_otherwise(receiver: WebhookReceiver) -> dict[str, tuple[list[str], list[str]]]:
    """The webhook-ids that came again with other entries: a receiver dropping a repeated
    webhook-id (as Standard Webhooks suggest) would lose the entries added."""
    first: dict[str, list[str]] = {}
    changed: dict[str, tuple[list[str], list[str]]] = {}
    for got in receiver.received:
        webhook_id = got.headers["webhook-id"]
        ids = [row["id"] for row in got.body["entries"]]
        if first.setdefault(webhook_id, ids) != ids:
            changed[webhook_id] = (first[webhook_id], ids)
    return changed
