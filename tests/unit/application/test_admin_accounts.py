"""Operator use cases for accounts and applications."""

import pytest

from application.access.principal import Principal
from application.errors import Conflict, Forbidden, NotFound
from application.services import Services
from domain.errors import InvalidField
from domain.tenancy import Account, Application, Scope
from tests.fakes import InMemoryAccounts, InMemoryApplications
from tests.unit.application.support import KeyFactory


async def test_operator_creates_an_account_on_a_known_plan(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    created = await services.administration.create_account.execute(
        operator, account_id="initech", name="  Initech ", plan="enterprise"
    )
    assert created == Account(id="initech", name="Initech", plan="enterprise")
    assert accounts.accounts == {"initech": created}


async def test_creating_an_account_on_an_unknown_plan_is_rejected_on_field_plan(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    with pytest.raises(InvalidField) as raised:
        await services.administration.create_account.execute(
            operator, account_id="initech", name="Initech", plan="platinum"
        )
    assert raised.value.field == "plan"
    assert accounts.accounts == {}


@pytest.mark.usefixtures("tenants")
async def test_creating_an_account_with_a_taken_id_is_a_conflict(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    with pytest.raises(Conflict):
        await services.administration.create_account.execute(
            operator, account_id="acme", name="Other Acme", plan="free"
        )
    assert accounts.accounts["acme"].plan == "pro"


@pytest.mark.usefixtures("tenants")
async def test_operator_changes_an_accounts_plan(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    changed = await services.administration.change_account_plan.execute(
        operator, account_id="acme", plan="enterprise"
    )
    assert changed.plan == "enterprise"
    assert accounts.accounts["acme"].plan == "enterprise"


@pytest.mark.usefixtures("tenants")
async def test_changing_to_an_unknown_plan_is_rejected_and_keeps_the_old_plan(
    services: Services, operator: Principal, accounts: InMemoryAccounts
) -> None:
    with pytest.raises(InvalidField) as raised:
        await services.administration.change_account_plan.execute(
            operator, account_id="acme", plan="platinum"
        )
    assert raised.value.field == "plan"
    assert accounts.accounts["acme"].plan == "pro"


async def test_changing_the_plan_of_an_unknown_account_is_not_found(
    services: Services, operator: Principal
) -> None:
    with pytest.raises(NotFound):
        await services.administration.change_account_plan.execute(
            operator, account_id="nobody", plan="pro"
        )


@pytest.mark.usefixtures("tenants")
async def test_operator_creates_an_application_in_an_account(
    services: Services, operator: Principal, applications: InMemoryApplications
) -> None:
    created = await services.administration.create_application.execute(
        operator, account_id="globex", application_id="globex-api", name=" API "
    )
    assert created == Application(id="globex-api", account="globex", name="API")
    assert applications.applications["globex-api"] == created


async def test_creating_an_application_in_an_unknown_account_is_not_found(
    services: Services, operator: Principal, applications: InMemoryApplications
) -> None:
    with pytest.raises(NotFound):
        await services.administration.create_application.execute(
            operator, account_id="nobody", application_id="nobody-web", name="Web"
        )
    assert applications.applications == {}


@pytest.mark.usefixtures("tenants")
@pytest.mark.parametrize("account_id", ["acme", "globex"])
async def test_application_ids_are_unique_across_accounts(
    services: Services, operator: Principal, applications: InMemoryApplications, account_id: str
) -> None:
    with pytest.raises(Conflict):
        await services.administration.create_application.execute(
            operator, account_id=account_id, application_id="acme-web", name="Web again"
        )
    assert applications.applications["acme-web"].account == "acme"


@pytest.mark.parametrize(
    "scopes", [[Scope.RECORD, Scope.READ, Scope.EXPORT], [Scope.READ]], ids=["all", "read"]
)
async def test_an_api_key_may_not_administer_accounts_or_applications(
    services: Services,
    key_for: KeyFactory,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    scopes: list[Scope],
) -> None:
    key = await key_for("acme", scopes=scopes)
    before = (dict(accounts.accounts), dict(applications.applications))
    with pytest.raises(Forbidden):
        await services.administration.create_account.execute(
            key, account_id="evil", name="Evil", plan="free"
        )
    with pytest.raises(Forbidden):
        await services.administration.change_account_plan.execute(
            key, account_id="acme", plan="enterprise"
        )
    with pytest.raises(Forbidden):
        await services.administration.create_application.execute(
            key, account_id="acme", application_id="acme-evil", name="Evil"
        )
    assert (accounts.accounts, applications.applications) == before
