"""Log streams end to end: created over GraphQL, delivered by the running service to a real
receiver that checks Standard Webhooks signatures with the `standardwebhooks` package, and
each batch verified with the client package's verify_batch against the published keys."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from auditlog_client import BatchInvalid, verify_batch
from fastapi import FastAPI

from entrypoints.app import Overrides, create_app
from entrypoints.settings import StreamSettings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import StoreKind, settings
from tests.e2e.webhook_receiver import Serving, WebhookReceiver
from tests.fakes import FakeClock

STREAM_FIELDS = "id state delivered failedAttempts lastError lagSeconds deliveredThrough"
CREATE = f"""mutation($a: ID!, $i: LogStreamInput!) {{ createLogStream(account: $a, input: $i) {{
  logStream {{ {STREAM_FIELDS} }} signingSecret }} }}"""
LIST = f"{{ logStreams {{ {STREAM_FIELDS} }} }}"


# Every store the service runs on: the embedded SQLite store and the Beanie store (on
# mongomock here; on a real MongoDB the adapter suites run when AUDITLOG_TEST_MONGODB_URI is set).
pytestmark = pytest.mark.parametrize("store_kind", ["sqlite", "memory"])


@pytest.fixture
async def app(clock: FakeClock, store_kind: StoreKind) -> AsyncIterator[FastAPI]:
    configured = dataclasses.replace(
        settings(store=store_kind),
        streams=StreamSettings(
            allowed_private_hosts="127.0.0.1", poll_seconds=0.05, send_timeout_seconds=5
        ),
    )
    application = create_app(configured, Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def acme(api: Api) -> dict[str, str]:
    await api.create_account("acme", "pro")
    await api.create_account("globex", "free")
    await api.create_application("acme", "portal")
    return {
        "writer": (await api.issue_key("acme", ["RECORD", "READ"]))[1],
        "streamer": (await api.issue_key("acme", ["STREAM"]))[1],
    }


@pytest.fixture
def receiver() -> WebhookReceiver:
    return WebhookReceiver()


async def keys(api: Api) -> dict[str, Any]:
    response = await api.http.get("/.well-known/audit-seal-keys.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def test_a_webhook_stream_delivers_every_entry_once_in_order_signed_and_verifiable(
    api: Api, acme: dict[str, str], clock: FakeClock, receiver: WebhookReceiver
) -> None:
    with Serving(receiver):
        created = await api.gql(
            CREATE,
            {"a": "acme", "i": {"name": "SIEM", "kind": "WEBHOOK", "url": receiver.url,
                                "filter": {"application": "portal", "actions": ["auth.login"]}}},
            token=acme["streamer"],
        )  # fmt: skip
        receiver.secret = created.data["createLogStream"]["signingSecret"]
        assert receiver.secret.startswith("whsec_")
        for i in range(130):
            await api.record(acme["writer"], application="portal", requestId=f"r{i}")
        recorded = await api.all_ids(acme["writer"], application="portal", actions=["auth.login"])
        clock.advance(seconds=31)  # past the settle delay
        await receiver.wait_for(130)
    assert receiver.refused == 0
    assert [row["id"] for row in receiver.entries()] == list(reversed(recorded))
    previous = ""
    for got in receiver.received:
        verified = verify_batch(got.body["batch"], got.body["entries"], await keys(api),
                                previous=previous)  # fmt: skip
        assert got.headers["webhook-id"].endswith(f".{verified.sequence}")
        previous = verified.hash
    [listed] = (await api.gql(LIST, token=acme["streamer"])).data["logStreams"]
    assert listed["state"] == "ACTIVE"
    assert listed["delivered"] == 130
    assert listed["lagSeconds"] is not None


async def test_an_altered_or_dropped_entry_fails_the_receivers_verification(
    api: Api, acme: dict[str, str], clock: FakeClock, receiver: WebhookReceiver
) -> None:
    with Serving(receiver):
        created = await api.gql(
            CREATE,
            {"a": "acme", "i": {"name": "SIEM", "kind": "WEBHOOK", "url": receiver.url}},
            token=acme["streamer"],
        )
        receiver.secret = created.data["createLogStream"]["signingSecret"]
        for i in range(3):
            await api.record(acme["writer"], application="portal", requestId=f"r{i}")
        clock.advance(seconds=31)
        await receiver.wait_for(3)
    body = receiver.received[0].body
    published = await keys(api)
    altered = [dict(row) for row in body["entries"]]
    altered[0]["success"] = not altered[0]["success"]
    with pytest.raises(BatchInvalid) as refused:
        verify_batch(body["batch"], altered, published)
    assert refused.value.reason == "ALTERED"
    with pytest.raises(BatchInvalid) as refused:
        verify_batch(body["batch"], body["entries"][1:], published)
    assert refused.value.reason == "DROPPED"


async def test_a_plan_without_streams_is_forbidden_with_its_reason(api: Api, acme: Any) -> None:
    refused = await api.gql(
        CREATE,
        {"a": "globex", "i": {"name": "S", "kind": "WEBHOOK", "url": "https://x.example.com/"}},
        token=OPERATOR_TOKEN,
    )
    assert refused.code == "FORBIDDEN"
    assert refused.error["extensions"]["reason"] == "STREAMS_NOT_IN_PLAN"


async def test_a_private_address_is_refused_at_connect_time_and_the_stream_reports_it(
    api: Api, acme: dict[str, str], clock: FakeClock
) -> None:
    created = await api.gql(
        CREATE,
        # Resolves to loopback, which is not listed: refused when delivery connects.
        {"a": "acme", "i": {"name": "S", "kind": "WEBHOOK", "url": "https://127.0.0.2:9/hook"}},
        token=acme["streamer"],
    )
    assert created.data["createLogStream"]["logStream"]["state"] == "ACTIVE"
    await api.record(acme["writer"], application="portal")
    clock.advance(seconds=31)
    for _ in range(200):
        [listed] = (await api.gql(LIST, token=acme["streamer"])).data["logStreams"]
        if listed["state"] == "FAILING":
            break
        await asyncio.sleep(0.05)
    assert listed["state"] == "FAILING"
    assert listed["lastError"] == "ADDRESS_NOT_ALLOWED"


async def test_http_to_a_host_not_listed_is_refused_naming_the_url(
    api: Api, acme: dict[str, str]
) -> None:
    refused = await api.gql(
        CREATE,
        {"a": "acme", "i": {"name": "S", "kind": "WEBHOOK", "url": "http://10.0.0.7/hook"}},
        token=acme["streamer"],
    )
    assert refused.code == "BAD_USER_INPUT"
    assert refused.error["extensions"]["field"] == "input.url"
    assert (await api.gql(LIST, token=acme["streamer"])).data["logStreams"] == []


async def test_each_change_over_graphql_and_another_tenant_sees_none_of_it(
    api: Api, acme: dict[str, str]
) -> None:
    created = await api.gql(
        CREATE,
        {"a": "acme", "i": {"name": "S", "kind": "WEBHOOK", "url": "https://x.example.com/h"}},
        token=acme["streamer"],
    )
    first = created.data["createLogStream"]
    stream_id = first["logStream"]["id"]
    change = "mutation($id: ID!) {{ {name}(id: $id) {{ {fields} }} }}"
    key = acme["streamer"]

    def done(name: str, fields: str = "state") -> str:
        return change.format(name=name, fields=fields)

    paused = await api.gql(
        done("pauseLogStream", "state pausedReason"), {"id": stream_id}, token=key
    )
    assert paused.data["pauseLogStream"] == {"state": "PAUSED", "pausedReason": "REQUESTED"}
    resumed = await api.gql(done("resumeLogStream"), {"id": stream_id}, token=key)
    assert resumed.data["resumeLogStream"]["state"] == "ACTIVE"
    rotated = await api.gql(
        done("rotateLogStreamSecret", "signingSecret"), {"id": stream_id}, token=key
    )
    assert rotated.data["rotateLogStreamSecret"]["signingSecret"] not in (
        None,
        first["signingSecret"],
    )
    replayed = await api.gql(
        'mutation($id: ID!) { replayLogStream(id: $id, since: "2026-01-01T00:00:00Z") { state } }',
        {"id": stream_id},
        token=key,
    )
    assert replayed.data["replayLogStream"]["state"] == "ACTIVE"
    # Another account's key with the scope: as if the stream did not exist.
    await api.create_account("initech", "pro")
    other = (await api.issue_key("initech", ["STREAM"]))[1]
    for name in ("pauseLogStream", "resumeLogStream", "deleteLogStream"):
        refused = await api.gql(done(name), {"id": stream_id}, token=other)
        assert refused.code == "NOT_FOUND", name
    assert (await api.gql(LIST, token=other)).data["logStreams"] == []
    deleted = await api.gql(done("deleteLogStream", "id"), {"id": stream_id}, token=key)
    assert deleted.data["deleteLogStream"]["id"] == stream_id
    assert (await api.gql(LIST, token=key)).data["logStreams"] == []
    no_scope = (await api.issue_key("acme", ["READ"]))[1]
    assert (await api.gql(LIST, token=no_scope)).code == "FORBIDDEN"


async def test_a_paused_stream_reports_how_many_entries_expired_before_it_could_send_them(
    api: Api, acme: dict[str, str], clock: FakeClock
) -> None:
    created = await api.gql(
        CREATE,
        {"a": "acme", "i": {"name": "S", "kind": "WEBHOOK", "url": "https://x.example.com/h",
                            "filter": {"application": "portal", "actions": ["auth.login"]}}},
        token=acme["streamer"],
    )  # fmt: skip
    stream_id = created.data["createLogStream"]["logStream"]["id"]
    key = acme["streamer"]
    pause = "mutation($id: ID!) { pauseLogStream(id: $id) { expiredUndelivered } }"
    paused = await api.gql(pause, {"id": stream_id}, token=key)
    assert paused.data["pauseLogStream"] == {"expiredUndelivered": 0}
    for i in range(3):
        await api.record(acme["writer"], application="portal", requestId=f"r{i}")
    clock.advance(days=90, seconds=-30)  # the pro plan keeps them 90 days: half a minute left
    listed: dict[str, Any] = {}
    for _ in range(200):
        [listed] = (
            await api.gql("{ logStreams { state delivered expiredUndelivered } }", token=key)
        ).data["logStreams"]
        if listed["expiredUndelivered"]:
            break
        await asyncio.sleep(0.05)
    assert listed == {"state": "PAUSED", "delivered": 0, "expiredUndelivered": 3}
