"""Faults at run time answer StoreUnavailable (never the driver's text), lose nothing
already acknowledged, and the store recovers by itself once the cause goes away."""

import asyncio
import logging
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore
from adapters.outbound.sqlite.writer import begin_immediate
from application.errors import StoreUnavailable
from application.reading.criteria import EntryCriteria, LogFilter
from tests.builders import entry

EVERYTHING = EntryCriteria(LogFilter())


async def stored_ids(store: SqliteStore) -> set[str]:
    now = datetime.now(UTC)
    return {e.id for e in await store.entries.query(EVERYTHING, now=now, after=None, limit=99)}


async def test_a_lock_held_past_the_busy_timeout_is_unavailable_then_writes_work_again(
    sqlite_store: SqliteStore, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    acknowledged = entry()
    await sqlite_store.entries.add(acknowledged)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    refused = entry()
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable):
            await sqlite_store.entries.add(refused)
        # Reads go on beside the lock (WAL).
        assert await stored_ids(sqlite_store) == {acknowledged.id}
        with pytest.raises(StoreUnavailable):
            await sqlite_store.accounts.set_plan("acme", "pro")
    finally:
        other.execute("ROLLBACK")
        other.close()

    later = entry()
    await sqlite_store.entries.add(later)
    assert await stored_ids(sqlite_store) == {acknowledged.id, later.id}
    assert "SQLITE_BUSY" in caplog.text
    assert "locked" not in caplog.text  # the driver's message is not logged


async def test_a_read_that_fails_is_unavailable_and_the_next_one_answers(
    sqlite_store: SqliteStore,
) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(StoreUnavailable):
        await sqlite_store._readers(broken)
    assert await sqlite_store.ready() is True


async def test_writes_after_close_are_unavailable(db_path: Path) -> None:
    store = await SqliteStore.open(db_path, busy_timeout_ms=50, ttl_sweep_seconds=3600)
    await store.close()

    with pytest.raises(StoreUnavailable):
        await store.entries.add(entry())


async def test_a_write_failing_mid_group_fails_its_group_stores_none_of_it_then_writes_work(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    def disk_full(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def slow(conn: sqlite3.Connection) -> None:
        time.sleep(0.1)  # holds the writer, so everything below queues into one group

    group = [entry() for _ in range(20)]
    ahead = asyncio.create_task(sqlite_store._writer(slow))
    await asyncio.sleep(0.02)
    calls = [sqlite_store.entries.add(e) for e in group]
    calls.insert(10, sqlite_store._writer(disk_full))

    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    await ahead

    assert all(isinstance(o, StoreUnavailable) for o in outcomes)
    assert await stored_ids(sqlite_store) == set()
    later = entry()
    await sqlite_store.entries.add(later)
    assert later.id in await stored_ids(sqlite_store)


async def test_a_full_disk_is_unavailable_keeps_what_was_acknowledged_then_writes_work(
    sqlite_store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    acknowledged = entry()
    await sqlite_store.entries.add(acknowledged)

    def cap(conn: sqlite3.Connection) -> int:
        # The file may not grow past the pages it has: the next pages "do not fit on disk".
        pages: int = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return pages

    await sqlite_store._writer(cap)
    with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable):
        await sqlite_store.entries.add_many([entry(reason="x" * 500) for _ in range(500)])
    assert "SQLITE_FULL" in caplog.text

    await sqlite_store._writer(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))
    later = entry()
    await sqlite_store.entries.add(later)
    assert await stored_ids(sqlite_store) == {acknowledged.id, later.id}


async def test_a_write_waits_for_a_lock_another_process_holds_briefly_then_commits(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing (its commit is on its way)
    released = asyncio.get_running_loop().call_later(0.05, other.execute, "COMMIT")
    waiting = entry()
    try:
        await sqlite_store.entries.add(waiting)
    finally:
        released.cancel()
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()

    assert await stored_ids(sqlite_store) == {waiting.id}


def test_the_writer_asks_again_for_the_lock_until_its_patience_runs_out(db_path: Path) -> None:
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")
    asking = sqlite3.connect(db_path, isolation_level=None)
    asking.execute("PRAGMA busy_timeout = 0")
    tries = []
    asking.set_trace_callback(lambda statement: tries.append(statement))
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError) as busy:
            begin_immediate(asking, 0.05)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert busy.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    assert waited >= 0.05
    assert tries.count("BEGIN IMMEDIATE") > 10  # asked again every 2 ms at most, not 1-100
    begin_immediate(asking, 0.05)  # free again: at once
    asking.execute("ROLLBACK")
    asking.close()
