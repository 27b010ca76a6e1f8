"""Graceful shutdown of the real server process on SIGTERM: the service's own audit events
still queued are delivered, a request in flight completes, and nothing ends in a traceback.

Each test runs `python -m entrypoints.main` on the embedded store, its output (stdout and
stderr merged, JSON lines) collected by a thread as it comes.
"""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_server_process import environment

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "an-operator-token-for-the-shutdown-tests"
FLUSHED = "audit emitter stopped with every event delivered"
EXIT_WITHIN = 20.0
ROWS = 20_000
BATCH = 1_000
# Makes each exported row a few hundred bytes: the whole export is several megabytes, far
# more than the socket buffers between the server and a client that has stopped reading.
REASON = "second factor accepted after the password; session bound to the device certificate"
RECORD_MANY = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded }
}"""
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """`python -m entrypoints.main` with its log collected line by line."""

    def __init__(self, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = environment(**settings, port=str(self.port))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.main"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 30.0) -> int:
        """The index of the first log line containing `text`, once it is there."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, line in enumerate(self._lines):
                    if text in line:
                        return index
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    pytest.fail(f"no log line with {text!r}:\n{''.join(self._lines)}")
                self._changed.wait(min(left, 0.1))

    def start(self) -> "ServerProcess":
        self.wait_for_line("Uvicorn running on")
        return self

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = EXIT_WITHIN) -> int:
        """The exit status once the process has ended (fails the test after `timeout`)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout} s after SIGTERM:\n{self.log}")
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=5)

    def records(self) -> list[dict[str, Any]]:
        """Every log line as JSON; fails on a line that is not."""
        parsed = []
        for line in self.lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON log line: {line!r}\n{self.log}") from None
        return parsed

    def index_of(self, event: str, **fields: Any) -> int:
        for index, record in enumerate(self.records()):
            if record.get("event") == event and all(record.get(k) == v for k, v in fields.items()):
                return index
        raise AssertionError(f"no {event!r} {fields} in the log:\n{self.log}")

    def operator(self, client: httpx.Client, query: str, **variables: Any) -> Any:
        response = client.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        body = response.json() if response.status_code == 200 else None
        if body is None or body.get("errors"):
            pytest.fail(f"the operator's request failed: {response.status_code} {response.text}")
        return body["data"]


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    """A server whose own events linger in the queue (60 s for a fuller batch) until it stops."""
    process = ServerProcess(operator_token=TOKEN, interceptor_linger_ms="60000")
    try:
        yield process.start()
    finally:
        process.kill()


def create_account(server: ServerProcess, client: httpx.Client, account: str = "acme") -> None:
    server.operator(
        client,
        'mutation($id: ID!, $name: String!) { createAccount(id: $id, name: $name, plan: "pro")'
        " { id } }",
        id=account,
        name=account.title(),
    )


def metric(server: ServerProcess, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no metric {name}")


def assert_clean_log(server: ServerProcess) -> None:
    log = server.log
    assert "Traceback" not in log, log
    assert "unsent" not in log, log
    records = server.records()
    assert not [r for r in records if r.get("level") in ("error", "critical")], log


def assert_stopped_by_sigterm(code: int) -> None:
    """Exited cleanly after SIGTERM."""
    assert code == 0, code


def test_sigterm_delivers_the_events_still_queued_before_the_process_ends(
    server: ServerProcess,
) -> None:
    with httpx.Client() as client:
        create_account(server, client)
    # Queued, not sent: the sender lingers for a fuller batch.
    assert metric(server, "auditlog_interceptor_queue_depth") == 1
    assert metric(server, 'auditlog_interceptor_events_total{result="sent"}') == 0

    server.terminate()

    assert_stopped_by_sigterm(server.wait())
    assert FLUSHED in server.log
    shutting_down = server.index_of("Shutting down")
    flushed = server.index_of(FLUSHED, logger="auditlog.interceptor")
    finished = server.index_of("Application shutdown complete.")
    assert shutting_down < flushed < finished
    assert_clean_log(server)


def test_a_stop_on_sigterm_exits_with_0(server: ServerProcess) -> None:
    with httpx.Client() as client:
        create_account(server, client)

    server.terminate()

    code = server.wait()
    if FLUSHED not in server.log:
        pytest.fail(f"the queue was not flushed:\n{server.log}")
    assert code == 0


def test_sigterm_when_idle_stops_at_once(server: ServerProcess) -> None:
    started = time.monotonic()

    server.terminate()

    assert_stopped_by_sigterm(server.wait())
    # Nothing to wait for: well under the 30 s allowed to requests in flight.
    assert time.monotonic() - started < 10
    assert FLUSHED in server.log
    assert_clean_log(server)


def record_rows(server: ServerProcess, client: httpx.Client) -> None:
    create_account(server, client)
    server.operator(
        client,
        'mutation { createApplication(account: "acme", id: "portal", name: "Portal") { id } }',
    )
    for batch in range(ROWS // BATCH):
        inputs = [
            {
                "application": "portal",
                "action": "auth.login",
                "success": True,
                "email": f"user{batch * BATCH + i}@example.com",
                "reason": REASON,
                "userAgent": USER_AGENT,
            }
            for i in range(BATCH)
        ]
        recorded = server.operator(client, RECORD_MANY, inputs=inputs)
        assert recorded["recordAuditEvents"]["recorded"] == BATCH


def export_link(server: ServerProcess, client: httpx.Client) -> str:
    data = server.operator(
        client,
        'query { exportAuditLogs(filter: {account: "acme", actions: ["auth.login"]},'
        " format: NDJSON) { url } }",
    )
    return str(data["exportAuditLogs"]["url"])


def slow_reader() -> httpx.Client:
    """A client with a small receive buffer: once it stops reading, the server must wait."""
    transport = httpx.HTTPTransport(
        socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)]
    )
    return httpx.Client(transport=transport, timeout=60)


@pytest.mark.slow
def test_a_download_in_flight_when_sigterm_arrives_completes_with_every_row(
    server: ServerProcess,
) -> None:
    with httpx.Client(timeout=60) as client:
        record_rows(server, client)
        url = export_link(server, client)

    with slow_reader() as reader, reader.stream("GET", f"{server.url}{url}") as response:
        assert response.status_code == 200
        chunks = response.iter_bytes()
        body = [next(chunks)]

        server.terminate()
        # uvicorn says so only while a connection is still open: the download is in flight.
        server.wait_for_line("Waiting for connections to close")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz")  # no longer accepting
        body.extend(chunks)

    lines = b"".join(body).decode().splitlines()
    *rows, trailer = [json.loads(line) for line in lines]
    assert len(rows) == ROWS
    assert all(row.get("action") == "auth.login" for row in rows)  # no {"_error": ...} line
    assert trailer["_export"]["count"] == ROWS  # signed only once every row went out
    assert len({row["id"] for row in rows}) == ROWS
    assert_stopped_by_sigterm(server.wait())
    # The download ended after the shutdown began, and before the application stopped.
    shutting_down = server.index_of("Shutting down")
    downloaded = server.index_of("request", route="/exports/{token}", status=200)
    flushed = server.index_of(FLUSHED)
    assert shutting_down < downloaded < flushed
    assert_clean_log(server)
