"""Hostile input over HTTP: one test per hardening rule, through the real ASGI app.

Credential-shaped and unprintable text is refused naming its field, request shapes that cost
too much are refused before anything runs, and the bounds are configurable.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import Lexer, Source, TokenKind

from entrypoints.app import create_app
from entrypoints.settings import LimitSettings, ServerSettings, Settings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings

RECORD_ONE = "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id } }"
RECORD_MANY = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded entries { id } }
}"""
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkJvYiJ9"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
# Each short enough for requestId (128): the field's length rule must not be what refuses it.
CREDENTIALS = {
    "jwt": JWT,
    "bearer": "Bearer 7f3kQ9zLmP2xW8vR4nTq",
    "password-pair": "password=Hunter2Hunter2",
    "service-api-key": "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "token-urlsafe": "GuJlYy2UqGlu5XtTL-YJv_ZejJZI9hYN92y6n_b6-fM",
}
FREE_TEXT_FIELDS = ["reason", "userAgent", "requestId"]
UNPRINTABLE = {
    "nul": "\x00",
    "newline": "\n",
    "escape": "\x1b[31m",
    "right-to-left-override": "\u202e",
    "left-to-right-isolate": "\u2066",
}


def login(application: str = "portal", **fields: Any) -> dict[str, Any]:
    return {"application": application, "action": "auth.login", "success": True, **fields}


def secret_part(value: str) -> str:
    """The distinctive tail of a credential, which must never come back."""
    return value[-16:]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_count(query: str) -> int:
    """Tokens as graphql-core's parser counts them for its max_tokens bound."""
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def plans_query(tokens: int) -> str:
    """A valid query of exactly `tokens` tokens: the same fragment spread again and again.

    (Repeating a field instead would exhaust graphql-core's field-merging budget first.)
    """
    spreads, odd = divmod(tokens - 13, 2)
    query = (
        "{ plans { name "
        + "...F " * spreads
        + "} } fragment F on Plan { name"
        + " name" * odd
        + " }"
    )
    assert token_count(query) == tokens
    return query


def aliases_query(count: int) -> str:
    return "{ " + " ".join(f"p{i}: plans {{ name }}" for i in range(count)) + " }"


def padded_body(size: int, query: str = "{ plans { name } }") -> bytes:
    """A GraphQL request body of exactly `size` bytes: the query padded with spaces."""
    body = json.dumps({"query": query}).encode()
    padding = size - len(body)
    assert padding >= 0
    body = json.dumps({"query": query + " " * padding}).encode()
    assert len(body) == size
    return body


async def post_raw(api: Api, body: bytes, token: str = OPERATOR_TOKEN) -> httpx.Response:
    await api.settle()
    return await api.http.post(
        "/graphql",
        content=body,
        headers={**auth(token), "Content-Type": "application/json"},
    )


@asynccontextmanager
async def app_api(configured: Settings) -> AsyncIterator[Api]:
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            yield Api(http, app.state.services.emitter.drain)


# The lowest bounds allowed. Depth 2, because the schema's deepest path without introspection,
# auditLogs.edges.node.<field>, is depth 3: nothing real exceeds 3.
LIMITED = LimitSettings(graphql_depth=2, graphql_aliases=2, graphql_tokens=100, body_bytes=65_536)


@pytest.fixture
async def limited_api() -> AsyncIterator[Api]:
    async with app_api(replace(settings(), limits=LIMITED)) as api:
        yield api


@pytest.fixture
async def development_api() -> AsyncIterator[Api]:
    development = ServerSettings(environment="development")
    async with app_api(replace(settings(), server=development)) as api:
        yield api


# --- credentials in free text --------------------------------------------------------------


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize("value", CREDENTIALS.values(), ids=CREDENTIALS.keys())
async def test_a_credential_in_free_text_is_refused_unechoed_and_unstored(
    api: Api, tenants: Tenants, field: str, value: str
) -> None:
    result = await api.gql(RECORD_ONE, {"input": login(**{field: value})}, token=tenants.acme_rw)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == field
    assert result.error["message"].startswith(f"{field}: ")
    assert secret_part(value) not in json.dumps(result.body)
    assert await api.all_ids(OPERATOR_TOKEN) == []


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize("value", CREDENTIALS.values(), ids=CREDENTIALS.keys())
async def test_a_credential_in_a_batch_is_refused_at_its_index_and_nothing_is_stored(
    api: Api, tenants: Tenants, field: str, value: str
) -> None:
    inputs = [login(), login(reason="ordinary"), login(**{field: value}), login()]

    result = await api.gql(RECORD_MANY, {"inputs": inputs}, token=tenants.acme_rw)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == f"inputs[2].{field}"
    assert result.error["extensions"]["index"] == 2
    assert secret_part(value) not in json.dumps(result.body)
    assert await api.all_ids(OPERATOR_TOKEN) == []


@pytest.mark.parametrize(
    "change",
    [
        {"success": CREDENTIALS["stripe"]},
        {"reason": [CREDENTIALS["stripe"]]},
        {"user_agent": "curl/8.7.1", "reason": CREDENTIALS["stripe"]},  # unknown field name
    ],
    ids=["wrong-type", "list-for-string", "unknown-field-echoes-the-whole-input"],
)
async def test_a_credential_in_a_wrongly_typed_variable_is_not_echoed(
    api: Api, tenants: Tenants, change: dict[str, Any]
) -> None:
    result = await api.gql(RECORD_ONE, {"input": login(**change)}, token=tenants.acme_rw)

    assert result.code == "BAD_USER_INPUT"
    assert secret_part(CREDENTIALS["stripe"]) not in json.dumps(result.body)


async def test_a_browser_user_agent_a_uuid_request_id_and_a_sentence_pass(
    api: Api, tenants: Tenants
) -> None:
    fields = {
        "reason": "the session token has expired; password reset requested",
        "userAgent": (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
        ),
        "requestId": "123e4567-e89b-12d3-a456-426614174000",
    }

    result = await api.record(tenants.acme_rw, **login(**fields))

    entry = result.data["recordAuditEvent"]
    assert {key: entry[key] for key in fields} == fields
    assert await api.all_ids(OPERATOR_TOKEN) == [entry["id"]]


# --- unprintable characters ----------------------------------------------------------------


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize("bad", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
async def test_control_and_bidi_characters_in_free_text_are_refused(
    api: Api, tenants: Tenants, field: str, bad: str
) -> None:
    result = await api.gql(
        RECORD_ONE, {"input": login(**{field: f"before{bad}after"})}, token=tenants.acme_rw
    )

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == field
    assert await api.all_ids(OPERATOR_TOKEN) == []


@pytest.mark.parametrize("bad", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
async def test_control_and_bidi_characters_in_an_account_name_are_refused(
    api: Api, bad: str
) -> None:
    create = (
        'mutation($name: String!) { createAccount(id: "newco", name: $name, plan: "pro") { id } }'
    )

    refused = await api.gql(create, {"name": f"New{bad}Co"}, token=OPERATOR_TOKEN)

    assert refused.code == "BAD_USER_INPUT"
    assert refused.error["extensions"]["field"] == "name"
    # Nothing was created: the same id is still free.
    created = await api.gql(create, {"name": "NewCo"}, token=OPERATOR_TOKEN)
    assert created.data["createAccount"]["id"] == "newco"


@pytest.mark.parametrize("bad", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
async def test_control_and_bidi_characters_in_an_application_name_are_refused(
    api: Api, tenants: Tenants, bad: str
) -> None:
    create = (
        "mutation($name: String!) {"
        ' createApplication(account: "acme", id: "billing", name: $name) { id } }'
    )

    refused = await api.gql(create, {"name": f"Bill{bad}ing"}, token=OPERATOR_TOKEN)

    assert refused.code == "BAD_USER_INPUT"
    assert refused.error["extensions"]["field"] == "name"
    created = await api.gql(create, {"name": "Billing"}, token=OPERATOR_TOKEN)
    assert created.data["createApplication"]["id"] == "billing"


# --- normalisation -------------------------------------------------------------------------


async def test_emails_are_normalised_when_recorded_and_when_filtered(
    api: Api, tenants: Tenants
) -> None:
    await api.record(tenants.acme_rw, **login("admin", email="alice@example.com"))
    entry = (await api.record(tenants.acme_rw, **login(email=" Bob@Example.COM "))).data[
        "recordAuditEvent"
    ]

    assert entry["email"] == "bob@example.com"
    stored = await api.all_entries(tenants.acme_read, email="bob@example.com")
    assert [(e["id"], e["email"]) for e in stored] == [(entry["id"], "bob@example.com")]
    assert await api.all_ids(tenants.acme_read, email="  BOB@example.Com ") == [entry["id"]]


# --- request shape bounds (defaults) -------------------------------------------------------

DEEP_INTROSPECTION = (
    "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType"
    " { ofType { name } } } } } } } } } } }"
)  # depth 11


async def test_introspection_is_exempt_from_the_depth_limit_but_bounded_by_graphql_core(
    api: Api,
) -> None:
    """GraphiQL's own introspection nests `ofType` deeper than 8, so strawberry's depth
    limiter skips `__` fields; graphql-core's introspection depth rule bounds them instead."""
    answered = await api.gql(DEEP_INTROSPECTION, token=OPERATOR_TOKEN)
    recursive = await api.gql(
        "{ __schema { types { fields { type { fields { type { fields { type { fields { name }"
        " } } } } } } } } }",
        token=OPERATOR_TOKEN,
    )

    assert answered.data["__schema"]["types"]
    assert recursive.code == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection depth" in recursive.error["message"]


async def test_queries_within_the_default_depth_pass(api: Api, tenants: Tenants) -> None:
    # The schema's deepest path; a limit of 2 refuses it (see the configurable limits below).
    deepest = await api.gql("{ auditLogs { edges { node { id } } } }", token=tenants.acme_read)
    introspection = await api.gql(
        "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }",
        token=OPERATOR_TOKEN,
    )

    assert isinstance(deepest.data["auditLogs"]["edges"], list)
    assert introspection.data["__schema"]["types"]


async def test_more_than_20_aliases_are_refused_and_20_pass(api: Api) -> None:
    refused = await api.gql(aliases_query(21), token=OPERATOR_TOKEN)
    passed = await api.gql(aliases_query(20), token=OPERATOR_TOKEN)

    assert refused.code == "GRAPHQL_VALIDATION_FAILED"
    assert len(passed.data) == 20


async def test_more_than_2000_tokens_are_refused_before_parsing_and_2000_pass(
    api: Api, tenants: Tenants
) -> None:
    refused = await api.gql(plans_query(2001), token=OPERATOR_TOKEN)
    passed = await api.gql(plans_query(2000), token=OPERATOR_TOKEN)

    assert refused.code == "GRAPHQL_PARSE_FAILED"
    assert "2000 tokens" in refused.error["message"]
    assert refused.body["data"] is None
    assert passed.data["plans"]


async def test_a_mutation_of_more_than_2000_tokens_stores_nothing(
    api: Api, tenants: Tenants
) -> None:
    mutation = RECORD_ONE.replace("{ id }", "{ " + "id " * 2000 + "}")
    assert token_count(mutation) > 2000

    result = await api.gql(mutation, {"input": login()}, token=tenants.acme_rw)

    assert result.code == "GRAPHQL_PARSE_FAILED"
    assert await api.all_ids(OPERATOR_TOKEN) == []


# --- body size -----------------------------------------------------------------------------

DEFAULT_BODY_BYTES = LimitSettings().body_bytes


async def test_a_body_over_the_limit_is_413_with_a_graphql_error_and_nothing_is_stored(
    api: Api, tenants: Tenants
) -> None:
    mutation = RECORD_ONE + " " * DEFAULT_BODY_BYTES
    body = json.dumps({"query": mutation, "variables": {"input": login()}}).encode()
    assert len(body) > DEFAULT_BODY_BYTES

    response = await post_raw(api, body, tenants.acme_rw)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["data"] is None
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["BAD_USER_INPUT"]
    assert str(DEFAULT_BODY_BYTES) in payload["errors"][0]["message"]
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_a_streamed_body_without_a_length_is_bounded_too(api: Api, tenants: Tenants) -> None:
    body = json.dumps(
        {"query": RECORD_ONE + " " * DEFAULT_BODY_BYTES, "variables": {"input": login()}}
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    await api.settle()
    response = await api.http.post(
        "/graphql",
        content=chunks(),
        headers={**auth(tenants.acme_rw), "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_a_body_of_exactly_the_limit_is_served(api: Api) -> None:
    response = await post_raw(api, padded_body(DEFAULT_BODY_BYTES))

    assert response.status_code == 200
    assert response.json()["data"]["plans"]


def largest_input(application: str) -> dict[str, Any]:
    """Every ASCII field at its maximum length, none of them credential-shaped."""
    event = {
        "application": application,
        "action": "a" * 31 + "." + "b" * 32,
        "success": False,
        "email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com",
        "reason": "audit " * 83 + "ok",
        "ip": "fe80:1234:5678:9abc:def0:1234:5678:9abc",
        "userAgent": "audit " * 85 + "ok",
        "requestId": "request-" * 16,
    }
    lengths = {key: len(value) for key, value in event.items() if isinstance(value, str)}
    assert lengths == {
        "application": 63,
        "action": 64,
        "email": 254,
        "reason": 500,
        "ip": 39,
        "userAgent": 512,
        "requestId": 128,
    }
    return event


async def test_the_largest_batch_fits_in_the_default_body_limit(api: Api, tenants: Tenants) -> None:
    application = "a" * 63
    await api.create_application("acme", application)
    event = largest_input(application)
    # The default separators (", " and ": ") make a larger body than most clients send.
    body = json.dumps({"query": RECORD_MANY, "variables": {"inputs": [event] * 1000}}).encode()
    assert 1_500_000 < len(body) <= DEFAULT_BODY_BYTES

    response = await post_raw(api, body, tenants.acme_rw)

    assert response.status_code == 200, response.text[:500]
    assert "errors" not in response.json(), response.text[:500]
    assert response.json()["data"]["recordAuditEvents"]["recorded"] == 1000
    # Creating the application recorded admin.application.created there too.
    stored = await api.all_entries(
        tenants.acme_read, application=application, actions=[event["action"]]
    )
    assert len(stored) == 1000
    assert {key: stored[0][key] for key in event} == event


# --- configurable bounds -------------------------------------------------------------------


async def test_the_depth_bound_is_configurable(limited_api: Api) -> None:
    refused = await limited_api.gql("{ auditLogs { edges { node { id } } } }", token=OPERATOR_TOKEN)
    passed = await limited_api.gql("{ auditLogs { edges { cursor } } }", token=OPERATOR_TOKEN)

    assert refused.code == "GRAPHQL_VALIDATION_FAILED"
    assert "depth of 2" in refused.error["message"]
    assert isinstance(passed.data["auditLogs"]["edges"], list)


async def test_the_alias_bound_is_configurable(limited_api: Api) -> None:
    refused = await limited_api.gql(aliases_query(3), token=OPERATOR_TOKEN)
    passed = await limited_api.gql(aliases_query(2), token=OPERATOR_TOKEN)

    assert refused.code == "GRAPHQL_VALIDATION_FAILED"
    assert len(passed.data) == 2


async def test_the_token_bound_is_configurable(limited_api: Api) -> None:
    refused = await limited_api.gql(plans_query(101), token=OPERATOR_TOKEN)
    passed = await limited_api.gql(plans_query(100), token=OPERATOR_TOKEN)

    assert refused.code == "GRAPHQL_PARSE_FAILED"
    assert passed.data["plans"]


async def test_the_body_bound_is_configurable(limited_api: Api) -> None:
    refused = await post_raw(limited_api, padded_body(LIMITED.body_bytes + 1))
    passed = await post_raw(limited_api, padded_body(LIMITED.body_bytes))

    assert refused.status_code == 413
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert passed.status_code == 200
    assert passed.json()["data"]["plans"]


# --- request forms -------------------------------------------------------------------------


async def test_a_batch_of_operations_is_refused_with_400_and_nothing_is_stored(
    api: Api, tenants: Tenants
) -> None:
    operation = {"query": RECORD_ONE, "variables": {"input": login()}}

    await api.settle()
    response = await api.http.post(
        "/graphql", json=[operation, operation], headers=auth(tenants.acme_rw)
    )

    assert response.status_code == 400
    assert await api.all_ids(OPERATOR_TOKEN) == []


MISSPELLED = "{ auditLogs { edges { nod { id } } } }"


async def test_field_suggestions_are_off_in_production(api: Api, tenants: Tenants) -> None:
    result = await api.gql(MISSPELLED, token=tenants.acme_read)

    assert result.code == "GRAPHQL_VALIDATION_FAILED"
    assert result.error["message"] == "Cannot query field on type 'AuditLogEdge'."
    assert "Did you mean" not in json.dumps(result.body)


async def test_field_suggestions_are_on_in_development(development_api: Api) -> None:
    result = await development_api.gql(MISSPELLED, token=OPERATOR_TOKEN)

    assert result.code == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean 'node'?" in result.error["message"]


async def test_validation_and_parse_errors_keep_their_messages(api: Api, tenants: Tenants) -> None:
    invalid = await api.gql("{ auditLogz { edges { cursor } } }", token=tenants.acme_read)
    unparsable = await api.gql("{ auditLogs( { edges }", token=tenants.acme_read)

    # The unknown name is the client's and may be anything: only the schema's names are quoted.
    assert invalid.error["message"] == "Cannot query field on type 'Query'."
    assert invalid.code == "GRAPHQL_VALIDATION_FAILED"
    assert unparsable.error["message"].startswith("Syntax Error: ")
    assert unparsable.code == "GRAPHQL_PARSE_FAILED"
