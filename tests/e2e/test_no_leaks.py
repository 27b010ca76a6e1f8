"""A real server, a realistic session, and a log that holds no personal data and no secret."""

import json
import secrets
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.e2e.test_server_process import SERVER, environment, free_port

pytestmark = pytest.mark.slow

OPERATOR = "operator-token-" + secrets.token_hex(16)
SIGNING_KEY = "export-signing-key-" + secrets.token_hex(16)
EMAIL = "leak.canary@example.com"
REASON = "canary lockout after five attempts"
CREDENTIAL_REASON = "password=" + secrets.token_urlsafe(18)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "Uvicorn running on" in line:
                self.started.set()
        self.started.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        assert self.reader is not None
        self.reader.join(timeout=10)
        return code


def run_server(**settings: str) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        SERVER,
        env=environment(
            port=str(port),
            operator_token=OPERATOR,
            export_signing_key=SIGNING_KEY,
            log_level="DEBUG",
            **settings,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    server.reader = threading.Thread(target=server.read, daemon=True)
    server.reader.start()
    try:
        assert server.started.wait(60), server.output
        assert process.poll() is None, server.output
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def production() -> Iterator[Server]:
    yield from run_server()


@pytest.fixture
def development() -> Iterator[Server]:
    yield from run_server(environment="development")


@dataclass
class Session:
    """What a session handed out that must never be logged."""

    secrets: dict[str, str]


def gql(
    http: httpx.Client, query: str, variables: dict[str, Any] | None = None, *,
    token: str | None, request_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    headers = {"User-Agent": "LeakCheck/1.0"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    response = http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(body: dict[str, Any]) -> Any:
    assert not body.get("errors"), body
    return body["data"]


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def realistic_session(url: str) -> Session:
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200

        def operator(query: str, variables: dict[str, Any]) -> Any:
            return data(gql(http, query, variables, token=OPERATOR))

        operator(
            'mutation($id: ID!) { createAccount(id: $id, name: "Leak Corp", plan: "pro") { id } }',
            {"id": "leakcorp"},
        )
        operator(
            'mutation { createApplication(account: "leakcorp", id: "leakapp", '
            'name: "Leak App") { id } }',
            {},
        )
        issue = (
            'mutation($s: [Scope!]!) { issueApiKey(account: "leakcorp", scopes: $s) '
            "{ apiKey { id } secret } }"
        )
        key = operator(issue, {"s": ["RECORD", "READ", "EXPORT"]})["issueApiKey"]["secret"]
        revoked_key = operator(issue, {"s": ["READ"]})["issueApiKey"]
        operator(
            "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
            {"id": revoked_key["apiKey"]["id"]},
        )

        event = {"action": "auth.login", "success": False, "application": "leakapp",
                 "email": EMAIL, "reason": REASON, "ip": "203.0.113.7"}  # fmt: skip
        record = "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id } }"
        assert data(gql(http, record, {"input": event}, token=key, request_id="leak-req-1"))
        batch = (
            "mutation($inputs: [AuditEventInput!]!) { recordAuditEvents(inputs: $inputs) "
            "{ entries { id } } }"
        )
        assert data(gql(http, batch, {"inputs": [event, {**event, "success": True}]}, token=key))

        logs = gql(
            http,
            "query($f: AuditLogFilter) { auditLogs(filter: $f) { edges { node { email } } } }",
            {"f": {"email": EMAIL}},
            token=key,
        )
        assert len(data(logs)["auditLogs"]["edges"]) == 3
        link = data(
            gql(
                http,
                "query { exportAuditLogs(format: NDJSON) { url } }",
                token=key,
                request_id="leak-req-2",
            )
        )["exportAuditLogs"]["url"]
        download = http.get(link)
        assert download.status_code == 200
        assert EMAIL in download.text  # the data is there, for the caller only
        tampered = link[:-6] + ("A" if link[-6] != "A" else "B") + link[-5:]
        assert http.get(tampered).status_code == 403

        refused = gql(http, record, {"input": {**event, "reason": CREDENTIAL_REASON}}, token=key)
        assert code(refused) == "BAD_USER_INPUT"
        # A query that fails validation, with the email in its text.
        invalid = gql(http, f'{{ auditLogs(filter: {{email: "{EMAIL}"}}) {{ nope }} }}', token=key)
        assert invalid["errors"]
        revoked = gql(http, "{ auditLogs { edges { cursor } } }", token=revoked_key["secret"])
        assert code(revoked) == "UNAUTHENTICATED"
        unknown = "alk_0123456789abcdef_" + secrets.token_urlsafe(24)
        assert code(gql(http, "{ plans { name } }", token=unknown)) == "UNAUTHENTICATED"
        assert http.get("/metrics").status_code == 200
        assert http.get("/no/such/path").status_code == 404

    return Session(
        secrets={
            "email": EMAIL,
            "reason": REASON,
            "operator token": OPERATOR,
            "export signing key": SIGNING_KEY,
            "API key secret": key,
            "revoked API key secret": revoked_key["secret"],
            "unknown API key secret": unknown,
            "export token": link.removeprefix("/exports/"),
            "tampered export token": tampered.removeprefix("/exports/"),
            "credential-shaped reason": CREDENTIAL_REASON,
            "credential-shaped value": CREDENTIAL_REASON.removeprefix("password="),
        }
    )


def leaked(output: str, session: Session) -> list[str]:
    """The names of the secrets found in the output, whole or by their last 20 characters
    (a truncated token, or a signature without its payload, is a leak too)."""
    return [
        name
        for name, value in session.secrets.items()
        if value in output or (len(value) >= 32 and value[-20:] in output)
    ]


def test_a_production_server_logs_json_lines_without_personal_data_or_secrets(
    production: Server,
) -> None:
    session = realistic_session(production.url)

    assert production.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    output = production.output
    assert leaked(output, session) == []
    assert "Traceback" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    assert [line for line in lines if not {"event", "level", "timestamp"} <= line.keys()] == []
    # The session was logged: one line per request, down to the probes at DEBUG.
    requests = [line for line in lines if line["event"] == "request"]
    assert {(line["route"], line["outcome"]) for line in requests} >= {
        ("/exports/{token}", "ok"),
        ("/exports/{token}", "HTTP_403"),
        ("/healthz", "ok"),
        ("/graphql", "BAD_USER_INPUT"),
        ("/graphql", "UNAUTHENTICATED"),
    }
    assert {"leak-req-1", "leak-req-2"} <= {line.get("request_id") for line in requests}
    assert all("color_message" not in line for line in lines)


def test_a_development_server_logs_readable_lines_without_personal_data_or_secrets(
    development: Server,
) -> None:
    session = realistic_session(development.url)

    assert development.stop() in (0, -signal.SIGTERM)
    output = development.output
    assert leaked(output, session) == []
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert [line for line in lines if _is_json(line)] == []
    assert [line for line in lines if "request" in line and "export_download" in line]
    assert "leak-req-1" in output


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True
