"""What each principal may read: keys stay in their tenant, the operator sees everything."""

from datetime import UTC, datetime

import pytest

from application.access.principal import Principal
from application.errors import Forbidden, NotFound
from application.reading.criteria import LogFilter, Position
from application.reading.cursor import encode_cursor
from application.reading.query import Page
from application.services import Services
from domain.entry import AuditEntry
from tests.unit.application.support import KeyFactory, Recorder, read_ids, walk_all_pages

pytestmark = pytest.mark.usefixtures("tenants")


@pytest.fixture
async def logged(operator: Principal, record: Recorder) -> dict[str, set[str]]:
    """Ids of the entries recorded per application: two each in three applications."""
    by_application: dict[str, set[str]] = {}
    for application in ("acme-web", "acme-mobile", "globex-web") * 2:
        entry = await record(operator, application)
        by_application.setdefault(application, set()).add(entry.id)
    return by_application


def ids_of(logged: dict[str, set[str]], *applications: str) -> set[str]:
    return set().union(*(logged[a] for a in applications))


async def test_key_sees_only_its_own_accounts_entries(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]]
) -> None:
    key = await key_for("acme")
    assert set(await read_ids(services, key)) == ids_of(logged, "acme-web", "acme-mobile")


async def test_key_may_name_its_own_account_in_the_filter(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]]
) -> None:
    key = await key_for("globex")
    assert set(await read_ids(services, key, LogFilter(account="globex"))) == logged["globex-web"]


@pytest.mark.parametrize("account", ["globex", "no-such-account"])
async def test_key_asking_for_another_account_is_forbidden_not_shown_nothing(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]], account: str
) -> None:
    key = await key_for("acme")
    with pytest.raises(Forbidden):
        await read_ids(services, key, LogFilter(account=account))


async def test_key_bound_to_an_application_sees_only_that_application(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]]
) -> None:
    web_key = await key_for("acme", "acme-web")
    assert set(await read_ids(services, web_key)) == logged["acme-web"]
    named = LogFilter(application="acme-web")
    assert set(await read_ids(services, web_key, named)) == logged["acme-web"]


@pytest.mark.parametrize("application", ["acme-mobile", "globex-web", "no-such-app"])
async def test_key_bound_to_an_application_asking_for_another_is_forbidden(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]], application: str
) -> None:
    web_key = await key_for("acme", "acme-web")
    with pytest.raises(Forbidden):
        await read_ids(services, web_key, LogFilter(application=application))


async def test_unbound_key_may_narrow_to_one_of_its_applications(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]]
) -> None:
    key = await key_for("acme")
    mobile = LogFilter(application="acme-mobile")
    assert set(await read_ids(services, key, mobile)) == logged["acme-mobile"]


@pytest.mark.parametrize("application", ["globex-web", "no-such-app"])
async def test_unbound_key_asking_for_an_application_outside_its_account_is_forbidden(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]], application: str
) -> None:
    key = await key_for("acme")
    with pytest.raises(Forbidden):
        await read_ids(services, key, LogFilter(application=application))


async def test_operator_reads_every_account(
    services: Services, operator: Principal, logged: dict[str, set[str]]
) -> None:
    assert set(await read_ids(services, operator)) == ids_of(logged, *logged)


async def test_operator_filters_by_account(
    services: Services, operator: Principal, logged: dict[str, set[str]]
) -> None:
    globex = LogFilter(account="globex")
    assert set(await read_ids(services, operator, globex)) == logged["globex-web"]


async def test_operator_filters_by_application(
    services: Services, operator: Principal, logged: dict[str, set[str]]
) -> None:
    mobile = LogFilter(application="acme-mobile")
    assert set(await read_ids(services, operator, mobile)) == logged["acme-mobile"]


@pytest.mark.parametrize(
    "wanted",
    [LogFilter(account="no-such-account"), LogFilter(application="no-such-app")],
    ids=["account", "application"],
)
async def test_operator_filtering_on_something_that_does_not_exist_gets_not_found(
    services: Services, operator: Principal, wanted: LogFilter
) -> None:
    with pytest.raises(NotFound):
        await read_ids(services, operator, wanted)


async def test_forged_cursor_from_the_far_future_cannot_widen_a_keys_scope(
    services: Services, key_for: KeyFactory, logged: dict[str, set[str]]
) -> None:
    key = await key_for("acme", "acme-web")
    forged = encode_cursor(Position(datetime(9999, 12, 31, tzinfo=UTC), "f" * 24))
    page = await services.reading.query.execute(key, LogFilter(), first=500, after=forged)
    assert {e.id for e in page.entries} == logged["acme-web"]


async def test_cursor_taken_from_another_tenants_entry_only_moves_within_own_scope(
    services: Services,
    key_for: KeyFactory,
    operator: Principal,
    logged: dict[str, set[str]],
) -> None:
    everything: list[AuditEntry] = await walk_all_pages(services, operator, first=500)
    newest_globex = next(e for e in everything if e.account == "globex")
    key = await key_for("acme")
    page = await services.reading.query.execute(
        key, LogFilter(), first=500, after=Page([], False).cursor_of(newest_globex)
    )
    assert page.entries
    assert {e.account for e in page.entries} == {"acme"}
    assert all(
        (e.created_at, e.id) < (newest_globex.created_at, newest_globex.id) for e in page.entries
    )
