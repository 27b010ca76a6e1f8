"""Append-only at the database: even a plain `sqlite3` connection, bypassing the adapter,
cannot update an entry or a seal, nor delete one before its expires_at has passed."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore
from tests.adapters.sqlite.conftest import sealed
from tests.builders import entry

LIVE = "live".ljust(24, "0")
EXPIRED = "expired".ljust(24, "0")


@pytest.fixture
async def trail(sqlite_store: SqliteStore, db_path: Path) -> Path:
    now = datetime.now(UTC)
    await sqlite_store.entries.add(entry(entry_id=LIVE, created_at=now))
    await sqlite_store.entries.add(
        entry(entry_id=EXPIRED, created_at=now - timedelta(hours=2), retention=timedelta(hours=1))
    )
    await sqlite_store.seals.add(sealed("acme"))
    await sqlite_store.seals.add(sealed("globex", expires_at=now - timedelta(hours=1)))
    return db_path


def plain(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE entries SET action = 'auth.logout' WHERE id = ?",
        "UPDATE entries SET expires_at = 0 WHERE id = ?",
        "UPDATE OR REPLACE entries SET success = 1 - success WHERE id = ?",
    ],
)
@pytest.mark.parametrize("entry_id", [LIVE, EXPIRED])
def test_no_entry_can_be_updated_even_directly(trail: Path, statement: str, entry_id: str) -> None:
    with plain(trail) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement, (entry_id,))


def test_a_live_entry_cannot_be_deleted_even_directly(trail: Path) -> None:
    with plain(trail) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="only once expired"):
            conn.execute("DELETE FROM entries WHERE id = ?", (LIVE,))
        with pytest.raises(sqlite3.IntegrityError, match="only once expired"):
            conn.execute("DELETE FROM entries")  # all or nothing: the expired one stays too
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 2


def test_an_expired_entry_can_be_deleted(trail: Path) -> None:
    with plain(trail) as conn:
        conn.execute("DELETE FROM entries WHERE id = ?", (EXPIRED,))
        assert [r[0] for r in conn.execute("SELECT id FROM entries")] == [LIVE]


def test_no_seal_can_be_updated_and_a_live_one_not_deleted_even_directly(trail: Path) -> None:
    with plain(trail) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE seals SET signature = 'forged'")
        with pytest.raises(sqlite3.IntegrityError, match="only once expired"):
            conn.execute("DELETE FROM seals WHERE account = 'acme'")
        conn.execute("DELETE FROM seals WHERE account = 'globex'")
        assert [r[0] for r in conn.execute("SELECT account FROM seals")] == ["acme"]
