"""Who may record for which application, and which account an entry lands in."""

import pytest

from application.access.principal import Principal
from application.errors import Forbidden, NotFound
from domain.tenancy import Scope
from tests.fakes import InMemoryAuditEntries
from tests.unit.application.support import KeyFactory, Recorder

pytestmark = pytest.mark.usefixtures("tenants")


async def test_key_with_record_scope_records_for_its_own_application(
    key_for: KeyFactory, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    key = await key_for("acme", scopes=[Scope.RECORD])
    entry = await record(key, "acme-web", "auth.login", email="bob@example.com")
    assert entries.entries == {entry.id: entry}
    assert (entry.account, entry.application, entry.email) == (
        "acme",
        "acme-web",
        "bob@example.com",
    )


@pytest.mark.parametrize("scopes", [[Scope.READ], [Scope.EXPORT], [Scope.READ, Scope.EXPORT]])
async def test_key_without_record_scope_is_forbidden_and_nothing_is_stored(
    key_for: KeyFactory, record: Recorder, entries: InMemoryAuditEntries, scopes: list[Scope]
) -> None:
    key = await key_for("acme", scopes=scopes)
    with pytest.raises(Forbidden):
        await record(key, "acme-web")
    assert entries.entries == {}


@pytest.mark.parametrize(
    ("application", "account"), [("acme-web", "acme"), ("globex-web", "globex")]
)
async def test_operator_records_for_any_application_and_the_account_comes_from_the_application(
    operator: Principal, record: Recorder, application: str, account: str
) -> None:
    entry = await record(operator, application)
    assert (entry.application, entry.account) == (application, account)


async def test_operator_recording_for_an_unknown_application_gets_not_found(
    operator: Principal, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    with pytest.raises(NotFound) as raised:
        await record(operator, "no-such-app")
    assert raised.value.ident == "no-such-app"
    assert entries.entries == {}


async def test_key_recording_for_an_unknown_application_is_forbidden_not_told_not_found(
    key_for: KeyFactory, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    key = await key_for("acme")
    with pytest.raises(Forbidden):
        await record(key, "no-such-app")
    assert entries.entries == {}


async def test_key_of_one_account_cannot_record_for_another_accounts_application(
    key_for: KeyFactory, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    acme_key = await key_for("acme")
    with pytest.raises(Forbidden):
        await record(acme_key, "globex-web")
    assert entries.entries == {}


async def test_key_bound_to_an_application_cannot_record_for_a_sibling_application(
    key_for: KeyFactory, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    web_key = await key_for("acme", "acme-web")
    with pytest.raises(Forbidden):
        await record(web_key, "acme-mobile")
    assert entries.entries == {}


async def test_key_bound_to_an_application_records_for_that_application(
    key_for: KeyFactory, record: Recorder
) -> None:
    web_key = await key_for("acme", "acme-web")
    entry = await record(web_key, "acme-web")
    assert (entry.account, entry.application) == ("acme", "acme-web")


async def test_recorded_entry_is_returned_exactly_as_stored(
    operator: Principal, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    entry = await record(
        operator,
        "acme-web",
        "mfa.enrolled",
        success=False,
        ip="2001:DB8::0001",
        reason="device lost",
        user_agent="curl/8.5.0",
        request_id="req-7",
    )
    assert entries.entries[entry.id] == entry
    assert (entry.action, entry.success, entry.ip) == ("mfa.enrolled", False, "2001:db8::1")


async def test_each_recorded_entry_gets_a_fresh_id(
    operator: Principal, record: Recorder, entries: InMemoryAuditEntries
) -> None:
    first = await record(operator, "acme-web")
    second = await record(operator, "acme-web")
    assert first.id != second.id
    assert len(entries.entries) == 2
