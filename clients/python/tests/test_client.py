"""The typed client: what it asks, how it follows pages, and the errors it raises."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from auditlog_client import AuditLogClient, AuditLogError, Event, LogFilter
from client_support import node

Handler = Callable[[httpx.Request], httpx.Response]


def client_answering(handler: Handler) -> AuditLogClient:
    transport = httpx.MockTransport(handler)
    return AuditLogClient("http://audit.test", api_key="alk_key", transport=transport)


def sent(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


def page(ids: list[str], end: str | None, more: bool) -> dict[str, Any]:
    return {
        "data": {
            "auditLogs": {
                "edges": [{"cursor": i, "node": node(id=i)} for i in ids],
                "pageInfo": {"hasNextPage": more, "endCursor": end},
            }
        }
    }


async def test_record_sends_the_event_stamped_with_the_key_and_returns_the_entry() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"recordAuditEvent": node()}})

    async with client_answering(handler) as client:
        entry = await client.record(Event(application="portal", action="auth.login", success=True))

    [request] = seen
    assert request.headers["authorization"] == "Bearer alk_key"
    given = sent(request)["variables"]["input"]
    assert given["idempotencyKey"]
    assert given["occurredAt"].endswith("+00:00")
    assert entry.id == "e1"


async def test_record_many_sends_one_batch_and_returns_its_entries() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(sent(request))
        entries = [node(id="e1"), node(id="e2")]
        return httpx.Response(
            200, json={"data": {"recordAuditEvents": {"recorded": 2, "entries": entries}}}
        )

    events = [Event(application="portal", action="auth.login", success=True)] * 2
    async with client_answering(handler) as client:
        entries = await client.record_many(events)

    [body] = seen
    assert "recordAuditEvents(inputs: $inputs)" in body["query"]
    keys = [given["idempotencyKey"] for given in body["variables"]["inputs"]]
    assert len(set(keys)) == 2
    assert [e.id for e in entries] == ["e1", "e2"]


async def test_pages_follow_the_end_cursor_until_there_is_no_next_page() -> None:
    asked: list[dict[str, Any]] = []
    answers = [page(["a", "b"], "c2", True), page(["c"], "c3", False)]

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(sent(request)["variables"])
        return httpx.Response(200, json=answers[len(asked) - 1])

    async with client_answering(handler) as client:
        pages = [p async for p in client.pages(LogFilter(actor_id="user_1"), order="OLDEST_FIRST")]

    assert [[e.id for e in p.entries] for p in pages] == [["a", "b"], ["c"]]
    assert [p.end_cursor for p in pages] == ["c2", "c3"]
    assert [v["after"] for v in asked] == [None, "c2"]
    assert {v["order"] for v in asked} == {"OLDEST_FIRST"}
    assert asked[0]["filter"] == {"actorId": "user_1"}


async def test_pages_start_after_a_cursor_kept_from_an_earlier_poll() -> None:
    asked: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(sent(request)["variables"])
        return httpx.Response(200, json=page([], None, False))

    async with client_answering(handler) as client:
        [only] = [p async for p in client.pages(order="OLDEST_FIRST", after="kept")]

    assert asked[0]["after"] == "kept"
    assert (only.entries, only.end_cursor, only.has_next_page) == ([], None, False)


def refusal(**extensions: Any) -> Handler:
    body = {"errors": [{"message": "inputs[1].email: must be an email", "extensions": extensions}]}
    return lambda request: httpx.Response(200, json=body)


async def test_a_refusal_is_an_error_with_the_services_code_reason_field_and_index() -> None:
    handler = refusal(code="CONFLICT", reason="IDEMPOTENCY_KEY_REUSED", field="inputs[1]", index=1)

    async with client_answering(handler) as client:
        with pytest.raises(AuditLogError) as raised:
            await client.record(Event(application="portal", action="auth.login", success=True))

    error = raised.value
    assert (error.code, error.reason, error.field, error.index) == (
        "CONFLICT",
        "IDEMPOTENCY_KEY_REUSED",
        "inputs[1]",
        1,
    )
    assert error.transient is False


@pytest.mark.parametrize(
    ("handler", "code", "transient"),
    [
        (refusal(code="STORE_UNAVAILABLE"), "STORE_UNAVAILABLE", True),
        (refusal(code="RATE_LIMITED", retryAfterSeconds=3), "RATE_LIMITED", True),
        (refusal(code="BAD_USER_INPUT"), "BAD_USER_INPUT", False),
        (lambda request: httpx.Response(503, text="busy"), "HTTP 503", True),
        (lambda request: httpx.Response(401, json={}), "HTTP 401", False),
        (lambda request: httpx.Response(200, text="<html>"), "unreadable response", True),
    ],
    ids=["store-unavailable", "rate-limited", "bad-input", "503", "401", "not-json"],
)
async def test_each_failure_says_whether_sending_again_may_succeed(
    handler: Handler, code: str, transient: bool
) -> None:
    async with client_answering(handler) as client:
        with pytest.raises(AuditLogError) as raised:
            [p async for p in client.pages()]

    assert (raised.value.code, raised.value.transient) == (code, transient)


async def test_no_answer_is_a_transient_error_named_by_its_cause() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client_answering(refuse) as client:
        with pytest.raises(AuditLogError) as raised:
            await client.record_many([Event(application="p", action="a", success=True)])

    assert (raised.value.code, raised.value.transient) == ("ConnectError", True)
