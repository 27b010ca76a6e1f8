"""The access decisions of application/access/tenancy.py that the use cases ask, each on its own:
scopes, administration, who may verify or export what, the key a download acts as, who
sees seals, and where a principal's own events go."""

from datetime import UTC, datetime

import pytest

from application.access.origin import Origin
from application.access.plans import EXPORT_NOT_IN_PLAN
from application.access.principal import KeyHolder, Operator, Principal, System
from application.access.tenancy import (
    Directory,
    account_of,
    account_to_verify,
    criteria_for_export,
    events_application,
    link_holder,
    require_binding,
    require_operator,
    require_scope,
    sees_seals,
)
from application.errors import Forbidden, NotFound
from application.exporting.grant import ExportFormat, ExportGrant
from application.reading.criteria import LogFilter
from domain.errors import InvalidField
from domain.plan import DEFAULT_PLANS, PlanCatalog
from domain.tenancy import Account, ApiKey, Application, Scope
from tests.fakes import InMemoryAccounts, InMemoryApplications

PLANS = PlanCatalog(DEFAULT_PLANS)
EVERY_SCOPE = frozenset(Scope)
THE_OPERATORS = [Operator(), System()]
OPERATOR_IDS = ["operator", "system"]


def key(
    account: str = "acme", application: str | None = None, scopes: frozenset[Scope] = EVERY_SCOPE
) -> KeyHolder:
    return KeyHolder(key_id="0123456789abcdef", account=account, application=application,
                     scopes=scopes)  # fmt: skip


@pytest.fixture
async def directory() -> Directory:
    """`acme` (pro: may download) owns `acme-web`; `globex` (free: may not) owns `globex-web`."""
    accounts, applications = InMemoryAccounts(), InMemoryApplications()
    for account_id, plan in (("acme", "pro"), ("globex", "free")):
        await accounts.add(Account(id=account_id, name=account_id, plan=plan))
        await applications.add(
            Application(id=f"{account_id}-web", account=account_id, name=account_id)
        )
    return Directory(accounts, applications)


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("principal", THE_OPERATORS, ids=OPERATOR_IDS)
def test_operator_and_service_hold_every_scope(principal: Principal, scope: Scope) -> None:
    require_scope(principal, scope)


@pytest.mark.parametrize("scope", list(Scope))
def test_key_without_a_scope_is_forbidden_naming_the_scope(scope: Scope) -> None:
    holder = key(scopes=EVERY_SCOPE - {scope})
    with pytest.raises(Forbidden, match=rf"^this API key lacks the {scope.value} scope$"):
        require_scope(holder, scope)
    require_scope(key(scopes=frozenset({scope})), scope)


@pytest.mark.parametrize("principal", THE_OPERATORS, ids=OPERATOR_IDS)
def test_operator_and_service_may_administer(principal: Principal) -> None:
    require_operator(principal)


def test_a_key_with_every_scope_still_may_not_administer() -> None:
    with pytest.raises(Forbidden, match=r"^only the operator may do this$"):
        require_operator(key())


def test_a_key_is_confined_to_its_account_and_the_operator_to_none() -> None:
    assert account_of(key("globex", "globex-web")) == "globex"
    assert [account_of(p) for p in THE_OPERATORS] == [None, None]


async def test_a_key_is_bound_only_to_an_application_of_its_own_account(
    directory: Directory,
) -> None:
    await require_binding("acme", None, directory.applications)
    await require_binding("acme", "acme-web", directory.applications)
    for application in ("globex-web", "no-such-app"):
        with pytest.raises(NotFound) as refused:
            await require_binding("acme", application, directory.applications)
        assert refused.value.kind == "application"


@pytest.mark.parametrize("named", [None, "acme"])
async def test_unbound_key_verifies_its_own_account(
    directory: Directory, named: str | None
) -> None:
    assert await account_to_verify(key(), named, directory.accounts) == "acme"


async def test_key_without_read_may_not_verify(directory: Directory) -> None:
    holder = key(scopes=frozenset({Scope.RECORD, Scope.EXPORT}))
    with pytest.raises(Forbidden, match="READ scope"):
        await account_to_verify(holder, None, directory.accounts)


@pytest.mark.parametrize("named", ["globex", "no-such-account"])
async def test_key_may_not_verify_another_account(directory: Directory, named: str) -> None:
    with pytest.raises(Forbidden, match=r"^this API key may not verify another account$"):
        await account_to_verify(key(), named, directory.accounts)


async def test_key_bound_to_one_application_may_not_verify_its_account(
    directory: Directory,
) -> None:
    with pytest.raises(Forbidden, match="covers the whole account"):
        await account_to_verify(key(application="acme-web"), "acme", directory.accounts)


@pytest.mark.parametrize("principal", THE_OPERATORS, ids=OPERATOR_IDS)
async def test_operator_verifies_the_account_it_names_which_must_exist(
    directory: Directory, principal: Principal
) -> None:
    assert await account_to_verify(principal, "globex", directory.accounts) == "globex"
    with pytest.raises(InvalidField) as unnamed:
        await account_to_verify(principal, None, directory.accounts)
    assert unnamed.value.field == "account"
    with pytest.raises(NotFound) as unknown:
        await account_to_verify(principal, "no-such-account", directory.accounts)
    assert unknown.value.kind == "account"


async def test_key_exports_its_own_account_when_its_plan_allows_download(
    directory: Directory,
) -> None:
    criteria = await criteria_for_export(key(), LogFilter(), directory, PLANS)
    assert (criteria.account, criteria.application) == ("acme", None)
    bound = await criteria_for_export(key(application="acme-web"), LogFilter(), directory, PLANS)
    assert (bound.account, bound.application) == ("acme", "acme-web")


async def test_key_without_export_may_not_export(directory: Directory) -> None:
    holder = key(scopes=frozenset({Scope.RECORD, Scope.READ}))
    with pytest.raises(Forbidden, match="EXPORT scope"):
        await criteria_for_export(holder, LogFilter(), directory, PLANS)


@pytest.mark.parametrize(
    ("principal", "wanted"),
    [(key("globex"), LogFilter()), (Operator(), LogFilter(account="globex"))],
    ids=["key", "operator"],
)
async def test_an_account_whose_plan_has_no_download_is_not_exported_whoever_asks(
    directory: Directory, principal: Principal, wanted: LogFilter
) -> None:
    with pytest.raises(Forbidden) as refused:
        await criteria_for_export(principal, wanted, directory, PLANS)
    assert refused.value.reason == EXPORT_NOT_IN_PLAN
    assert str(refused.value) == "the free plan does not include audit log download"


async def test_operator_naming_only_an_application_exports_its_account(
    directory: Directory,
) -> None:
    criteria = await criteria_for_export(
        Operator(), LogFilter(application="acme-web"), directory, PLANS
    )
    assert (criteria.account, criteria.application) == ("acme", "acme-web")


async def test_operator_naming_no_account_nor_application_is_told_to_name_one(
    directory: Directory,
) -> None:
    with pytest.raises(InvalidField) as unnamed:
        await criteria_for_export(Operator(), LogFilter(), directory, PLANS)
    assert unnamed.value.field == "filter.account"


async def test_key_may_not_export_another_account(directory: Directory) -> None:
    with pytest.raises(Forbidden):
        await criteria_for_export(key(), LogFilter(account="globex"), directory, PLANS)


def grant(key_id: str | None, account: str = "acme") -> ExportGrant:
    return ExportGrant(
        key_id=key_id,
        account=account,
        filter=LogFilter(account=account),
        format=ExportFormat.CSV,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


def stored_key(*, account: str = "acme", revoked: bool = False) -> ApiKey:
    return ApiKey(id="0123456789abcdef", account=account, application="acme-web",
                  scopes=frozenset({Scope.EXPORT}), secret_hash="0" * 64, revoked=revoked,
                  created_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


def test_a_link_the_operator_made_is_downloaded_as_the_operator() -> None:
    origin = Origin(ip="192.0.2.1")
    assert link_holder(grant(None), None, origin) == Operator(origin=origin)


def test_a_link_a_key_made_is_downloaded_as_that_key_as_stored_now() -> None:
    origin = Origin(ip="192.0.2.1")
    holder = link_holder(grant("0123456789abcdef"), stored_key(), origin)
    assert holder == KeyHolder.of(stored_key(), origin)


@pytest.mark.parametrize(
    "now_stored",
    [None, stored_key(revoked=True), stored_key(account="globex")],
    ids=["deleted", "revoked", "of-another-account"],
)
def test_a_link_whose_key_is_gone_revoked_or_moved_is_refused(now_stored: ApiKey | None) -> None:
    with pytest.raises(Forbidden, match=r"^the API key that made this link is no longer valid$"):
        link_holder(grant("0123456789abcdef"), now_stored, Origin())


def test_only_a_key_bound_to_one_application_is_kept_from_seeing_seals() -> None:
    assert not sees_seals(key(application="acme-web"))
    assert sees_seals(key())
    assert all(sees_seals(p) for p in THE_OPERATORS)


def test_a_keys_own_events_go_to_its_application_else_its_accounts_reserved_one() -> None:
    assert events_application(key(application="acme-web"), account="globex") == "acme-web"
    assert events_application(key(), account=None) == "_acme"
    assert events_application(key(), account="globex") == "_acme"


@pytest.mark.parametrize("principal", THE_OPERATORS, ids=OPERATOR_IDS)
def test_the_operators_events_go_to_the_reserved_application_of_the_account_concerned(
    principal: Principal,
) -> None:
    assert events_application(principal, account="globex") == "_globex"
    assert events_application(principal, account=None) is None
