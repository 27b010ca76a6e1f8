"""The service audits itself: reads by keys, administration, and revoked keys presented."""

from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.mongo.documents import AuditLogDocument
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


async def test_creating_applications_is_recorded_once_each_in_the_application(
    api: Api, tenants: Tenants
) -> None:
    created = await events(api, "admin.application.created")

    assert sorted(map(where, created)) == [
        ("acme", "admin"),
        ("acme", "portal"),
        ("globex", "shop"),
    ]


async def test_issuing_keys_is_recorded_once_each_naming_the_key_but_never_its_secret(
    api: Api, tenants: Tenants
) -> None:
    key_id, secret = await api.issue_key("globex", ["READ"], "shop")

    issued = await events(api, "admin.api_key.issued")

    assert len(issued) == 6
    mine = [e for e in issued if key_id in e["reason"]]
    assert len(mine) == 1
    assert where(mine[0]) == ("globex", "shop")
    assert mine[0]["reason"] == f"key {key_id} scopes READ"
    assert secret not in str(issued)
    assert {where(e) for e in issued if e is not mine[0]} == {
        ("acme", "_acme"),
        ("acme", "portal"),
        ("globex", "_globex"),
    }


async def test_a_plan_change_is_recorded_with_the_old_and_new_plan(
    api: Api, tenants: Tenants
) -> None:
    await api.operator('mutation { changeAccountPlan(account: "acme", plan: "enterprise") { id } }')

    changed = await events(api, "admin.account.plan_changed")

    assert [(where(e), e["reason"]) for e in changed] == [(("acme", "_acme"), "pro → enterprise")]


async def test_revoking_a_key_is_recorded_once(api: Api, tenants: Tenants) -> None:
    key_id, _ = await api.issue_key("acme", ["READ"], "admin")
    await api.operator("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key_id})

    revoked = await events(api, "admin.api_key.revoked")

    assert [(where(e), e["reason"]) for e in revoked] == [(("acme", "admin"), f"key {key_id}")]


async def test_a_refused_administrative_request_records_nothing(api: Api, tenants: Tenants) -> None:
    before = len(await events(api, "admin.account.created"))

    duplicate = await api.gql(
        'mutation { createAccount(id: "acme", name: "Again", plan: "pro") { id } }',
        token=OPERATOR_TOKEN,
    )

    assert duplicate.code == "CONFLICT"
    assert len(await events(api, "admin.account.created")) == before


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


async def test_a_refused_read_by_a_key_is_recorded_as_a_failure(api: Api, tenants: Tenants) -> None:
    refused = await api.logs(tenants.globex_rw, filter={"account": "acme"})
    assert refused.code == "FORBIDDEN"

    viewed = await events(api, "portal.audit_logs.viewed")

    assert [(where(e), e["success"], e["reason"]) for e in viewed] == [
        (("globex", "_globex"), False, "Forbidden")
    ]


async def test_reads_by_the_operator_are_not_recorded(api: Api, tenants: Tenants) -> None:
    await api.logs(OPERATOR_TOKEN)
    await api.logs(OPERATOR_TOKEN, filter={"account": "acme"})

    assert await events(api, "portal.audit_logs.viewed") == []


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


class TestTheAccountsReservedApplication:
    """`_<account>` holds account-level events; it exists with the account and is read
    and written under the same tenancy rules as any of the account's applications."""

    async def test_an_unbound_key_of_the_account_reads_and_records_there(
        self, api: Api, tenants: Tenants
    ) -> None:
        recorded = await api.record(tenants.acme_rw, application="_acme", action="user.invited")

        assert recorded.data["recordAuditEvent"]["account"] == "acme"
        entries = await api.all_entries(tenants.acme_read, application="_acme")
        assert {e["action"] for e in entries} >= {"admin.account.created", "user.invited"}

    @pytest.mark.parametrize("key", ["acme_portal_only", "globex_rw"])
    async def test_other_keys_may_not_use_it(self, api: Api, tenants: Tenants, key: str) -> None:
        secret = getattr(tenants, key)

        assert (await api.logs(secret, filter={"application": "_acme"})).code == "FORBIDDEN"
        assert (await api.record(secret, application="_acme")).code == "FORBIDDEN"

    async def test_the_operator_cannot_create_an_application_with_a_reserved_id(
        self, api: Api, tenants: Tenants
    ) -> None:
        result = await api.gql(
            'mutation { createApplication(account: "acme", id: "_globex", name: "X") { id } }',
            token=OPERATOR_TOKEN,
        )

        assert result.code == "BAD_USER_INPUT"
        assert result.error["extensions"]["field"] == "id"

    async def test_it_does_not_exist_for_an_unknown_account(
        self, api: Api, tenants: Tenants
    ) -> None:
        assert (await api.record(OPERATOR_TOKEN, application="_nobody")).code == "NOT_FOUND"


async def test_events_still_queued_at_shutdown_are_flushed_before_the_store_closes() -> None:
    # A sender that would linger a minute for a fuller batch: only the shutdown sends it.
    lingering = replace(settings(), interceptor=InterceptorSettings(linger_ms=60_000))
    app = create_app(lingering, Overrides())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            # No settling: the event is still queued when the lifespan ends.
            await Api(http).create_account("initech", "pro")
        assert app.state.services.emitter.pending == 1

    stored = await AuditLogDocument.find({"action": "admin.account.created"}).to_list()
    assert [(d.account, d.application) for d in stored] == [("initech", "_initech")]
