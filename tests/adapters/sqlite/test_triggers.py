"""Append-only at the database: even a plain `sqlite3` connection, bypassing the adapter,
cannot update an entry, a seal or a checkpoint, nor delete one before its expires_at has
passed."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore
from domain.checkpoint import Checkpoint, SealedHead
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


def checkpoint(sequence: int, *, issued_at: datetime, account: str) -> Checkpoint:
    """A checkpoint listing one seal of `account` that lasts as long as the checkpoint."""
    head = SealedHead(
        account=account,
        seal_id=f"{account}/{sequence}",
        window_start=issued_at - timedelta(minutes=5),
        seal_hash="ab" * 32,
        expires_at=issued_at,
    )
    return Checkpoint(
        sequence=sequence,
        previous=None,
        previous_expires_at=None,
        issued_at=issued_at,
        sealed_through=issued_at,
        sealed=(head,),
        key_id="k1",
        signature=f"sig-{sequence}",
    )


@pytest.fixture
async def checkpoints(sqlite_store: SqliteStore, db_path: Path) -> Path:
    """Checkpoint 1 (acme's) live, checkpoint 2 (globex's) expired a day ago."""
    now = datetime.now(UTC)
    assert await sqlite_store.checkpoints.add(checkpoint(1, issued_at=now, account="acme"))
    expired = checkpoint(2, issued_at=now - timedelta(days=31), account="globex")
    assert expired.expires_at < now
    assert await sqlite_store.checkpoints.add(expired)
    return db_path


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE checkpoints SET document = '{}'",
        "UPDATE checkpoints SET expires_at = 0 WHERE sequence = 1",
        "UPDATE OR REPLACE checkpoints SET sequence = 3 WHERE sequence = 2",
        "UPDATE checkpoint_seals SET account = 'initech'",
        "UPDATE checkpoint_seals SET expires_at = 0 WHERE sequence = 1",
    ],
)
def test_no_checkpoint_nor_its_listing_can_be_updated_even_directly(
    checkpoints: Path, statement: str
) -> None:
    with plain(checkpoints) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement)


@pytest.mark.parametrize("table", ["checkpoints", "checkpoint_seals"])
def test_a_live_checkpoint_cannot_be_deleted_even_directly_an_expired_one_can(
    checkpoints: Path, table: str
) -> None:
    with plain(checkpoints) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="only once expired"):
            conn.execute(f"DELETE FROM {table} WHERE sequence = 1")  # noqa: S608
        with pytest.raises(sqlite3.IntegrityError, match="only once expired"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608
        conn.execute(f"DELETE FROM {table} WHERE sequence = 2")  # noqa: S608
        assert [r[0] for r in conn.execute(f"SELECT sequence FROM {table}")] == [1]  # noqa: S608


async def test_the_sweep_removes_expired_checkpoints_and_their_listings_only(
    sqlite_store: SqliteStore, checkpoints: Path
) -> None:
    assert await sqlite_store.sweep.run_once() == 2

    with plain(checkpoints) as conn:
        for table in ("checkpoints", "checkpoint_seals"):
            kept = [r[0] for r in conn.execute(f"SELECT sequence FROM {table}")]  # noqa: S608
            assert kept == [1], table
    assert [c.sequence for c in await sqlite_store.checkpoints.after(0, 10)] == [1]
