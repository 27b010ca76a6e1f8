"""Richer events in the file (migration 4): older files read back unchanged, a key is unique
per account at the database, and `entry_targets` holds what the target filters walk --
written with its entry or not at all, append-only, and swept with it."""

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.outbound.sqlite import entries as entries_module
from adapters.outbound.sqlite import writer as writer_module
from adapters.outbound.sqlite.mappers import ENTRY_COLUMNS, SEAL_COLUMNS, entry_to_row, seal_to_row
from adapters.outbound.sqlite.schema import MIGRATIONS, SCHEMA_VERSION, prepare
from adapters.outbound.sqlite.store import SqliteStore
from application.errors import Conflict, IdempotencyKeyTaken
from application.reading.criteria import EntryCriteria, LogFilter, Order, Position
from domain.event_parts import Party
from tests.adapters.sqlite.conftest import open_store, sealed
from tests.builders import entry

BOB = Party("user_01HBOB", "user", "Bob")
DOC = Party("doc_7", "document")


def target_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT entry_id, target_id, target_type FROM entry_targets ORDER BY rowid"
        ).fetchall()


async def test_a_version_3_file_reads_back_every_old_entry_with_its_digest_and_takes_new_ones(
    db_path: Path,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old = [entry(created_at=now - timedelta(minutes=i), reason=f"r{i}") for i in range(5)]
    with sqlite3.connect(db_path, isolation_level=None) as conn:
        prepare(conn, MIGRATIONS[:3])
        columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
        for stored in old:
            values = dict(zip(ENTRY_COLUMNS, entry_to_row(stored), strict=True))
            conn.execute(
                f"INSERT INTO entries ({', '.join(columns)})"  # noqa: S608
                f" VALUES ({', '.join('?' * len(columns))})",
                [values[column] for column in columns],
            )
        seal = sealed("acme")
        conn.execute(
            f"INSERT INTO seals ({SEAL_COLUMNS}) VALUES ({', '.join('?' * 12)})",  # noqa: S608
            seal_to_row(seal),
        )
    assert "occurred_at" not in columns
    store = await open_store(db_path)
    try:
        read = await store.entries.query(EntryCriteria(LogFilter()), now=now, after=None, limit=10)
        new = entry(created_at=now, idempotency_key="k", actor=BOB, targets=(DOC,))
        await store.entries.add(new)
        by_target = await store.entries.query(
            EntryCriteria(LogFilter(account="acme", target_id=DOC.id)),
            now=now,
            after=None,
            limit=10,
        )
        seals = await store.seals.in_range("acme", None, None)
    finally:
        await store.close()

    assert read == old
    assert [e.digest for e in read] == [e.content_digest() for e in read]
    assert [e.digest for e in read] == [e.digest for e in old]
    assert all(e.occurred_at is None for e in read)
    assert by_target == [new]
    assert seals == [seal]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_an_entry_has_a_target_row_per_distinct_id_type_and_pair(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    shared = Party(BOB.id, "api_key")
    first = entry(targets=(BOB, DOC, shared, BOB))
    await sqlite_store.entries.add_many([first, entry()])

    assert sorted(target_rows(db_path), key=str) == sorted(
        [
            (first.id, BOB.id, None),
            (first.id, DOC.id, None),
            (first.id, None, "user"),
            (first.id, None, "document"),
            (first.id, None, "api_key"),
            (first.id, BOB.id, "user"),
            (first.id, DOC.id, "document"),
            (first.id, BOB.id, "api_key"),
        ],
        key=str,
    )


async def test_a_refused_batch_leaves_no_target_rows(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    await sqlite_store.entries.add(entry(idempotency_key="taken"))

    with pytest.raises(IdempotencyKeyTaken):
        await sqlite_store.entries.add_many(
            [entry(targets=(BOB,)), entry(targets=(DOC,), idempotency_key="taken")]
        )

    assert target_rows(db_path) == []


async def test_a_retried_delivery_writes_no_target_row_twice(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    delivery = [entry(targets=(BOB,), idempotency_key=f"d{i}") for i in range(3)]
    await sqlite_store.entries.add(delivery[0])

    await sqlite_store.entries.add_many(delivery, skip_existing=True)

    assert len(target_rows(db_path)) == 3 * 3
    assert len(set(target_rows(db_path))) == 3 * 3


async def test_a_row_whose_id_and_key_are_both_taken_is_a_conflict(
    sqlite_store: SqliteStore,
) -> None:
    # SQLite reports the key index before the primary key: the id decides anyway.
    stored = entry(idempotency_key="k")
    await sqlite_store.entries.add(stored)

    with pytest.raises(Conflict) as again:
        await sqlite_store.entries.add(stored)
    with pytest.raises(Conflict) as later:
        await sqlite_store.entries.add_many(
            [entry(idempotency_key="k"), entry(), entry(entry_id=stored.id)]
        )

    assert again.value.ident == later.value.ident == stored.id


async def test_a_retried_delivery_still_refuses_a_new_id_with_a_taken_key(
    sqlite_store: SqliteStore,
) -> None:
    await sqlite_store.entries.add(entry(idempotency_key="k"))

    with pytest.raises(IdempotencyKeyTaken) as refused:
        await sqlite_store.entries.add_many([entry(idempotency_key="k")], skip_existing=True)

    assert refused.value.key == "k"


async def test_a_taken_key_fails_only_its_own_caller_in_a_group(
    sqlite_store: SqliteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups: list[int] = []
    commit = writer_module.Writer._commit

    def counted(self: writer_module.Writer, conn: sqlite3.Connection, group: Any) -> None:
        groups.append(len(group))
        commit(self, conn, group)

    monkeypatch.setattr(writer_module.Writer, "_commit", counted)
    await sqlite_store.entries.add(entry(idempotency_key="taken"))
    fresh = [entry(targets=(BOB,), idempotency_key=f"f{i}") for i in range(60)]
    clash = [entry(targets=(DOC,)), entry(targets=(DOC,), idempotency_key="taken")]
    calls: list[Any] = [sqlite_store.entries.add(e) for e in fresh]
    calls.insert(30, sqlite_store.entries.add_many(clash))

    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert [type(o) for o in outcomes if o is not None] == [IdempotencyKeyTaken]
    assert max(groups) > 2  # the clash shared a transaction with fresh adds
    assert {row[0] for row in target_rows(db_path)} == {e.id for e in fresh}


async def test_holding_keys_asks_in_chunks_and_finds_expired_rows_in_the_order_asked(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entries_module, "KEYS_PER_QUERY", 7)
    gone = datetime.now(UTC) - timedelta(days=2)
    stored = [
        entry(account=f"a{i % 3}", idempotency_key=f"k{i}", created_at=gone) for i in range(20)
    ]
    await sqlite_store.entries.add_many(stored)
    asked = [(e.account, e.idempotency_key or "") for e in reversed(stored)]

    found = await sqlite_store.entries.holding_keys([("a0", "none"), *asked, asked[0]])

    assert found == list(reversed(stored))


async def test_target_rows_are_append_only_and_swept_with_their_entries(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    now = datetime.now(UTC)
    expired = entry(
        created_at=now - timedelta(hours=2), retention=timedelta(hours=1), targets=(BOB, DOC)
    )
    live = entry(created_at=now, targets=(DOC,))
    await sqlite_store.entries.add_many([expired, live])

    with sqlite3.connect(db_path, isolation_level=None) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE entry_targets SET target_id = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="only once expired"):
            conn.execute("DELETE FROM entry_targets WHERE entry_id = ?", (live.id,))
    deleted = await sqlite_store.sweep.run_once()

    assert deleted == 1 + 6  # the entry and its rows
    assert {row[0] for row in target_rows(db_path)} == {live.id}


NARROWINGS: list[dict[str, Any]] = [
    {"target_id": BOB.id},
    {"target_type": "user"},
    {"target_id": BOB.id, "target_type": "user"},
    {"target_id": BOB.id, "target_type": "api_key", "success": False},
    {"target_type": "document", "application": "billing"},
    {"target_type": "document", "email": "ann@example.com"},
    {"target_id": DOC.id, "actor_id": BOB.id},
    {"actor_id": BOB.id, "actions": ("auth.login", "auth.logout")},
    {"target_type": "user", "actions": ("auth.login", "auth.logout")},
]


@pytest.mark.parametrize("order", list(Order))
@pytest.mark.parametrize("narrowing", NARROWINGS, ids=repr)
async def test_an_account_s_actor_and_target_filters_page_through_what_admits_selects(
    sqlite_store: SqliteStore, narrowing: dict[str, Any], order: Order
) -> None:
    # With an account, these walk entry_targets or the actor index (the contract's cases,
    # without one, walk the entries of every account).
    now = datetime.now(UTC).replace(microsecond=0)
    parts: list[dict[str, Any]] = [
        {"targets": (BOB, Party("user_2", "user"), BOB), "actor": BOB},
        {"targets": (Party(BOB.id, "api_key"), DOC), "success": False},
        {"targets": (DOC, Party("user_9", "user")), "application": "billing"},
        {"targets": (DOC,), "email": "ann@example.com", "actor": BOB, "action": "auth.logout"},
        {"account": "globex", "targets": (BOB, DOC), "actor": BOB},
        {},
    ]
    added = [
        entry(created_at=now - timedelta(seconds=i // 2), **parts[i % len(parts)])
        for i in range(30)
    ]
    await sqlite_store.entries.add_many(added)
    wanted = EntryCriteria(LogFilter(account="acme", **narrowing))

    seen: list[str] = []
    after: Position | None = None
    while page := await sqlite_store.entries.query(
        wanted, now=now, after=after, limit=4, order=order
    ):
        seen += [e.id for e in page]
        after = Position(page[-1].created_at, page[-1].id)

    expected = sorted(
        (e for e in added if wanted.admits(e)),
        key=lambda e: (e.created_at, e.id),
        reverse=order is Order.NEWEST_FIRST,
    )
    assert expected
    assert seen == [e.id for e in expected]
