"""A backup while serving is a consistent copy that opens as the store: every entry
acknowledged before it, the schema and its triggers; nothing is overwritten."""

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore
from application.reading.criteria import EntryCriteria, LogFilter
from domain.tenancy import Account
from tests.adapters.sqlite.conftest import open_store
from tests.builders import entry


async def test_a_backup_taken_during_writes_restores_everything_acknowledged_before_it(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    before = [entry() for _ in range(500)]
    await sqlite_store.entries.add_many(before)
    await sqlite_store.accounts.add(Account(id="acme", name="Acme", plan="free"))
    during = [entry() for _ in range(200)]
    target = tmp_path / "backup.db"

    writes = asyncio.gather(*(sqlite_store.entries.add(e) for e in during))
    await sqlite_store.backup(target)
    await writes

    restored = await open_store(target)
    try:
        stored = await restored.entries.query(
            EntryCriteria(LogFilter()), now=datetime.now(UTC), after=None, limit=1_000
        )
        account = await restored.accounts.get("acme")
    finally:
        await restored.close()
    ids = {e.id for e in stored}
    assert {e.id for e in before} <= ids <= {e.id for e in before + during}
    assert {e.id: e for e in stored} == {e.id: e for e in before + during if e.id in ids}
    assert account == Account(id="acme", name="Acme", plan="free")
    with (
        sqlite3.connect(target) as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        conn.execute("UPDATE entries SET action = 'x.y'")


async def test_a_backup_never_overwrites_a_file(sqlite_store: SqliteStore, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    target.write_text("keep me")

    with pytest.raises(FileExistsError):
        await sqlite_store.backup(target)
    assert target.read_text() == "keep me"
