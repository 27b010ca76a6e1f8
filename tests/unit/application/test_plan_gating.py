"""Plan gating: which plans may export, that a link follows the account's plan as it is when
the link is used, and that an account whose plan this deployment no longer configures can
neither record nor export (PlanNotConfigured, without naming the plan). Retention per plan
is in test_record_retention.py; the plans file is the adapter's (tests/adapters)."""

from dataclasses import replace

import pytest

from application.access.plans import EXPORT_NOT_IN_PLAN
from application.access.principal import Principal
from application.errors import BatchItemError, Forbidden, PlanNotConfigured
from application.exporting.grant import ExportFormat
from application.reading.criteria import LogFilter
from application.services import Services
from domain.entry import AuditEvent
from domain.plan import DEFAULT_PLANS, Plan
from tests.fakes import InMemoryAccounts, InMemoryAuditEntries

pytestmark = pytest.mark.usefixtures("tenants")

ACME = LogFilter(account="acme")


async def request(services: Services, principal: Principal, wanted: LogFilter = ACME) -> str:
    link = await services.export.request.execute(principal, wanted, ExportFormat.NDJSON)
    return link.token


async def downloaded(services: Services, token: str) -> int:
    export = await services.export.download.execute(token)
    return len([entry async for entry in export.entries])


async def change_plan(services: Services, operator: Principal, plan: str) -> None:
    await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan=plan
    )


@pytest.mark.parametrize("plan", DEFAULT_PLANS, ids=lambda p: p.name)
async def test_an_account_may_export_exactly_when_its_plan_allows_download(
    services: Services, operator: Principal, plan: Plan
) -> None:
    name = plan.name
    await change_plan(services, operator, name)

    if plan.auditlog.can_download:
        assert await downloaded(services, await request(services, operator)) >= 0
    else:
        with pytest.raises(Forbidden) as refused:
            await request(services, operator)
        assert refused.value.reason == EXPORT_NOT_IN_PLAN
        assert name in str(refused.value)


def test_only_the_free_plan_has_no_download() -> None:
    assert {p.name for p in DEFAULT_PLANS if not p.auditlog.can_download} == {"free"}


async def test_a_downgrade_closes_links_already_handed_out(
    services: Services, operator: Principal
) -> None:
    token = await request(services, operator)
    await change_plan(services, operator, "free")

    with pytest.raises(Forbidden) as refused:
        await services.export.download.execute(token)
    assert refused.value.reason == EXPORT_NOT_IN_PLAN


async def test_an_upgrade_allows_export_at_once(services: Services, operator: Principal) -> None:
    with pytest.raises(Forbidden):
        await request(services, operator, LogFilter(account="globex"))
    await services.administration.change_account_plan.execute(
        operator, account_id="globex", plan="pro"
    )

    token = await request(services, operator, LogFilter(account="globex"))
    assert await downloaded(services, token) >= 0


# --- a plan this deployment no longer configures -------------------------------------------


def unconfigure(accounts: InMemoryAccounts, account: str = "acme") -> None:
    """As after a restart with a plans file that no longer defines the account's plan."""
    accounts.accounts[account] = replace(accounts.accounts[account], plan="gold")


def refused_without_naming_it(raised: pytest.ExceptionInfo[PlanNotConfigured]) -> None:
    assert raised.value.plan == "gold"
    assert str(raised.value) == "the account's plan is not configured on this deployment"


async def test_an_account_whose_plan_is_gone_records_nothing_single_or_batch(
    services: Services,
    operator: Principal,
    accounts: InMemoryAccounts,
    entries: InMemoryAuditEntries,
) -> None:
    stored = len(entries.entries)
    unconfigure(accounts)
    event = AuditEvent(application="acme-web", action="auth.login", success=True)
    other = AuditEvent(application="globex-web", action="auth.login", success=True)

    with pytest.raises(PlanNotConfigured) as single:
        await services.recording.record.execute(operator, event)
    with pytest.raises(BatchItemError) as batch:
        await services.recording.record_many.execute(operator, [other, event])

    refused_without_naming_it(single)
    assert batch.value.index == 1
    assert isinstance(batch.value.cause, PlanNotConfigured)
    assert batch.value.cause.plan == "gold"
    assert len(entries.entries) == stored  # the batch is all or nothing


async def test_an_account_whose_plan_is_gone_is_not_exported_and_its_links_close(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    token = await request(services, operator)
    unconfigure(accounts)

    with pytest.raises(PlanNotConfigured) as asked:
        await request(services, operator)
    with pytest.raises(PlanNotConfigured) as used:
        await services.export.download.execute(token)

    refused_without_naming_it(asked)
    refused_without_naming_it(used)


async def test_other_accounts_are_not_affected_by_one_whose_plan_is_gone(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    unconfigure(accounts, "acme")
    event = AuditEvent(application="globex-web", action="auth.login", success=True)

    entry = await services.recording.record.execute(operator, event)

    assert entry.account == "globex"


@pytest.mark.parametrize(
    ("plan", "allowed"), [("free", False), ("pro", True), ("enterprise", True)]
)
def test_streams_follow_the_plans_can_stream(plan: str, allowed: bool) -> None:
    from application.access.plans import STREAMS_NOT_IN_PLAN, may_stream, require_streaming
    from domain.plan import PlanCatalog
    from domain.tenancy import Account

    account, plans = Account(id="initech", name="Initech", plan=plan), PlanCatalog(DEFAULT_PLANS)
    assert may_stream(account, plans) is allowed
    if allowed:
        require_streaming(account, plans)
    else:
        with pytest.raises(Forbidden) as refused:
            require_streaming(account, plans)
        assert refused.value.reason == STREAMS_NOT_IN_PLAN
