"""Recording over GraphQL: what is stored, when it expires, and that plans fix it at ingestion."""

from datetime import datetime, timedelta

import httpx

from entrypoints.app import Overrides, create_app
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings
from tests.fakes import FakeClock, InMemoryAuditEntries


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def test_recorded_entry_is_returned_with_its_account_taken_from_the_application(
    api: Api, tenants: Tenants
) -> None:
    result = await api.record(
        tenants.acme_rw,
        application="portal",
        action="auth.login",
        success=False,
        email="  Bob@Example.COM ",
        reason="invalid_password",
        ip="2001:DB8::0001",
        userAgent="Mozilla/5.0 (X11; Linux x86_64)",
        requestId="6f1c2b1e-0d7e-4b8e-9a53-3f0c2b9d6a11",
    )

    entry = result.data["recordAuditEvent"]
    assert entry["account"] == "acme"
    assert entry["application"] == "portal"
    assert entry["email"] == "bob@example.com"
    assert entry["success"] is False
    assert entry["reason"] == "invalid_password"
    assert entry["ip"] == "2001:db8::1"
    assert entry["userAgent"] == "Mozilla/5.0 (X11; Linux x86_64)"
    assert entry["requestId"] == "6f1c2b1e-0d7e-4b8e-9a53-3f0c2b9d6a11"


async def test_the_caller_cannot_choose_the_account_of_an_entry(api: Api, tenants: Tenants) -> None:
    result = await api.record(tenants.acme_rw, application="portal", account="globex")

    assert result.code in {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_timestamps_are_utc_milliseconds_and_read_back_exactly(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    clock.set(datetime.fromisoformat("2026-05-04T03:02:01.987654+02:00"))

    recorded = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]
    logins = await api.logs(tenants.acme_rw, filter={"actions": ["auth.login"]})
    listed = logins.data["auditLogs"]["edges"][0]["node"]

    assert recorded["createdAt"] == "2026-05-04T01:02:01.987+00:00"
    assert listed["createdAt"] == recorded["createdAt"]
    assert listed["expiresAt"] == recorded["expiresAt"]
    assert listed == recorded


async def test_expiry_is_creation_plus_the_plan_retention(api: Api, tenants: Tenants) -> None:
    pro = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]
    free = (await api.record(tenants.globex_rw, application="shop")).data["recordAuditEvent"]

    assert parse(pro["expiresAt"]) - parse(pro["createdAt"]) == timedelta(days=90)
    assert parse(free["expiresAt"]) - parse(free["createdAt"]) == timedelta(days=7)


async def test_plan_change_keeps_existing_expiry_and_applies_to_new_entries(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    before = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]

    changed = await api.operator(
        'mutation { changeAccountPlan(account: "acme", plan: "free") '
        "{ id plan { name retentionDays canDownload } } }"
    )
    clock.advance(seconds=1)
    after = (await api.record(tenants.acme_rw, application="portal")).data["recordAuditEvent"]

    assert changed["changeAccountPlan"]["plan"] == {
        "name": "free",
        "retentionDays": 7,
        "canDownload": False,
    }
    stored = {
        edge["node"]["id"]: edge["node"]["expiresAt"]
        for edge in (await api.logs(tenants.acme_rw)).data["auditLogs"]["edges"]
    }
    assert stored[before["id"]] == before["expiresAt"]
    assert parse(before["expiresAt"]) - parse(before["createdAt"]) == timedelta(days=90)
    assert parse(after["expiresAt"]) - parse(after["createdAt"]) == timedelta(days=7)


async def test_the_operator_records_for_any_application(api: Api, tenants: Tenants) -> None:
    result = await api.record(OPERATOR_TOKEN, application="shop", action="mfa.enrolled")

    assert result.data["recordAuditEvent"]["account"] == "globex"


async def test_plans_lists_the_built_in_plans(api: Api, tenants: Tenants) -> None:
    result = await api.gql("{ plans { name retentionDays canDownload } }", token=tenants.acme_read)

    assert result.data["plans"] == [
        {"name": "free", "retentionDays": 7, "canDownload": False},
        {"name": "pro", "retentionDays": 90, "canDownload": True},
        {"name": "enterprise", "retentionDays": 365, "canDownload": True},
    ]


class SizedEntries(InMemoryAuditEntries):
    """A store that is falsy while empty, as any sized collection is."""

    def __len__(self) -> int:
        return len(self.entries)


async def test_an_empty_store_given_to_the_app_is_the_one_it_records_into() -> None:
    entries = SizedEntries()
    application = create_app(settings(), Overrides(clock=FakeClock(), entries=entries))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            api = Api(http, application.state.services.emitter.drain)
            await api.create_account("acme", "pro")
            await api.create_application("acme", "portal")
            key = (await api.issue_key("acme", ["RECORD"]))[1]

            recorded = (await api.record(key, application="portal")).data["recordAuditEvent"]

    assert recorded["id"] in entries.entries
