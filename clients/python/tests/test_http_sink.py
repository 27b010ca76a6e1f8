"""The HTTP sink: what it sends, and which answers it calls transient or permanent."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from auditlog_client import (
    AuditEmitter,
    Event,
    GraphQLHttpSink,
    PermanentSinkError,
    TransientSinkError,
)
from client_support import emitter_config

EVENTS = [
    Event(application="portal", action="auth.login", success=True, email="Bob@Example.com"),
    Event(application="portal", action="auth.login", success=False, reason="bad_password",
          user_agent="curl/8", request_id="r-1", ip="203.0.113.9"),
]  # fmt: skip


def sink_answering(handler: Callable[[httpx.Request], httpx.Response]) -> GraphQLHttpSink:
    return GraphQLHttpSink(
        "http://audit.test", api_key="alk_key", transport=httpx.MockTransport(handler)
    )


def graphql(body: dict[str, Any], status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


async def test_a_batch_is_one_recordAuditEvents_request_with_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"recordAuditEvents": {"recorded": 2}}})

    await sink_answering(handler).send(EVENTS, delivery_id="d-1")

    [request] = seen
    assert request.url.path == "/graphql"
    assert request.headers["authorization"] == "Bearer alk_key"
    payload = json.loads(request.content)
    assert "recordAuditEvents(inputs: $inputs)" in payload["query"]
    assert payload["variables"]["inputs"] == [
        {"application": "portal", "action": "auth.login", "success": True,
         "email": "Bob@Example.com"},
        {"application": "portal", "action": "auth.login", "success": False,
         "reason": "bad_password", "ip": "203.0.113.9", "userAgent": "curl/8",
         "requestId": "r-1"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    "handler",
    [
        graphql({}, status=503),
        graphql({}, status=502),
        graphql({}, status=429),
        graphql({"errors": [{"message": "m", "extensions": {"code": "STORE_UNAVAILABLE"}}]}),
        lambda request: httpx.Response(200, content=b"<html>proxy error</html>"),
    ],
    ids=["503", "502", "429", "store-unavailable", "not-json"],
)
async def test_answers_worth_retrying_are_transient(
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    with pytest.raises(TransientSinkError):
        await sink_answering(handler).send(EVENTS, delivery_id="d-1")


async def test_a_network_failure_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientSinkError):
        await sink_answering(refuse).send(EVENTS, delivery_id="d-1")


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (graphql({"errors": [{"message": "m", "extensions": {"code": "FORBIDDEN"}}]}),
         "FORBIDDEN"),
        (graphql({"errors": [{"message": "m", "extensions": {"code": "UNAUTHENTICATED"}}]}),
         "UNAUTHENTICATED"),
        (graphql({"errors": [{"message": "m", "extensions": {"code": "BAD_USER_INPUT"}}]}),
         "BAD_USER_INPUT"),
        (graphql({}, status=400), "HTTP 400"),
        (graphql({}, status=404), "HTTP 404"),
    ],
)  # fmt: skip
async def test_answers_that_would_fail_again_are_permanent(
    handler: Callable[[httpx.Request], httpx.Response], code: str
) -> None:
    with pytest.raises(PermanentSinkError) as raised:
        await sink_answering(handler).send(EVENTS, delivery_id="d-1")

    assert raised.value.code == code


async def test_a_retry_after_a_lost_answer_sends_the_same_events_with_the_same_keys() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:  # the service got it; its answer never came back
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json={"data": {"recordAuditEvents": {"recorded": 2}}})

    sink = sink_answering(handler)
    emitter = AuditEmitter(sink, emitter_config(linger_seconds=0, backoff_base_seconds=0.001))
    emitter.start()
    for _ in range(2):
        emitter.emit(Event(application="portal", action="auth.login", success=True))
    assert await emitter.stop() == 0

    first, retry = bodies
    assert retry["variables"] == first["variables"]
    keys = [given["idempotencyKey"] for given in first["variables"]["inputs"]]
    assert len(set(keys)) == 2
    assert all(given["occurredAt"] for given in first["variables"]["inputs"])


async def test_a_key_reused_for_another_event_is_permanent() -> None:
    refused = {
        "errors": [
            {
                "message": "m",
                "extensions": {"code": "CONFLICT", "reason": "IDEMPOTENCY_KEY_REUSED"},
            }
        ]
    }

    with pytest.raises(PermanentSinkError) as raised:
        await sink_answering(graphql(refused)).send(EVENTS, delivery_id="d-1")

    assert raised.value.code == "CONFLICT"
