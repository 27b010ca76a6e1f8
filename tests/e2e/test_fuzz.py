"""Fuzz: random and hostile GraphQL variables at every input field never break the service.

Hypothesis drives synchronous tests, so the app does not use pytest-asyncio's per-test loop:
one event loop, one app (lifespan started) and one client live for the whole module, and
every example runs on that loop. Whatever is thrown at recordAuditEvent, recordAuditEvents or
auditLogs, the answer is below 500, every error carries a known code (never
INTERNAL_SERVER_ERROR) and no traceback, and a request that errs stores nothing.
"""

import asyncio
import json
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from entrypoints.app import create_app
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import settings as app_settings

KNOWN_CODES = {
    "BAD_USER_INPUT",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "FORBIDDEN",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "RATE_LIMITED",
}
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', '.py", line ')

RECORD_ONE = "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id } }"
RECORD_MANY = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded entries { id } }
}"""
AUDIT_LOGS = """query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id action email reason userAgent requestId } }
    pageInfo { hasNextPage endCursor }
  }
}"""

T = TypeVar("T")


@dataclass
class Keys:
    acme_rw: str
    acme_portal_only: str
    globex_rw: str
    acme_revoked: str


class Harness:
    """One loop, one app, one client: started once, closed once."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._stack = AsyncExitStack()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def start(self) -> None:
        app = create_app(app_settings())
        await self._stack.enter_async_context(app.router.lifespan_context(app))
        http = await self._stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://audit.test")
        )
        self.api = api = Api(http, app.state.services.emitter.drain)
        await api.create_account("acme", "pro")
        await api.create_account("globex", "free")
        for account, application in (("acme", "portal"), ("acme", "admin"), ("globex", "shop")):
            await api.create_application(account, application)
        revoked_id, revoked = await api.issue_key("acme", ["RECORD", "READ"])
        await api.operator(
            "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": revoked_id}
        )
        self.keys = Keys(
            acme_rw=(await api.issue_key("acme", ["RECORD", "READ"]))[1],
            acme_portal_only=(await api.issue_key("acme", ["RECORD", "READ"], "portal"))[1],
            globex_rw=(await api.issue_key("globex", ["RECORD", "READ"]))[1],
            acme_revoked=revoked,
        )

    async def close(self) -> None:
        await self._stack.aclose()

    def shutdown(self) -> None:
        try:
            self.run(self.close())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    harness = Harness()
    try:
        harness.run(harness.start())
        yield harness
    finally:
        harness.shutdown()


# --- values ----------------------------------------------------------------------------------

CREDENTIAL_SHAPED = st.sampled_from(
    [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Bearer 7f3kQ9zLmP2xW8vR4nTq",
        "Basic dXNlcjpwYXNzd29yZA==",
        "password=hunter2",
        "api_key: 0a1b2c3d",
        "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "xoxb-2631264-4830215-Dv7wq2LpFzT",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "-----BEGIN RSA PRIVATE KEY-----",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "GuJlYy2UqGlu5XtTL-YJv_ZejJZI9hYN92y6n_b6-fM",
    ]
)
HOSTILE_CHARACTERS = st.sampled_from(
    ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u202e", "\u2066", "\u2069", "\u200b", "\u2028",
     "\ufeff", "\U000e0001", "\ufffd", "\u0301", "'", '"', "\\", "{", "}", "$", "%", "\U0001f512"]
)  # fmt: skip
PLAUSIBLE = st.sampled_from(
    ["", " ", "auth.login", "portal", "admin", "shop", "_acme", "_globex", "nowhere", "ACME",
     "bob@example.com", " Bob@Example.COM ", "127.0.0.1", "::1", "2026-01-31T12:00:00Z",
     "2026-01-31T12:00:00", "null", "true", "0", "-1", "NaN", "__typename", "$input"]
)  # fmt: skip


def mixed(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of `strategies`, each about equally often.

    (`st.one_of` flattens nested `one_of`s, so one_of(valid, ANY) would draw from ANY's many
    branches nearly every time, and valid requests or hostile text would hardly be tried.)
    """
    return st.integers(0, len(strategies) - 1).flatmap(lambda i: strategies[i])


UNICODE = st.characters(codec="utf-8")  # no surrogates: UTF-8 (so JSON) cannot carry them
LONG = st.builds(
    lambda unit, times: unit * times,
    st.text(UNICODE, min_size=1, max_size=8),
    st.integers(60, 4_000),
)
IN_PROSE = st.builds(
    lambda before, secret: f"{before} {secret} ok", st.text(UNICODE, max_size=20), CREDENTIAL_SHAPED
)
TEXT = mixed(
    st.text(UNICODE),
    st.text(mixed(UNICODE, HOSTILE_CHARACTERS), min_size=1),
    LONG,
    CREDENTIAL_SHAPED,
    IN_PROSE,
    PLAUSIBLE,
)
NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
)
SCALAR = mixed(TEXT, NOT_TEXT)
WRONG_SHAPE = st.one_of(
    st.lists(SCALAR, max_size=4),
    st.dictionaries(st.text(UNICODE, max_size=12), SCALAR, max_size=4),
)
ANY = mixed(TEXT, TEXT, NOT_TEXT, WRONG_SHAPE)

# Each field's valid values; some are refused for some callers (another account's
# application, an unknown one), which is part of the point.
VALID_EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "application": st.sampled_from(["portal", "admin", "portal", "shop", "_acme", "nowhere"]),
    "action": st.sampled_from(["auth.login", "mfa.enrolled", "user.password.reset"]),
    "success": st.booleans(),
    "email": st.sampled_from([None, "bob@example.com", " Bob@Example.COM ", "josé@exämple.de"]),
    "reason": st.sampled_from([None, "", "too many attempts", "password reset requested"]),
    "ip": st.sampled_from([None, "127.0.0.1", " ::1 ", "2001:db8::1"]),
    "userAgent": st.sampled_from([None, "curl/8.7.1", "Mozilla/5.0 (X11; Linux x86_64)"]),
    "requestId": st.sampled_from([None, "123e4567-e89b-12d3-a456-426614174000"]),
}
# Fields the schema does not have, as a client might misspell them.
UNKNOWN_FIELDS = ["user_agent", "account", "createdAt", "id", "__typename"]
# What an attacked field gets: mostly text, which passes GraphQL's coercion of a String and
# so reaches the service's own rules; else anything at all.
ATTACK = mixed(TEXT, TEXT, ANY)

VALID_EVENTS = st.fixed_dictionaries(VALID_EVENT_FIELDS)


@st.composite
def one_field_attacked(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event but for one field: the rules of that field are what is tried."""
    event = draw(VALID_EVENTS)
    event[draw(st.sampled_from(list(VALID_EVENT_FIELDS)))] = draw(ATTACK)
    return event


@st.composite
def many_fields_attacked(draw: st.DrawFn) -> dict[str, Any]:
    """Some fields replaced by anything, one maybe dropped, some maybe invented."""
    event = draw(VALID_EVENTS)
    fields = [*VALID_EVENT_FIELDS, *UNKNOWN_FIELDS]
    for field in draw(st.sets(st.sampled_from(fields), min_size=1, max_size=4)):
        event[field] = draw(ANY)
    for field in draw(st.sets(st.sampled_from(list(VALID_EVENT_FIELDS)), max_size=1)):
        del event[field]
    return event


EVENT_VARIABLE = mixed(
    VALID_EVENTS, one_field_attacked(), one_field_attacked(), many_fields_attacked(), ANY
)
BATCH_VARIABLE = mixed(
    st.lists(VALID_EVENTS, min_size=1, max_size=5),
    st.lists(mixed(VALID_EVENTS, one_field_attacked()), min_size=1, max_size=5),
    st.lists(mixed(VALID_EVENTS, many_fields_attacked(), ANY), max_size=5),
    ANY,
)

VALID_FILTER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "account": st.sampled_from([None, "acme", "globex", "nowhere"]),
    "application": st.sampled_from([None, "portal", "shop", "_acme"]),
    "actions": st.sampled_from([None, ["auth.login"], ["auth.login", "mfa.enrolled"]]),
    "email": st.sampled_from([None, "bob@example.com", " BOB@example.com "]),
    "success": st.sampled_from([None, True, False]),
    "since": st.sampled_from([None, "2020-01-01T00:00:00Z", "2026-01-31T12:00:00+02:00"]),
    "until": st.sampled_from([None, "2100-01-01T00:00:00Z"]),
}
VALID_FILTERS = st.fixed_dictionaries(VALID_FILTER_FIELDS)
VALID_FIRST = st.sampled_from([None, 1, 50, 500])


@st.composite
def audit_logs_variables(draw: st.DrawFn) -> dict[str, Any]:
    """Valid variables, then one filter field, `first`, `after`, or many things attacked."""
    variables = {
        "filter": draw(mixed(st.none(), VALID_FILTERS)),
        "first": draw(VALID_FIRST),
        "after": None,
    }
    target = draw(st.sampled_from([None, "filter", "first", "after", "many"]))
    if target == "filter":
        field = draw(st.sampled_from(list(VALID_FILTER_FIELDS)))
        value = draw(mixed(ATTACK, st.lists(ATTACK, max_size=60)))
        variables["filter"] = {**(variables["filter"] or {}), field: value}
    elif target == "first":
        variables["first"] = draw(mixed(st.integers(), ANY))
    elif target == "after":
        variables["after"] = draw(ATTACK)
    elif target == "many":
        fields = [*VALID_FILTER_FIELDS, "createdAt"]
        wanted = draw(VALID_FILTERS)
        for field in draw(st.sets(st.sampled_from(fields), min_size=1, max_size=4)):
            wanted[field] = draw(mixed(ANY, st.lists(ANY, max_size=60)))
        variables.update(filter=draw(mixed(st.just(wanted), ANY)), first=draw(ANY))
    return variables


# --- the checks ------------------------------------------------------------------------------

# Mostly callers allowed to record and read, so that requests get past authorisation.
CALLERS = mixed(
    st.just("operator"),
    st.just("acme_rw"),
    st.sampled_from(["acme_portal_only", "globex_rw", "acme_revoked"]),
)
SELF_AUDIT = ("admin.", "portal.audit_logs.", "auth.api_key.")


def token_of(harness: Harness, caller: str) -> str:
    return OPERATOR_TOKEN if caller == "operator" else str(getattr(harness.keys, caller))


ACTIONS_PAGE = """query($after: String) {
  auditLogs(first: 500, after: $after) {
    edges { node { action } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def stored(api: Api) -> int:
    """How many entries the operator sees, but the service's own events.

    (Api.all_ids asks for every field of every entry; only the action is needed here, and
    this runs twice per example.)
    """
    count, after = 0, None
    while True:
        page = (await api.gql(ACTIONS_PAGE, {"after": after}, token=OPERATOR_TOKEN)).data
        edges = page["auditLogs"]["edges"]
        count += sum(not edge["node"]["action"].startswith(SELF_AUDIT) for edge in edges)
        if not page["auditLogs"]["pageInfo"]["hasNextPage"]:
            return count
        after = page["auditLogs"]["pageInfo"]["endCursor"]


async def exchange(
    harness: Harness, caller: str, query: str, variables: dict[str, Any]
) -> tuple[httpx.Response, int, int]:
    api = harness.api
    before = await stored(api)
    await api.settle()
    response = await api.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token_of(harness, caller)}"},
    )
    after = await stored(api)
    return response, before, after


def checked(response: httpx.Response, before: int, after: int) -> dict[str, Any] | None:
    """Check the invariants; return the data of a response without errors, else None."""
    assert response.status_code < 500, response.text[:500]
    assert not any(marker in response.text for marker in TRACEBACK_MARKERS), response.text[:500]
    body = response.json()
    errors = body.get("errors") or []
    for error in errors:
        code = error.get("extensions", {}).get("code")
        assert code in KNOWN_CODES, error
        assert not any(marker in error["message"] for marker in TRACEBACK_MARKERS), error
    if errors or response.status_code != 200:
        assert after == before, f"stored {after - before} entries despite {errors}"
        return None
    data: dict[str, Any] = body["data"]
    return data


def outcome(response: httpx.Response) -> str:
    """What happened, for --hypothesis-show-statistics: 'ok' or the error codes."""
    errors = response.json().get("errors") or []
    return " ".join(sorted({e["extensions"]["code"] for e in errors})) or "ok"


FUZZ = settings(
    max_examples=150,
    deadline=None,
    # No explain phase: on a failure it replays the example ~150 times, each a request.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(caller=CALLERS, payload=EVENT_VARIABLE)
def test_record_audit_event_survives_anything(harness: Harness, caller: str, payload: Any) -> None:
    response, before, after = harness.run(exchange(harness, caller, RECORD_ONE, {"input": payload}))

    data = checked(response, before, after)

    event(outcome(response))
    if data is not None:
        assert data["recordAuditEvent"]["id"]
        assert after == before + 1


@FUZZ
@given(caller=CALLERS, inputs=BATCH_VARIABLE)
def test_record_audit_events_survives_anything(harness: Harness, caller: str, inputs: Any) -> None:
    response, before, after = harness.run(
        exchange(harness, caller, RECORD_MANY, {"inputs": inputs})
    )

    data = checked(response, before, after)

    event(outcome(response))
    if data is not None:
        recorded = data["recordAuditEvents"]["recorded"]
        assert recorded == len(inputs) == len(data["recordAuditEvents"]["entries"])
        assert after == before + recorded


@FUZZ
@given(caller=CALLERS, variables=audit_logs_variables())
def test_audit_logs_survives_anything(
    harness: Harness, caller: str, variables: dict[str, Any]
) -> None:
    response, before, stored_after = harness.run(exchange(harness, caller, AUDIT_LOGS, variables))

    data = checked(response, before, stored_after)

    event(outcome(response))
    assert stored_after == before  # reading never records (but the service's own events)
    if data is not None:
        assert isinstance(data["auditLogs"]["edges"], list)


def test_the_checks_catch_what_they_name() -> None:
    """The invariants are not vacuous: each one refuses a response that breaks it."""
    request = httpx.Request("POST", "http://audit.test/graphql")

    def response(status: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(body).encode(), request=request)

    masked = {
        "data": None,
        "errors": [{"message": "x", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
    }
    uncoded = {"data": None, "errors": [{"message": "x"}]}
    traceback = {
        "data": None,
        "errors": [
            {
                "message": 'Traceback (most recent call last):\n  File "/x.py", line 1',
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    refused = {"data": None, "errors": [{"message": "x", "extensions": {"code": "FORBIDDEN"}}]}

    for status, body, before, after in [
        (500, {"data": None}, 0, 0),
        (200, masked, 0, 0),
        (200, uncoded, 0, 0),
        (200, traceback, 0, 0),
        (200, refused, 0, 1),
    ]:
        with pytest.raises(AssertionError):
            checked(response(status, body), before, after)
    assert checked(response(200, refused), 3, 3) is None
    assert checked(response(200, {"data": {"x": 1}}), 3, 4) == {"x": 1}
