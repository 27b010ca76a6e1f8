"""The service audits itself, over HTTP: that each kind of its own event is wired (an
administrative change, a read with the request's origin, a revoked key presented, an unknown
secret counted on /metrics), and that queued events are flushed at shutdown.

Which action goes to which trail with which fields, for every use case, is specified against
the use cases in tests/unit/application/test_self_audit.py."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.outbound.data_dir import DATABASE_FILE
from adapters.outbound.sqlite.store import SqliteStore
from application.reading.criteria import EntryCriteria, LogFilter
from entrypoints.app import Overrides, create_app
from entrypoints.settings import InterceptorSettings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings
from tests.telemetry import scraped


async def events(api: Api, action: str) -> list[dict[str, Any]]:
    """Every entry with this action, as the operator sees it."""
    return await api.all_entries(OPERATOR_TOKEN, actions=[action])


def where(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["account"], entry["application"]


async def test_creating_an_account_is_recorded_once_in_its_own_trail(
    api: Api, tenants: Tenants
) -> None:
    created = await events(api, "admin.account.created")

    assert sorted(map(where, created)) == [("acme", "_acme"), ("globex", "_globex")]
    assert {e["reason"] for e in created} == {"plan pro", "plan free"}
    assert all(e["success"] for e in created)


async def test_each_read_by_a_key_is_recorded_once_with_where_it_came_from(
    api: Api, tenants: Tenants
) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "{ auditLogs { edges { cursor } } }"},
        headers={
            "Authorization": f"Bearer {tenants.acme_read}",
            "User-Agent": "SecurityReview/1.0",
            "X-Request-ID": "review-42",
        },
    )
    assert response.json()["data"]
    await api.logs(tenants.acme_portal_only)

    viewed = await events(api, "portal.audit_logs.viewed")

    assert sorted(map(where, viewed)) == [("acme", "_acme"), ("acme", "portal")]
    by_key = next(e for e in viewed if e["application"] == "_acme")
    assert by_key["success"] is True
    assert by_key["userAgent"] == "SecurityReview/1.0"
    assert by_key["requestId"] == "review-42"
    assert by_key["ip"] == "127.0.0.1"


async def test_a_revoked_key_presented_is_recorded_in_its_account(
    api: Api, tenants: Tenants
) -> None:
    key_id, secret = await api.issue_key("acme", ["READ"])
    await api.operator("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key_id})

    result = await api.gql("{ plans { name } auditLogs { edges { cursor } } }", token=secret)

    assert {e["extensions"]["code"] for e in result.body["errors"]} == {"UNAUTHENTICATED"}
    rejected = await events(api, "auth.api_key.rejected")
    assert [(where(e), e["success"], e["reason"]) for e in rejected] == [
        (("acme", "_acme"), False, "revoked")
    ]


async def test_an_unknown_secret_is_counted_but_has_no_tenant_to_record_under(
    app: FastAPI, api: Api, tenants: Tenants
) -> None:
    unknown = "auditlog_unknown_credentials_total"
    counted = await scraped(api.http, unknown)

    await api.logs("alk_0123456789abcdef_" + "A" * 43)
    await api.logs("something-else")

    assert await scraped(api.http, unknown) == counted + 2
    assert await events(api, "auth.api_key.rejected") == []


async def test_an_application_id_reserved_for_an_account_is_refused_on_field_id(
    api: Api, tenants: Tenants
) -> None:
    result = await api.gql(
        'mutation { createApplication(account: "acme", id: "_globex", name: "X") { id } }',
        token=OPERATOR_TOKEN,
    )

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == "id"


async def test_events_still_queued_at_shutdown_are_flushed_before_the_store_closes() -> None:
    # A sender that would linger a minute for a fuller batch: only the shutdown sends it.
    lingering = replace(settings(), interceptor=InterceptorSettings(linger_ms=60_000))
    data = lingering.store.data_dir
    app = create_app(lingering, Overrides())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            # No settling: the event is still queued when the lifespan ends.
            await Api(http).create_account("initech", "pro")
        assert app.state.services.emitter.pending == 1

    # Read back from the file, by a store opened after the service's was closed.
    reopened = await SqliteStore.open(
        data / DATABASE_FILE, busy_timeout_ms=1_000, ttl_sweep_seconds=3_600
    )
    try:
        stored = [
            entry
            async for batch in reopened.entries.stream(
                EntryCriteria(LogFilter(actions=("admin.account.created",))),
                now=datetime.now(UTC),
            )
            for entry in batch
        ]
    finally:
        await reopened.close()
    assert [(e.account, e.application) for e in stored] == [("initech", "_initech")]
