"""The HTTP edge: malformed GraphQL requests get JSON errors, every response carries the
security headers, and GraphiQL is served (hardened) only in development."""

import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from entrypoints.app import create_app
from entrypoints.settings import ServerSettings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
PLANS = '"{ plans { name } }"'


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def refusal(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    return dict(error["extensions"])


@pytest.mark.parametrize("body", ["12", "null", "true", '"x"', "-0.5", "{}", '{"variables": {}}'])
async def test_a_body_that_is_not_an_operation_object_is_a_400_naming_it(
    api: Api, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await api.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert refusal(response)["code"] == "BAD_USER_INPUT"
    assert refusal(response)["field"] in {"body", "query"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"query": "\xff"}', "body"),  # not UTF-8
        (b'{"query": "{ plans { name } }", "variables": {"a": "\\ud800"}}', "body"),
        (b'{"query": "{ plans { name } }", "variables": {"a": NaN}}', "body"),
        (b'{"query": "{ plans { name } }", "variables": {"a": 1' + b"0" * 5000 + b"}}", "body"),
        (b'{"query": "{ plans { name } }", "variables": {"a": 1e999}}', "body"),
        (b'{"query": "{ plans { name } }", "variables": {"a": ' + nested(40) + b"}}", "body"),
        (b'{"query": "{ plans { name } }", "variables": {"a": ' + nested(5000) + b"}}", "body"),
        (b'{"query": "{ plans { name } ', "body"),
        (b"", "body"),
        (b"[]", "body"),
        (b'[{"query": "{ plans { name } }"}]', "body"),
        (b'{"query": 12}', "query"),
        (b'{"query": ["{ plans { name } }"]}', "query"),
        (b'{"query": ' + PLANS.encode() + b', "variables": [1]}', "variables"),
        (b'{"query": ' + PLANS.encode() + b', "variables": "{}"}', "variables"),
        (b'{"query": ' + PLANS.encode() + b', "operationName": 3}', "operationName"),
        (b'{"query": ' + PLANS.encode() + b', "operationName": {"a": 1}}', "operationName"),
        (b'{"query": ' + PLANS.encode() + b', "extensions": 3}', "extensions"),
        (b'{"query": ' + PLANS.encode() + b', "extensions": []}', "extensions"),
    ],
)  # fmt: skip
async def test_a_malformed_operation_is_a_400_naming_the_part_at_fault(
    api: Api, body: bytes, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await api.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert refusal(response) == {"code": "BAD_USER_INPUT", "field": field}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_nesting_a_request_needs_is_accepted(api: Api) -> None:
    body = '{"query": "{ plans { name } }", "variables": {"b": ' + nested(20).decode() + "}}"

    response = await api.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 200


async def test_a_refusal_quotes_nothing_that_was_sent(api: Api) -> None:
    secret = "hunter2-operator-token-xyz"
    for body in (
        f'{{"query": "{{ plans {{ name }} }}", "operationName": ["{secret}"]}}',
        f'{{"query": {{"{secret}": 1}}}}',
        f'["{secret}"]',
        f'"{secret}"',
    ):
        response = await api.http.post("/graphql", content=body, headers=JSON)
        assert response.status_code == 400
        assert "hunter2" not in response.text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "query=%7B+plans+%7B+name+%7D+%7D"),
        ("multipart/form-data; boundary=b",
         '--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--b--\r\n'),
        ("text/plain", '{"query": "{ plans { name } }"}'),
        ("application/graphql", "{ plans { name } }"),
        (None, '{"query": "{ plans { name } }"}'),
    ],
)  # fmt: skip
async def test_a_body_that_is_not_json_is_a_415(
    api: Api, content_type: str | None, body: str
) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}

    response = await api.http.post("/graphql", content=body, headers=headers)

    assert response.status_code == 415
    assert refusal(response) == {"code": "BAD_USER_INPUT", "field": "Content-Type"}


async def test_json_with_a_charset_is_json(api: Api) -> None:
    response = await api.http.post(
        "/graphql",
        content='{"query": "{ plans { name } }"}',
        headers={**AUTH, "Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200
    assert response.json()["data"]["plans"]


@pytest.mark.parametrize(
    "params",
    [{"query": "{ plans { name } }"}, {"query": "mutation { x }"}, {"variables": "12"}, {}],
)
async def test_an_operation_over_get_is_a_405(api: Api, params: dict[str, str]) -> None:
    response = await api.http.get(
        "/graphql", params=params, headers={**AUTH, "Accept": "application/json"}
    )

    assert response.status_code == 405
    assert refusal(response) == {"code": "BAD_USER_INPUT"}


async def test_a_response_is_not_streamed_whatever_the_client_accepts(api: Api) -> None:
    for accept in ("text/event-stream", "multipart/mixed;subscriptionSpec=1.0"):
        response = await api.http.post(
            "/graphql", json={"query": "{ plans { name } }"}, headers={**AUTH, "Accept": accept}
        )
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"]["plans"]


# Security headers on every response.

SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def framing_refused(response: httpx.Response) -> bool:
    policies = response.headers.get_list("content-security-policy")
    return (
        len(policies) == 1
        and "frame-ancestors 'none'" in policies[0]
        and all(response.headers.get_list(k) == [v] for k, v in SECURITY.items())
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/"),
        ("GET", "/metrics"),
        ("GET", "/.well-known/audit-seal-keys.json"),
        ("GET", "/portal"),
        ("GET", "/portal/static/app.js"),
        ("GET", "/portal/"),
        ("GET", "/nowhere"),
        ("GET", "/exports/not-a-token"),
        ("POST", "/graphql"),
        ("GET", "/graphql"),
        ("PUT", "/graphql"),
    ],
)
async def test_every_response_carries_the_security_headers(
    api: Api, method: str, path: str
) -> None:
    response = await api.http.request(method, path, json={"query": "{ plans { name } }"})

    assert framing_refused(response), response.headers


async def test_a_body_over_the_limit_carries_them_too(api: Api) -> None:
    response = await api.http.post("/graphql", content=b"x" * (3 * 1024 * 1024), headers=JSON)

    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert framing_refused(response)


async def test_an_unexpected_failure_is_a_json_500_with_the_headers(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = api.http._transport.app  # type: ignore[attr-defined]

    async def broken() -> bool:
        raise RuntimeError("internal detail: key=hunter2")

    monkeypatch.setattr(app.state.store, "ready", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
        response = await http.get("/readyz")

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "INTERNAL_SERVER_ERROR", "message": "Internal server error."}
    }
    assert "hunter2" not in response.text
    assert framing_refused(response)


# GraphiQL.


@pytest.fixture
async def development() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replace(settings(), server=ServerSettings(environment="development")))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            yield http


async def test_graphiql_is_not_served_in_production(api: Api) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert refusal(response) == {"code": "NOT_FOUND"}
    assert "<html" not in response.text.lower()


async def test_graphiql_in_development_keeps_no_headers_and_reads_nothing_from_the_url(
    development: httpx.AsyncClient,
) -> None:
    response = await development.get(
        "/graphql?q=mutation%7BrevokeApiKey%7D&headers=x", headers={"Accept": "text/html"}
    )

    assert response.status_code == 200
    page = response.text
    assert "graphiql" in page.lower()
    assert "shouldPersistHeaders: false" in page
    assert "shouldPersistHeaders: true" not in page
    # Its history would keep the headers in localStorage anyway: it is given memory instead.
    assert "storage: memoryStorage" in page
    for absent in ("location.search", "revokeApiKey", "Cookies", "subscriptionUrl"):
        assert absent not in page


async def test_graphiql_runs_only_its_own_script_and_cannot_be_framed(
    development: httpx.AsyncClient,
) -> None:
    response = await development.get("/graphql", headers={"Accept": "text/html"})

    assert framing_refused(response)
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    # Every script from the CDN is pinned by its digest.
    external = re.findall(r"<script[^>]*\bsrc=[^>]*>", response.text)
    assert external
    assert all("integrity=" in tag for tag in external)


async def test_an_unknown_operation_name_is_a_400_that_does_not_quote_it(
    api: Api, tenants: Tenants
) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "query A { plans { name } }", "operationName": "hunter2-secret"},
        headers={"Authorization": f"Bearer {tenants.acme_read}"},
    )

    assert response.status_code == 400
    assert refusal(response) == {"code": "BAD_USER_INPUT", "field": "operationName"}
    assert "hunter2" not in response.text
