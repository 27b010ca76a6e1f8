"""Concurrent writes commit together, and each caller still hears its own outcome: a taken
id fails that caller alone with `Conflict`, and an add returns only once committed."""

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adapters.outbound.sqlite import writer as writer_module
from adapters.outbound.sqlite.store import SqliteStore
from application.errors import Conflict, StoreUnavailable
from application.reading.criteria import EntryCriteria, LogFilter
from domain.entry import AuditEntry
from tests.builders import entry


def count_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        rows: int = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    return rows


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every group the writer commits."""
    sizes: list[int] = []
    commit = writer_module.Writer._commit

    def counted(self: writer_module.Writer, conn: sqlite3.Connection, group: Any) -> None:
        sizes.append(len(group))
        commit(self, conn, group)

    monkeypatch.setattr(writer_module.Writer, "_commit", counted)
    return sizes


async def test_many_concurrent_adds_are_all_stored_in_fewer_commits(
    groups: list[int], db_path: Path
) -> None:
    store = await SqliteStore.open(db_path, busy_timeout_ms=1000, ttl_sweep_seconds=3600)
    entries = [entry() for _ in range(500)]
    try:
        await asyncio.gather(*(store.entries.add(e) for e in entries))
        # Every add has returned, so every one is committed: a plain connection sees them.
        assert count_rows(db_path) == 500
        stored = await store.entries.query(
            EntryCriteria(LogFilter()), now=entries[0].created_at, after=None, limit=1000
        )
    finally:
        await store.close()

    assert {e.id for e in stored} == {e.id for e in entries}
    assert sum(groups) == 500
    assert len(groups) < 100, groups  # grouped: far fewer commits than adds


async def test_a_taken_id_fails_only_its_own_caller_in_a_group(
    groups: list[int], sqlite_store: SqliteStore, db_path: Path
) -> None:
    taken = entry(entry_id="t" * 24)
    await sqlite_store.entries.add(taken)
    fresh = [entry() for _ in range(100)]
    clashing = [entry(entry_id="t" * 24, action="auth.logout") for _ in range(5)]
    batch_clash = [entry(), entry(entry_id="t" * 24)]
    calls: list[Any] = [sqlite_store.entries.add(e) for e in fresh]
    for i, clash in enumerate(clashing):
        calls.insert(i * 20, sqlite_store.entries.add(clash))
    calls.insert(50, sqlite_store.entries.add_many(batch_clash))

    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    failures = [o for o in outcomes if o is not None]
    assert len(failures) == 6
    assert all(isinstance(f, Conflict) for f in failures)
    assert max(groups) > 6  # the clashes shared a transaction with the fresh adds
    with sqlite3.connect(db_path) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM entries")}
        action = conn.execute("SELECT action FROM entries WHERE id = ?", (taken.id,)).fetchone()
    assert ids == {taken.id} | {e.id for e in fresh}  # and none of the failed batch
    assert action == (taken.action,)


async def test_a_caller_that_gives_up_does_not_stop_the_others(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    entries = [entry() for _ in range(50)]
    tasks = [asyncio.create_task(sqlite_store.entries.add(e)) for e in entries]
    tasks[10].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    assert count_rows(db_path) in (49, 50)  # the cancelled one may have been taken already
    assert all(t.cancelled() or t.exception() is None for t in tasks)


async def test_close_finishes_the_writes_already_queued(db_path: Path) -> None:
    store = await SqliteStore.open(db_path, busy_timeout_ms=1000, ttl_sweep_seconds=3600)
    entries: list[AuditEntry] = [entry() for _ in range(200)]
    pending = [asyncio.create_task(store.entries.add(e)) for e in entries]
    await asyncio.sleep(0)  # every add is queued

    await store.close()

    await asyncio.gather(*pending)
    assert count_rows(db_path) == 200


async def test_a_writer_that_breaks_fails_its_callers_instead_of_leaving_them_waiting(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: writer_module.Writer, conn: sqlite3.Connection, group: Any) -> None:
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(writer_module.Writer, "_commit", broken)
    async with asyncio.timeout(5):
        outcomes = await asyncio.gather(
            *(sqlite_store.entries.add(entry()) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(o, StoreUnavailable) for o in outcomes)
        with pytest.raises(StoreUnavailable):
            await sqlite_store.entries.add(entry())
