"""Reading pages: newest first on (created_at, id), page size bounds, cursors, expiry."""

from datetime import UTC, datetime, timedelta

import pytest

from application.access.principal import Principal
from application.errors import Forbidden
from application.reading.criteria import LogFilter
from application.reading.query import Page
from application.services import Services
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.tenancy import Scope
from tests.fakes import FakeClock
from tests.unit.application.support import (
    KeyFactory,
    Recorder,
    read_ids,
    read_page,
    walk_all_pages,
)

pytestmark = pytest.mark.usefixtures("tenants")


def newest_first(entries: list[AuditEntry]) -> list[str]:
    return [e.id for e in sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)]


@pytest.fixture
async def history(operator: Principal, record: Recorder, clock: FakeClock) -> list[AuditEntry]:
    """Eleven acme entries in five milliseconds, several sharing one millisecond.

    Milliseconds are visited out of order, so id order and time order disagree: only
    ordering on (created_at, id) gives the expected sequence.
    """
    start = datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC)
    recorded = []
    for millisecond, run in ((2, 3), (0, 1), (4, 4), (1, 1), (3, 2)):
        for step in range(run):
            clock.set(start + timedelta(milliseconds=millisecond, microseconds=100 * step))
            recorded.append(await record(operator, "acme-web"))
    clock.set(start + timedelta(seconds=1))
    return recorded


async def test_entries_come_newest_first_with_ties_broken_by_id_descending(
    services: Services, operator: Principal, history: list[AuditEntry]
) -> None:
    assert len({e.created_at for e in history}) == 5
    ids_alone = sorted((e.id for e in history), reverse=True)
    assert newest_first(history) != ids_alone
    assert await read_ids(services, operator) == newest_first(history)


@pytest.mark.parametrize("first", [1, 2, 3, 4, 10, 11, 12])
async def test_walking_every_page_returns_each_live_entry_exactly_once_in_order(
    services: Services, operator: Principal, history: list[AuditEntry], first: int
) -> None:
    walked = await walk_all_pages(services, operator, first)
    assert [e.id for e in walked] == newest_first(history)


async def test_has_next_page_is_true_only_while_entries_remain(
    services: Services, operator: Principal, history: list[AuditEntry]
) -> None:
    full = await read_page(services, operator, first=len(history) - 1)
    assert full.has_next_page
    exact = await read_page(services, operator, first=len(history))
    assert not exact.has_next_page
    assert len(exact.entries) == len(history)


async def test_page_holds_at_most_first_entries(
    services: Services, operator: Principal, history: list[AuditEntry]
) -> None:
    page = await read_page(services, operator, first=4)
    assert [e.id for e in page.entries] == newest_first(history)[:4]


async def test_cursor_continues_right_after_the_entry_it_was_taken_from(
    services: Services, operator: Principal, history: list[AuditEntry]
) -> None:
    order = newest_first(history)
    pivot = next(e for e in history if e.id == order[1])
    page = await read_page(services, operator, first=3, after=Page([], False).cursor_of(pivot))
    assert [e.id for e in page.entries] == order[2:5]


@pytest.mark.parametrize("first", [1, 500])
async def test_page_size_from_1_to_500_is_accepted(
    services: Services, operator: Principal, first: int
) -> None:
    page = await read_page(services, operator, first=first)
    assert page.entries == []


@pytest.mark.parametrize("first", [0, -1, 501, 10_000])
async def test_page_size_outside_1_to_500_is_rejected_on_field_first(
    services: Services, operator: Principal, first: int
) -> None:
    with pytest.raises(InvalidField) as raised:
        await read_page(services, operator, first=first)
    assert raised.value.field == "first"


@pytest.mark.parametrize("after", ["", "garbage!", "bm90LWEtY3Vyc29y", "é"])
async def test_undecodable_cursor_is_rejected_on_field_after(
    services: Services, operator: Principal, after: str
) -> None:
    with pytest.raises(InvalidField) as raised:
        await read_page(services, operator, after=after)
    assert raised.value.field == "after"


@pytest.mark.parametrize("scopes", [[Scope.RECORD], [Scope.EXPORT]])
async def test_reading_without_read_scope_is_forbidden(
    services: Services, key_for: KeyFactory, scopes: list[Scope]
) -> None:
    key = await key_for("acme", scopes=scopes)
    with pytest.raises(Forbidden):
        await read_page(services, key)


async def test_expired_entries_are_never_returned(
    services: Services, operator: Principal, record: Recorder, clock: FakeClock
) -> None:
    free_entry = await record(operator, "globex-web")
    pro_entry = await record(operator, "acme-web")
    clock.set(free_entry.expires_at - timedelta(microseconds=1))
    assert set(await read_ids(services, operator)) == {free_entry.id, pro_entry.id}

    clock.set(free_entry.expires_at)
    assert await read_ids(services, operator) == [pro_entry.id]
    assert await read_ids(services, operator, LogFilter(account="globex")) == []


async def test_expired_entries_are_skipped_when_walking_pages(
    services: Services, operator: Principal, record: Recorder, clock: FakeClock
) -> None:
    recorded = []
    for application in ("acme-web", "globex-web", "acme-web", "globex-web", "acme-web"):
        recorded.append(await record(operator, application))
        clock.advance(seconds=1)
    clock.advance(days=8)
    walked = await walk_all_pages(services, operator, first=1)
    assert [e.id for e in walked] == newest_first([e for e in recorded if e.account == "acme"])
