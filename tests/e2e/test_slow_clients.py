"""Slow clients and trusted proxies, against a real `auditlog-server` on loopback.

Slow clients need a real server: the header deadline lives in the HTTP protocol, below ASGI.
Every wait here is bounded; a socket the server should close but holds fails the test after
a few seconds, where without the bounds it would be held for ever.
"""

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any

import httpx
import pytest

from tests.e2e.test_server_process import SERVER, TOKEN, environment, free_port

pytestmark = pytest.mark.slow

# Short bounds so the tests are quick; the deadline a test waits for is several times these.
FAST = {"header_timeout_seconds": "1", "body_timeout_seconds": "1", "keep_alive_seconds": "1"}
WAIT = 8.0


@contextmanager
def server(**settings: str) -> Iterator[str]:
    """A server on the embedded store with these settings; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        SERVER,
        env=environment(
            port=str(port), operator_token=TOKEN, interceptor_linger_ms="0", **settings
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def fast_server() -> Iterator[str]:
    with server(**FAST) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    return sock


def closed_by_server(sock: socket.socket, *, dribble: bytes = b"") -> bool:
    """Whether the server closes the connection within WAIT seconds (reading what it sends);
    with `dribble`, one byte of it is sent every 0.2 s meanwhile."""
    deadline = time.monotonic() + WAIT
    sock.settimeout(0.2)
    sent = 0
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionError:
            return True
        if sent < len(dribble):
            try:
                sock.sendall(dribble[sent : sent + 1])
            except OSError:
                return True
            sent += 1
    return False


def response_of(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before a response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def test_idle_connections_are_closed_after_the_header_timeout(fast_server: str) -> None:
    with ExitStack() as stack:
        idle = [stack.enter_context(connect(fast_server)) for _ in range(50)]

        assert all(closed_by_server(sock) for sock in idle)
    assert httpx.get(f"{fast_server}/healthz").status_code == 200


def test_headers_dribbled_slower_than_the_header_timeout_are_cut_off(fast_server: str) -> None:
    with connect(fast_server) as sock:
        # 40 bytes at 5 a second: 8 s, far past the 1 s deadline.
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 40

        assert closed_by_server(sock, dribble=request)


def test_a_kept_alive_connection_gets_the_header_deadline_again(fast_server: str) -> None:
    with connect(fast_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert response_of(sock)[0] == 200

        # The first byte would cancel uvicorn's keep-alive timer; the header deadline holds.
        assert closed_by_server(sock, dribble=b"GET /healthz HTTP/1.1\r\nX-A: " + b"a" * 40)


def test_a_body_slower_than_the_body_timeout_is_answered_408(fast_server: str) -> None:
    with connect(fast_server) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query":'
        )

        status, headers, body = response_of(sock)

        assert status == 408
        assert headers["connection"] == "close"
        error = json.loads(body)["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        assert "did not arrive within 1 seconds" in error["message"]
        assert closed_by_server(sock)


def test_connections_past_the_cap_are_answered_503_until_one_closes() -> None:
    with server(max_connections="3", header_timeout_seconds="60") as url, ExitStack() as stack:
        held = [stack.enter_context(connect(url)) for _ in range(2)]
        with connect(url) as third:
            third.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert response_of(third)[0] == 200  # three open: at the cap, served

            with connect(url) as fourth:
                fourth.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert response_of(fourth)[0] == 503
        held.pop().close()
        time.sleep(0.2)  # for the server to see the close

        assert httpx.get(f"{url}/healthz").status_code == 200


def graphql(url: str, query: str, headers: dict[str, str], **variables: Any) -> Any:
    body = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=60
    ).json()
    assert not body.get("errors"), body
    return body["data"]


def _viewed_from(url: str, forwarded_for: str) -> Any:
    """The address recorded on the service's own `portal.audit_logs.viewed` entry for a read
    sent from loopback with this X-Forwarded-For."""
    operator = {"Authorization": f"Bearer {TOKEN}"}
    gql = partial(graphql, url)
    gql('mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }', operator)
    secret = gql('mutation { issueApiKey(account: "acme", scopes: [READ]) { secret } }', operator)[
        "issueApiKey"
    ]["secret"]
    gql(
        "{ auditLogs { edges { cursor } } }",
        {"Authorization": f"Bearer {secret}", "X-Forwarded-For": forwarded_for},
    )
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        edges = gql(
            "query($f: AuditLogFilter) { auditLogs(filter: $f) { edges { node { ip } } } }",
            operator,
            f={"actions": ["portal.audit_logs.viewed"]},
        )["auditLogs"]["edges"]
        if edges:
            return edges[0]["node"]["ip"]
        time.sleep(0.1)
    pytest.fail("the read was not recorded")


def test_x_forwarded_for_from_loopback_is_ignored_by_default() -> None:
    with server() as url:
        assert _viewed_from(url, "203.0.113.9") == "127.0.0.1"


def test_x_forwarded_for_is_believed_from_a_trusted_proxy() -> None:
    with server(trusted_proxies="10.0.0.0/8, 127.0.0.1") as url:
        assert _viewed_from(url, "203.0.113.9") == "203.0.113.9"


def test_a_trusted_proxy_that_is_not_an_address_is_refused_without_quoting_it() -> None:
    result = subprocess.run(
        SERVER,
        env=environment(trusted_proxies="127.0.0.1,hunter2-secret"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "AUDITLOG_TRUSTED_PROXIES" in result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_only_the_named_proxies_are_believed() -> None:
    with server(trusted_proxies="10.0.0.0/8") as url:
        assert _viewed_from(url, "203.0.113.9") == "127.0.0.1"


def test_a_client_that_reads_nothing_of_a_download_is_let_go() -> None:
    with server(send_timeout_seconds="1", rate_limit_enabled="false") as url:
        operator = {"Authorization": f"Bearer {TOKEN}"}
        gql = partial(graphql, url)
        gql('mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }', operator)
        gql(
            'mutation { createApplication(account: "acme", id: "web", name: "W") { id } }', operator
        )
        key = {"Authorization": "Bearer " + gql(
            'mutation { issueApiKey(account: "acme", scopes: [RECORD, EXPORT]) { secret } }',
            operator,
        )["issueApiKey"]["secret"]}  # fmt: skip
        # Far more than the socket buffers hold between the server and a client reading
        # nothing (a few MB on loopback), so that the server must wait for the client.
        event = {
            "application": "web",
            "action": "auth.login",
            "success": True,
            "email": "user@example.com",
            "userAgent": "u" * 400,
            "requestId": "r" * 60,
        }
        for _ in range(12):
            gql(
                "mutation($i: [AuditEventInput!]!) { recordAuditEvents(inputs: $i) { recorded } }",
                key,
                i=[event] * 1000,
            )
        link = gql(
            "{ exportAuditLogs(format: NDJSON) { url } }", key
        )["exportAuditLogs"]["url"]  # fmt: skip

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with sock:
            sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
            path = httpx.URL(link).raw_path.decode()
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(4)  # reading nothing, well past the 1 s send deadline

            received = b""
            sock.settimeout(WAIT)
            while chunk := sock.recv(1 << 20):
                received += chunk

        assert received.startswith(b"HTTP/1.1 200")
        # Cut off: the chunked body never got its last chunk.
        assert not received.endswith(b"0\r\n\r\n")
