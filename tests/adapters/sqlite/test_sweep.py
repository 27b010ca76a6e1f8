"""Expiry: expired entries are never served, the sweep deletes them and expired seals in
chunks and gives the space back, and it runs by itself every interval."""

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite import sweep as sweep_module
from adapters.outbound.sqlite.store import SqliteStore
from application.reading.criteria import EntryCriteria, LogFilter
from tests.adapters.sqlite.conftest import open_store, sealed
from tests.builders import entry

EVERYTHING = EntryCriteria(LogFilter())


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        count: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return count


async def add_expired_and_live(store: SqliteStore, expired: int, live: int) -> datetime:
    now = datetime.now(UTC)
    gone = now - timedelta(hours=2)
    await store.entries.add_many(
        [entry(created_at=gone, retention=timedelta(hours=1)) for _ in range(expired)]
    )
    await store.entries.add_many([entry(created_at=now) for _ in range(live)])
    await store.seals.add(sealed("acme", window=0, expires_at=now - timedelta(minutes=1)))
    await store.seals.add(sealed("acme", window=1))
    return now


async def test_expired_entries_are_never_served_before_the_sweep(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    now = await add_expired_and_live(sqlite_store, expired=5, live=3)

    served = await sqlite_store.entries.query(EVERYTHING, now=now, after=None, limit=100)
    streamed = [
        e async for batch in sqlite_store.entries.stream(EVERYTHING, now=now) for e in batch
    ]

    assert len(served) == len(streamed) == 3
    assert rows(db_path, "entries") == 8  # still stored: only the sweep deletes


async def test_the_sweep_deletes_expired_entries_and_seals_in_chunks_and_keeps_live_ones(
    sqlite_store: SqliteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_module, "CHUNK_ROWS", 10)
    chunks: list[int] = []
    write = sqlite_store.sweep._write

    async def counted(fn):  # type: ignore[no-untyped-def]
        result = await write(fn)
        if isinstance(result, int) and not isinstance(result, bool):
            chunks.append(result)
        return result

    monkeypatch.setattr(sqlite_store.sweep, "_write", counted)
    await add_expired_and_live(sqlite_store, expired=35, live=4)

    deleted = await sqlite_store.sweep.run_once()

    assert deleted == 36  # 35 entries and a seal
    # none of entry_targets (these have no targets), checkpoints or their listings
    assert chunks == [10, 10, 10, 5, 0, 1, 0, 0]
    assert rows(db_path, "entries") == 4
    assert [s.window_start for s in await sqlite_store.seals.in_range("acme", None, None)] == [
        sealed("acme", window=1).window_start
    ]


async def test_the_sweep_gives_the_freed_pages_back_to_the_file_system(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_expired_and_live(sqlite_store, expired=20_000, live=10)

    def pages(conn: sqlite3.Connection) -> tuple[int, int]:
        return (
            conn.execute("PRAGMA page_count").fetchone()[0],
            conn.execute("PRAGMA freelist_count").fetchone()[0],
        )

    reclaims = 0
    write = sqlite_store.sweep._write

    async def counted(fn):  # type: ignore[no-untyped-def]
        nonlocal reclaims
        reclaims += fn is sweep_module._reclaim
        return await write(fn)

    monkeypatch.setattr(sqlite_store.sweep, "_write", counted)
    before, _ = await sqlite_store._writer(pages)
    await sqlite_store.sweep.run_once()
    after, free = await sqlite_store._writer(pages)

    assert after < before / 4
    assert free == 0
    # In writes of VACUUM_PAGES pages each, not one write per page.
    assert reclaims <= (before - after) // sweep_module.VACUUM_PAGES + 2


async def test_the_sweep_runs_by_itself_every_interval(db_path: Path) -> None:
    store = await open_store(db_path, sweep_seconds=0.05)
    try:
        await add_expired_and_live(store, expired=3, live=2)
        for _ in range(100):
            if rows(db_path, "entries") == 2:
                break
            await asyncio.sleep(0.02)
        assert rows(db_path, "entries") == 2
    finally:
        await store.close()
