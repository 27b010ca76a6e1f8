"""The adapter behind each port: entries, accounts, applications, keys, seals and the lease
read back exactly as written, and a page selects what `EntryCriteria.admits()` selects."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore
from application.errors import Conflict
from application.reading.criteria import EntryCriteria, LogFilter, Position
from domain.entry import AuditEntry
from domain.tenancy import Account, ApiKey, Application, Scope
from tests.adapters.sqlite.conftest import open_store, sealed
from tests.builders import entry

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def mixed_trail(count: int, seed: int = 3) -> list[AuditEntry]:
    rng = random.Random(seed)
    return [
        entry(
            account=rng.choice(["acme", "globex"]),
            application=rng.choice(["portal", "signin"]),
            action=rng.choice(["auth.login", "auth.logout", "mfa.enrolled"]),
            success=rng.random() < 0.8,
            email=rng.choice(["bob@example.com", "eve@example.com", None]),
            # Some share a created_at, so the id breaks the tie.
            created_at=NOW - timedelta(seconds=rng.randrange(count // 2)),
            retention=rng.choice([timedelta(days=90), timedelta(hours=1)]),
            entry_id=f"{i:024x}",
        )
        for i in range(count)
    ]


FILTERS = [
    LogFilter(),
    LogFilter(account="acme"),
    LogFilter(account="acme", application="portal"),
    LogFilter(application="signin"),
    LogFilter(account="acme", actions=("auth.login",)),
    LogFilter(account="globex", actions=("auth.logout", "mfa.enrolled")),
    LogFilter(actions=("auth.logout", "mfa.enrolled")),
    LogFilter(account="acme", email="eve@example.com", success=False),
    LogFilter(account="acme", since=NOW - timedelta(seconds=40), until=NOW - timedelta(seconds=10)),
    LogFilter(
        account="acme", application="portal", actions=("auth.login", "mfa.enrolled"), success=True
    ),
]


def newest_first(entries: list[AuditEntry]) -> list[AuditEntry]:
    return sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)


@pytest.mark.parametrize("wanted", FILTERS, ids=repr)
async def test_pages_walk_exactly_the_live_entries_admits_selects_newest_first(
    sqlite_store: SqliteStore, wanted: LogFilter
) -> None:
    trail = mixed_trail(200)
    await sqlite_store.entries.add_many(trail)
    criteria = EntryCriteria(wanted)
    now = NOW + timedelta(minutes=90)  # the hour-long ones have expired
    expected = newest_first([e for e in trail if criteria.admits(e) and e.is_live(now)])

    pages: list[AuditEntry] = []
    after: Position | None = None
    while True:
        page = await sqlite_store.entries.query(criteria, now=now, after=after, limit=7)
        pages += page
        if len(page) < 7:
            break
        after = Position(page[-1].created_at, page[-1].id)
    streamed = [e async for batch in sqlite_store.entries.stream(criteria, now=now) for e in batch]

    assert pages == expected
    assert streamed == expected
    assert expected  # the filter selects something, or the test proves little


async def test_an_entry_reads_back_equal_in_every_field_and_in_utc(
    sqlite_store: SqliteStore,
) -> None:
    stored = entry(
        created_at=NOW.replace(microsecond=123456),
        reason="invalid_password",
        ip="203.0.113.7",
        user_agent="curl/8",
        request_id="r-1",
        success=False,
    )
    await sqlite_store.entries.add(stored)

    [read] = await sqlite_store.entries.query(
        EntryCriteria(LogFilter()), now=NOW, after=None, limit=10
    )

    assert read == stored
    assert read.success is False  # a bool, not the 0 it is stored as
    assert read.created_at.tzinfo is UTC
    assert read.digest == stored.content_digest()


async def test_an_entry_is_not_served_once_expires_at_has_passed(
    sqlite_store: SqliteStore,
) -> None:
    stored = entry(created_at=NOW, retention=timedelta(hours=1))
    await sqlite_store.entries.add(stored)
    everything = EntryCriteria(LogFilter())

    async def served(now: datetime) -> list[AuditEntry]:
        return await sqlite_store.entries.query(everything, now=now, after=None, limit=10)

    assert await served(stored.expires_at - timedelta(microseconds=1)) == [stored]
    assert await served(stored.expires_at) == []


async def test_adding_a_taken_id_is_a_conflict_and_keeps_the_first(
    sqlite_store: SqliteStore,
) -> None:
    first = entry(entry_id="a" * 24, action="auth.login")
    await sqlite_store.entries.add(first)

    with pytest.raises(Conflict):
        await sqlite_store.entries.add(entry(entry_id="a" * 24, action="auth.logout"))
    with pytest.raises(Conflict):
        await sqlite_store.entries.add_many([entry(entry_id="b" * 24), entry(entry_id="a" * 24)])

    everything = EntryCriteria(LogFilter())
    assert await sqlite_store.entries.query(everything, now=NOW, after=None, limit=10) == [first]


async def test_a_batch_skipping_existing_ids_stores_the_rest_and_keeps_the_first(
    sqlite_store: SqliteStore,
) -> None:
    first = entry(entry_id="a" * 24, action="auth.login")
    await sqlite_store.entries.add(first)
    retried = [entry(entry_id="a" * 24, action="auth.logout"), entry(entry_id="b" * 24)]

    await sqlite_store.entries.add_many(retried, skip_existing=True)

    everything = EntryCriteria(LogFilter())
    stored = await sqlite_store.entries.query(everything, now=NOW, after=None, limit=10)
    assert sorted(stored, key=lambda e: e.id) == [first, retried[1]]


async def test_first_created_at_is_the_oldest_entry_or_none(sqlite_store: SqliteStore) -> None:
    assert await sqlite_store.entries.first_created_at() is None
    await sqlite_store.entries.add_many(mixed_trail(30))
    oldest = min(e.created_at for e in mixed_trail(30))

    assert await sqlite_store.entries.first_created_at() == oldest


async def test_accounts_applications_and_keys_read_back_and_change_as_the_ports_say(
    sqlite_store: SqliteStore,
) -> None:
    account = Account(id="acme", name="Acme", plan="free")
    application = Application(id="portal", account="acme", name="Portal")
    key = ApiKey(
        id="0123456789abcdef",
        account="acme",
        application=None,
        scopes=frozenset({Scope.READ, Scope.RECORD}),
        secret_hash="f" * 64,
        revoked=False,
        created_at=NOW,
    )
    await sqlite_store.accounts.add(account)
    await sqlite_store.applications.add(application)
    await sqlite_store.keys.add(key)

    assert await sqlite_store.accounts.get("acme") == account
    assert await sqlite_store.applications.get("portal") == application
    assert await sqlite_store.keys.get(key.id) == key
    assert await sqlite_store.accounts.get("globex") is None
    assert await sqlite_store.applications.get("signin") is None
    assert await sqlite_store.keys.get("f" * 16) is None
    for add, taken in [
        (sqlite_store.accounts.add, account),
        (sqlite_store.applications.add, application),
        (sqlite_store.keys.add, key),
    ]:
        with pytest.raises(Conflict):
            await add(taken)  # type: ignore[operator]

    assert await sqlite_store.accounts.set_plan("acme", "pro") == Account(
        id="acme", name="Acme", plan="pro"
    )
    assert await sqlite_store.accounts.set_plan("globex", "pro") is None
    assert await sqlite_store.keys.revoke(key.id) == key.revoke()
    assert await sqlite_store.keys.revoke(key.id) == key.revoke()
    assert await sqlite_store.keys.revoke("f" * 16) is None
    assert await sqlite_store.keys.get(key.id) == key.revoke()


async def test_seals_read_back_exactly_once_per_window_by_account_and_range(
    sqlite_store: SqliteStore,
) -> None:
    seals = [sealed("acme", window=w) for w in range(4)]
    for seal in [seals[2], seals[0], seals[3], seals[1], sealed("globex", window=9)]:
        assert await sqlite_store.seals.add(seal) is True

    assert await sqlite_store.seals.add(sealed("acme", window=0, entries=3)) is False
    assert await sqlite_store.seals.get(seals[1].id) == seals[1]
    assert await sqlite_store.seals.get("acme/2020-01-01T00:00:00.000+00:00") is None
    assert await sqlite_store.seals.latest("acme") == seals[3]
    assert await sqlite_store.seals.latest("initech") is None
    assert await sqlite_store.seals.in_range("acme", None, None) == seals
    start, end = seals[1].window_start, seals[2].window_end
    assert await sqlite_store.seals.in_range("acme", start, end) == seals[1:3]
    assert await sqlite_store.seals.in_range("acme", seals[3].window_end, None) == []


async def test_one_holder_at_a_time_takes_the_lease_across_two_stores_on_one_file(
    db_path: Path,
) -> None:
    first, second = await open_store(db_path), await open_store(db_path)
    try:
        later = NOW + timedelta(minutes=1)
        assert await first.sealer_state.acquire("a", now=NOW, until=later) is True
        assert await second.sealer_state.acquire("b", now=NOW, until=later) is False
        assert await first.sealer_state.acquire("a", now=NOW, until=later) is True
        await second.sealer_state.advance("b", NOW)  # not the holder: ignored
        assert await first.sealer_state.sealed_through() is None
        await first.sealer_state.advance("a", NOW)
        assert await second.sealer_state.sealed_through() == NOW
        # Once the lease has run out, another holder takes it.
        assert (
            await second.sealer_state.acquire("b", now=later, until=later + timedelta(minutes=1))
            is True
        )
        assert await first.sealer_state.acquire("a", now=later, until=later) is False
    finally:
        await first.close()
        await second.close()
