"""The service's own secrets, which no pattern recognises, are never stored, echoed or logged.

The operator token here is human-chosen and shaped like a plain identifier, so the
credential patterns let it through: only knowing it catches it.
"""

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.observability.logs import configure_logging
from domain.credentials import looks_like_credential
from entrypoints.app import Overrides, create_app
from entrypoints.settings import AccessSettings, SealSettings
from tests.e2e.api import EXPORT_SIGNING_KEY, RECORD, Api
from tests.e2e.conftest import settings
from tests.fakes import FakeClock

TOKEN = "correct-horse-battery-staple-2026"
SEAL_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
RECORD_MANY = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded }
}"""
ALL = """query($after: String) { auditLogs(first: 500, after: $after) {
  edges { node { action reason userAgent requestId } } pageInfo { hasNextPage endCursor } } }"""


def leaked(text: str) -> bool:
    folded = text.casefold()
    return any(secret.casefold() in folded for secret in (TOKEN, SEAL_KEY, EXPORT_SIGNING_KEY))


class Rendered(logging.Handler):
    """Every record, rendered by the formatter the server installs."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    chosen = replace(
        settings(),
        access=AccessSettings(operator_token=TOKEN),  # type: ignore[arg-type]
        seals=SealSettings(signing_key=SEAL_KEY),  # type: ignore[arg-type]
    )
    application = create_app(chosen, Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def log_lines(app: FastAPI) -> Iterator[list[str]]:
    """The server's log output, as `main` configures it once the app is built."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled
    configure_logging(level="DEBUG", development=False, known_secrets=app.state.known_secrets)
    handler = Rendered(root.handlers[0].formatter)  # type: ignore[arg-type]
    root.handlers[:] = [handler]
    try:
        yield handler.lines
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("uvicorn.access").disabled = saved[2]


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
        yield Api(http, app.state.services.emitter.drain)


@pytest.fixture
async def key(api: Api) -> str:
    await api.gql(
        'mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }', token=TOKEN
    )
    await api.gql(
        'mutation { createApplication(account: "acme", id: "portal", name: "Portal") { id } }',
        token=TOKEN,
    )
    issued = await api.gql(
        'mutation { issueApiKey(account: "acme", scopes: [RECORD, READ]) { secret } }', token=TOKEN
    )
    return str(issued.data["issueApiKey"]["secret"])


async def stored(api: Api) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.gql(ALL, {"after": after}, token=TOKEN)).data["auditLogs"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_the_chosen_token_is_one_no_pattern_would_catch() -> None:
    assert not looks_like_credential(f"pasted {TOKEN} here")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", f"user pasted {TOKEN}"),
        ("reason", f"user pasted {TOKEN.upper()}"),
        ("reason", f"seal key {SEAL_KEY[:20]} {SEAL_KEY}"),
        ("reason", f"export key {EXPORT_SIGNING_KEY}"),
        ("userAgent", f"Mozilla/5.0 {TOKEN}"),
        ("requestId", TOKEN),
    ],
)
async def test_a_known_secret_in_free_text_is_refused_naming_the_field(
    api: Api, key: str, field: str, value: str
) -> None:
    result = await api.gql(
        RECORD, {"input": {"application": "portal", "action": "auth.login", "success": True,
                           field: value}}, token=key,
    )  # fmt: skip

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == field
    assert not leaked(json.dumps(result.body))
    assert not any(leaked(json.dumps(node)) for node in await stored(api))


async def test_a_known_secret_in_one_event_of_a_batch_refuses_the_batch_naming_it(
    api: Api, key: str
) -> None:
    inputs = [
        {"application": "portal", "action": "auth.login", "success": True},
        {"application": "portal", "action": "auth.login", "success": False, "reason": TOKEN},
    ]
    result = await api.gql(RECORD_MANY, {"inputs": inputs}, token=key)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "inputs[1].reason"
    assert not leaked(json.dumps(result.body))
    assert [n for n in await stored(api) if n["action"] == "auth.login"] == []


@pytest.mark.parametrize(
    "mutation",
    [
        'mutation($v: String!) { createAccount(id: "initech", name: $v, plan: "free") { id } }',
        'mutation($v: String!) { createApplication(account: "acme", id: "crm", name: $v) { id } }',
    ],
)
async def test_a_known_secret_as_a_name_is_refused(api: Api, key: str, mutation: str) -> None:
    result = await api.gql(mutation, {"v": f"Initech {TOKEN}"}, token=TOKEN)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "name"
    assert not leaked(json.dumps(result.body))


async def test_a_known_secret_in_request_headers_is_dropped_and_never_logged(
    api: Api, key: str, log_lines: list[str]
) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "{ auditLogs(first: 1) { edges { cursor } } }"},
        headers={
            "Authorization": f"Bearer {key}",
            "X-Request-ID": TOKEN,
            "User-Agent": f"Mozilla/5.0 {TOKEN.title()}",
        },
    )
    assert response.status_code == 200
    logging.getLogger("auditlog").warning("a line that quotes it: %s", TOKEN.upper())
    await api.settle()

    # The request ran under a fresh id, and its own audit entry was recorded without the
    # header values that held the secret.
    assert not leaked(response.headers["x-request-id"])
    [viewed] = [n for n in await stored(api) if n["action"] == "portal.audit_logs.viewed"]
    assert viewed["userAgent"] is None
    assert viewed["requestId"] == response.headers["x-request-id"]
    assert not leaked(response.text)
    assert log_lines, "the formatter rendered nothing"
    assert not any(leaked(line) for line in log_lines), [line for line in log_lines if leaked(line)]
    assert any("a line that quotes it: [redacted]" in line for line in log_lines)
