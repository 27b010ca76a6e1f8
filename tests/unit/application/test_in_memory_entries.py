"""The in-memory entry store the use-case tests and the benchmarks run on keeps the real
store's rules: append-only, live entries only, what `EntryCriteria.admits` selects, newest
first, strictly after a keyset position. Its indexes (time order, per action) are checked
against a plain scan, including after a test has tampered with an entry behind its back."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from application.errors import Conflict
from application.reading.criteria import EntryCriteria, LogFilter, Position
from domain.entry import AuditEntry
from tests.builders import entry
from tests.fakes import InMemoryAuditEntries

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ACTIONS = ("auth.login", "auth.logout", "mfa.enrolled")


def scan(stored: list[AuditEntry], criteria: EntryCriteria, after: Position | None) -> list[str]:
    rows = [e for e in stored if e.is_live(NOW) and criteria.admits(e)]
    if after is not None:
        rows = [e for e in rows if (e.created_at, e.id) < (after.created_at, after.entry_id)]
    return [e.id for e in sorted(rows, key=lambda e: (e.created_at, e.id), reverse=True)]


def trail(count: int = 200) -> list[AuditEntry]:
    pick = random.Random(7)
    return [
        entry(
            account=pick.choice(("acme", "globex")),
            action=pick.choice(ACTIONS),
            success=pick.random() < 0.8,
            # Whole seconds over a few minutes: many entries share a created_at.
            created_at=NOW - timedelta(seconds=pick.randrange(300)),
            retention=timedelta(seconds=pick.choice((60, 86_400))),
        )
        for _ in range(count)
    ]


FILTERS = [
    LogFilter(),
    LogFilter(account="acme"),
    LogFilter(actions=("auth.logout",)),
    LogFilter(actions=("auth.logout", "mfa.enrolled"), success=True),
    LogFilter(actions=("never.recorded",)),
    LogFilter(since=NOW - timedelta(seconds=120), until=NOW - timedelta(seconds=30)),
    LogFilter(account="globex", actions=("auth.login",), since=NOW - timedelta(seconds=200)),
]


@pytest.mark.parametrize("wanted", FILTERS)
async def test_query_and_stream_select_what_a_scan_of_admits_selects(wanted: LogFilter) -> None:
    stored = trail()
    store = InMemoryAuditEntries()
    await store.add_many(stored)
    criteria = EntryCriteria(wanted)
    expected = scan(stored, criteria, None)

    assert [e.id async for batch in store.stream(criteria, now=NOW) for e in batch] == expected
    pages: list[str] = []
    after: Position | None = None
    while True:
        page = await store.query(criteria, now=NOW, after=after, limit=7)
        pages += [e.id for e in page]
        if len(page) < 7:
            break
        after = Position(page[-1].created_at, page[-1].id)
    assert pages == expected


async def test_a_tampered_entry_is_read_where_and_as_it_now_is() -> None:
    stored = trail(50)
    store = InMemoryAuditEntries()
    await store.add_many(stored)
    moved = dataclasses.replace(stored[0], action="mfa.enrolled", created_at=NOW)
    store.entries[moved.id] = moved
    del store.entries[stored[1].id]
    now_stored = [moved, *stored[2:]]

    for wanted in FILTERS:
        criteria = EntryCriteria(wanted)
        rows = await store.query(criteria, now=NOW, after=None, limit=1_000)
        assert [e.id for e in rows] == scan(now_stored, criteria, None)


async def test_an_id_is_stored_once_and_a_clashing_batch_stores_nothing() -> None:
    store = InMemoryAuditEntries()
    first = entry(created_at=NOW - timedelta(seconds=5))
    await store.add(first)
    clash = entry(entry_id=first.id, created_at=NOW - timedelta(seconds=1))
    fresh = entry(created_at=NOW - timedelta(seconds=2))

    with pytest.raises(Conflict):
        await store.add(clash)
    with pytest.raises(Conflict):
        await store.add_many([fresh, clash])
    with pytest.raises(Conflict):
        await store.add_many([fresh, fresh])
    assert dict(store.entries) == {first.id: first}

    await store.add_many([clash, fresh], skip_existing=True)
    assert dict(store.entries) == {first.id: first, fresh.id: fresh}


async def test_the_oldest_stored_entry_is_the_first_created_at_expired_or_not() -> None:
    store = InMemoryAuditEntries()
    assert await store.first_created_at() is None
    oldest = entry(created_at=NOW - timedelta(days=30), retention=timedelta(days=1))
    await store.add_many([entry(created_at=NOW), oldest])
    assert await store.first_created_at() == oldest.created_at
