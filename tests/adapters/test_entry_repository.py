"""The Beanie entry repository: round trips, order, filters, expiry and append-only shape."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.outbound.mongo.entries import BeanieAuditEntryRepository
from adapters.outbound.mongo.store import MongoStore
from application.errors import Conflict
from application.ports import AuditEntryRepository
from application.reading.criteria import EntryCriteria, LogFilter, Position
from tests.builders import entry

T0 = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def criteria(**narrowing: object) -> EntryCriteria:
    return EntryCriteria(LogFilter(**narrowing))  # type: ignore[arg-type]


async def read_all(store: MongoStore, **narrowing: object) -> list[str]:
    rows = await store.entries.query(criteria(**narrowing), now=T0, after=None, limit=500)
    return [row.id for row in rows]


async def test_an_entry_reads_back_exactly_as_it_was_added(store: MongoStore) -> None:
    original = entry(
        created_at=T0 - timedelta(minutes=1),
        success=False,
        reason="invalid_password",
        ip="2001:db8::1",
        user_agent="Mozilla/5.0",
        request_id="req-1",
    )
    sparse = entry(created_at=T0 - timedelta(minutes=2), email=None)
    await store.entries.add(original)
    await store.entries.add(sparse)

    rows = await store.entries.query(criteria(), now=T0, after=None, limit=10)

    assert rows == [original, sparse]
    assert rows[0].created_at.tzinfo is UTC


async def test_adding_an_existing_id_is_a_conflict_and_keeps_the_original(
    store: MongoStore,
) -> None:
    first = entry(created_at=T0 - timedelta(seconds=5), action="auth.login")
    await store.entries.add(first)
    clash = entry(entry_id=first.id, created_at=T0 - timedelta(seconds=1), action="auth.logout")

    with pytest.raises(Conflict):
        await store.entries.add(clash)

    rows = await store.entries.query(criteria(), now=T0, after=None, limit=10)
    assert rows == [first]


async def test_add_many_stores_every_entry_under_its_own_id(store: MongoStore) -> None:
    batch = [entry(created_at=T0 - timedelta(seconds=i)) for i in range(1, 26)]

    await store.entries.add_many(batch)

    assert await read_all(store) == [e.id for e in batch]


async def test_entries_come_newest_first_with_ties_broken_by_id_descending(
    store: MongoStore,
) -> None:
    same_moment = T0 - timedelta(seconds=10)
    tied = [entry(created_at=same_moment) for _ in range(3)]
    newer = entry(created_at=T0 - timedelta(seconds=1))
    older = entry(created_at=T0 - timedelta(seconds=20))
    await store.entries.add_many([tied[1], older, tied[0], newer, tied[2]])

    expected = [newer.id, *sorted((e.id for e in tied), reverse=True), older.id]
    assert await read_all(store) == expected


async def test_a_page_after_a_position_continues_strictly_after_it(store: MongoStore) -> None:
    same_moment = T0 - timedelta(seconds=10)
    rows = [entry(created_at=same_moment) for _ in range(4)]
    await store.entries.add_many(rows)
    ordered = sorted((e.id for e in rows), reverse=True)

    page = await store.entries.query(
        criteria(), now=T0, after=Position(same_moment, ordered[1]), limit=10
    )

    assert [e.id for e in page] == ordered[2:]


async def test_expired_entries_are_never_returned_even_before_deletion(
    store: MongoStore,
) -> None:
    live = entry(created_at=T0 - timedelta(days=1), retention=timedelta(days=2))
    just_expired = entry(created_at=T0 - timedelta(days=2), retention=timedelta(days=2))
    long_expired = entry(created_at=T0 - timedelta(days=9), retention=timedelta(days=7))
    await store.entries.add_many([live, just_expired, long_expired])

    assert await read_all(store) == [live.id]
    streamed = [e.id async for e in store.entries.stream(criteria(), now=T0)]
    assert streamed == [live.id]


@pytest.mark.parametrize(
    ("narrowing", "expected"),
    [
        ({"account": "globex"}, ["globex-login"]),
        ({"application": "admin"}, ["admin-mfa"]),
        ({"actions": ("mfa.enrolled", "auth.logout")}, ["admin-mfa", "logout"]),
        ({"email": "eve@example.com"}, ["logout"]),
        ({"success": False}, ["failed-login"]),
        ({"since": T0 - timedelta(minutes=3)}, ["globex-login", "admin-mfa", "failed-login"]),
        ({"until": T0 - timedelta(minutes=3)}, ["logout"]),
        (
            {"account": "acme", "since": T0 - timedelta(minutes=4), "until": T0},
            ["admin-mfa", "failed-login", "logout"],
        ),
    ],
)
async def test_each_filter_narrows_the_result(
    store: MongoStore, narrowing: dict[str, object], expected: list[str]
) -> None:
    await store.entries.add_many(
        [
            entry(entry_id="globex-login", account="globex", application="shop",
                  created_at=T0 - timedelta(minutes=1)),
            entry(entry_id="admin-mfa", application="admin", action="mfa.enrolled",
                  created_at=T0 - timedelta(minutes=2)),
            entry(entry_id="failed-login", success=False, reason="bad_password",
                  created_at=T0 - timedelta(minutes=3)),
            entry(entry_id="logout", action="auth.logout", email="eve@example.com",
                  created_at=T0 - timedelta(minutes=4)),
        ]
    )  # fmt: skip

    assert await read_all(store, **narrowing) == expected


async def test_stream_yields_every_live_match_newest_first(store: MongoStore) -> None:
    rows = [entry(created_at=T0 - timedelta(seconds=i)) for i in range(1, 1_203)]
    rows.append(entry(account="globex", created_at=T0 - timedelta(seconds=1)))
    await store.entries.add_many(rows)

    streamed = [e.id async for e in store.entries.stream(criteria(account="acme"), now=T0)]

    assert streamed == [e.id for e in rows[:-1]]


def test_the_repository_offers_no_way_to_change_or_remove_an_entry() -> None:
    port_methods = {name for name in vars(AuditEntryRepository) if not name.startswith("_")}
    adapter_methods = {name for name in dir(BeanieAuditEntryRepository) if not name.startswith("_")}

    assert port_methods == {"add", "add_many", "query", "stream", "first_created_at"}
    assert adapter_methods == port_methods


async def test_a_retried_delivery_adds_only_what_is_missing_and_keeps_what_is_stored(
    store: MongoStore,
) -> None:
    first_attempt = [entry(created_at=T0 - timedelta(seconds=i)) for i in range(1, 4)]
    await store.entries.add(first_attempt[0])
    retry = [replace(first_attempt[0], reason="changed"), *first_attempt[1:]]

    await store.entries.add_many(retry, skip_existing=True)

    rows = await store.entries.query(criteria(), now=T0, after=None, limit=10)
    assert [r.id for r in rows] == [e.id for e in first_attempt]
    assert rows[0].reason is None


async def test_without_skipping_a_stored_id_in_a_batch_is_a_conflict(store: MongoStore) -> None:
    stored = entry(created_at=T0 - timedelta(seconds=1))
    await store.entries.add(stored)

    with pytest.raises(Conflict):
        await store.entries.add_many([entry(entry_id=stored.id, created_at=T0)])


FILTERS = [
    {},
    {"account": "acme"},
    {"account": "acme", "application": "portal"},
    {"application": "billing"},
    {"actions": ("auth.login", "auth.logout")},
    {"email": "ann@example.com"},
    {"success": False},
    {"since": T0 - timedelta(minutes=3)},
    {"until": T0 - timedelta(minutes=3)},
    {"account": "acme", "success": True, "since": T0 - timedelta(minutes=5),
     "until": T0 - timedelta(minutes=1)},
]  # fmt: skip


@pytest.mark.parametrize("narrowing", FILTERS, ids=[repr(f) for f in FILTERS])
async def test_the_store_selects_exactly_what_the_criteria_admit(
    store: MongoStore, narrowing: dict[str, object]
) -> None:
    """The query document and `EntryCriteria.admits` (which the fakes use) state one rule."""
    kinds = [
        {"account": "acme", "application": "portal", "action": "auth.login"},
        {"account": "acme", "application": "billing", "action": "auth.logout", "success": False},
        {"account": "globex", "application": "portal", "action": "mfa.enabled"},
        {"account": "acme", "application": "portal", "action": "auth.login",
         "email": "ann@example.com"},
    ]  # fmt: skip
    added = [
        entry(created_at=T0 - timedelta(minutes=minute), **kinds[minute % len(kinds)])
        for minute in range(1, 9)
    ]
    await store.entries.add_many(added)
    wanted = criteria(**narrowing)

    selected = await read_all(store, **narrowing)

    admitted = [e.id for e in sorted(added, key=lambda e: e.created_at, reverse=True)]
    assert selected == [i for i in admitted if wanted.admits(next(e for e in added if e.id == i))]
    assert selected, "each filter selects something, or the comparison proves little"
