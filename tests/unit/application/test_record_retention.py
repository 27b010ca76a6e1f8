"""Retention is fixed at ingestion from the account's plan, and never recalculated."""

from datetime import UTC, datetime, timedelta

import pytest

from application.access.principal import Principal
from application.errors import PlanNotConfigured
from application.reading.criteria import LogFilter
from application.services import Services
from domain.tenancy import Account, Application
from tests.fakes import FakeClock, InMemoryAccounts, InMemoryApplications, InMemoryAuditEntries
from tests.unit.application.support import Recorder, read_ids

pytestmark = pytest.mark.usefixtures("tenants")


async def test_created_at_is_the_clock_time_truncated_to_milliseconds(
    operator: Principal, record: Recorder, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC))
    entry = await record(operator, "acme-web")
    assert entry.created_at == datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(("application", "days"), [("acme-web", 90), ("globex-web", 7)])
async def test_expires_at_follows_the_accounts_plan_at_ingestion(
    operator: Principal, record: Recorder, application: str, days: int
) -> None:
    entry = await record(operator, application)
    assert entry.expires_at == entry.created_at + timedelta(days=days)


async def test_plan_change_keeps_existing_expiry_and_applies_to_new_entries(
    services: Services,
    operator: Principal,
    record: Recorder,
    entries: InMemoryAuditEntries,
    clock: FakeClock,
) -> None:
    before = await record(operator, "acme-web")
    await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan="free"
    )
    clock.advance(hours=1)
    after = await record(operator, "acme-web")

    assert entries.entries[before.id].expires_at == before.created_at + timedelta(days=90)
    assert after.expires_at == after.created_at + timedelta(days=7)


async def test_upgrading_the_plan_does_not_extend_entries_already_stored(
    services: Services, operator: Principal, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    before = await record(operator, "globex-web")
    await services.administration.change_account_plan.execute(
        operator, account_id="globex", plan="enterprise"
    )
    after = await record(operator, "globex-web")

    assert entries.entries[before.id].expires_at == before.created_at + timedelta(days=7)
    assert after.expires_at == after.created_at + timedelta(days=365)


async def test_entry_kept_past_a_downgrade_stays_readable_until_its_own_expiry(
    services: Services, operator: Principal, record: Recorder, clock: FakeClock
) -> None:
    kept = await record(operator, "acme-web")
    await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan="free"
    )
    clock.advance(days=30)
    assert await read_ids(services, operator, LogFilter(account="acme")) == [kept.id]


async def test_account_on_a_plan_missing_from_the_catalog_cannot_record(
    operator: Principal,
    record: Recorder,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    entries: InMemoryAuditEntries,
) -> None:
    await accounts.add(Account(id="legacy", name="Legacy", plan="gold"))
    await applications.add(Application(id="legacy-web", account="legacy", name="Web"))
    with pytest.raises(PlanNotConfigured) as raised:
        await record(operator, "legacy-web")
    assert raised.value.plan == "gold"
    assert entries.entries == {}
