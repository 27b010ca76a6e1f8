"""The file: created ours at the latest version with the settings durability needs, kept
across restarts, migrated forward in one transaction, and refused (one clear line, no
traceback text) when foreign, newer or corrupt."""

import sqlite3
from dataclasses import fields
from pathlib import Path

import pytest

from adapters.outbound.sqlite.mappers import (
    ENTRY_COLUMNS,
    entry_to_row,
)
from adapters.outbound.sqlite.schema import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    UnusableFile,
    prepare,
    why,
)
from adapters.outbound.sqlite.store import StoreUnreachable
from application.reading.criteria import EntryCriteria, LogFilter
from domain.entry import AuditEntry
from tests.adapters.sqlite.conftest import open_store
from tests.builders import entry
from tests.contracts.checkpoints import chain, head


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_a_new_file_is_ours_at_the_latest_version_in_wal_with_incremental_vacuum(
    db_path: Path,
) -> None:
    store = await open_store(db_path)
    synchronous = await store._writer(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
    await store.close()

    assert pragma(db_path, "application_id") == APPLICATION_ID
    assert pragma(db_path, "user_version") == SCHEMA_VERSION == len(MIGRATIONS)
    assert pragma(db_path, "journal_mode") == "wal"
    assert pragma(db_path, "auto_vacuum") == 2  # INCREMENTAL
    assert synchronous == 2  # FULL: a commit is on disk before an add returns


def test_the_entries_table_has_a_column_per_entry_field_in_the_mapper_s_order(
    tmp_path: Path,
) -> None:
    # A field added to AuditEntry fails here until a migration adds its column.
    with sqlite3.connect(tmp_path / "a.db", isolation_level=None) as conn:
        prepare(conn)
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(entries)"))
    assert sorted(columns) == sorted(f.name for f in fields(AuditEntry))
    assert columns == ENTRY_COLUMNS  # the order entry_to_row writes and entry_to_domain reads


def insert_as_then(conn: sqlite3.Connection, stored: AuditEntry) -> None:
    """Insert `stored` into the columns the file has: as the version it is at wrote it."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
    values = dict(zip(ENTRY_COLUMNS, entry_to_row(stored), strict=True))
    conn.execute(
        f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
        [values[column] for column in columns],
    )


async def test_entries_are_kept_across_a_restart(db_path: Path) -> None:
    stored = entry()
    store = await open_store(db_path)
    await store.entries.add(stored)
    await store.close()

    reopened = await open_store(db_path)
    try:
        read = await reopened.entries.query(
            EntryCriteria(LogFilter()), now=stored.created_at, after=None, limit=5
        )
        assert await reopened.ready() is True
    finally:
        await reopened.close()
    assert read == [stored]


def rows_of(path: Path, *tables: str) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}  # noqa: S608


async def test_a_version_1_file_migrates_forward_keeping_its_data_and_gains_checkpoints(
    db_path: Path,
) -> None:
    stored = entry()
    with sqlite3.connect(db_path, isolation_level=None) as conn:
        prepare(conn, MIGRATIONS[:1])
        insert_as_then(conn, stored)
        # As version 1 wrote a seal, whatever the seal's row is now.
        conn.execute(
            "INSERT INTO seals VALUES ('acme/1', 'acme', 1, 2, '[]', 'root', NULL, 3, 'k1', 'sig',"
            " ?)",
            (2**62,),
        )
    before = rows_of(db_path, "entries", "seals")
    assert pragma(db_path, "user_version") == 1

    store = await open_store(db_path)
    try:
        read = await store.entries.query(
            EntryCriteria(LogFilter()), now=stored.created_at, after=None, limit=5
        )
        assert read == [stored]
        [first] = chain((head("acme", 0),))
        assert await store.checkpoints.add(first) is True
        assert await store.checkpoints.latest() == first
        assert await store.ready() is True
    finally:
        await store.close()
    assert pragma(db_path, "user_version") == SCHEMA_VERSION
    # Every row kept; a seal written before version 3 is a version 1 seal; an entry written
    # before version 4 has none of its columns.
    after = rows_of(db_path, "entries", "seals")
    assert after["entries"] == [(*row, None, None, None, None, None) for row in before["entries"]]
    assert after["seals"] == [(*row, 1) for row in before["seals"]]
    with sqlite3.connect(db_path) as conn:
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
        }
    assert {f"{table}_{rule}" for table in ("checkpoints", "checkpoint_seals")
            for rule in ("no_update", "no_early_delete")} <= triggers  # fmt: skip


def test_migrations_run_in_order_from_the_file_s_version_in_one_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    v2 = ["CREATE TABLE extra (n INTEGER)", "INSERT INTO extra VALUES (2)"]
    v3 = ["UPDATE extra SET n = n * 10"]
    with sqlite3.connect(path, isolation_level=None) as conn:
        prepare(conn)
        prepare(conn, [*MIGRATIONS, v2, v3])
        assert conn.execute("SELECT n FROM extra").fetchall() == [(20,)]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 2
        prepare(conn, [*MIGRATIONS, v2, v3])  # at the latest already: nothing runs again
        assert conn.execute("SELECT n FROM extra").fetchall() == [(20,)]


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    v2 = ["CREATE TABLE extra (n INTEGER)"]
    v3 = ["CREATE TABLE more (n INTEGER)", "INSERT INTO no_such_table VALUES (1)"]
    with sqlite3.connect(path, isolation_level=None) as conn:
        prepare(conn)
        with pytest.raises(UnusableFile):
            prepare(conn, [*MIGRATIONS, v2, v3])
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    assert not {"extra", "more"} & tables


async def refusal(path: Path) -> str:
    with pytest.raises(StoreUnreachable) as refused:
        await open_store(path)
    message = str(refused.value)
    assert "\n" not in message
    assert str(path) in message
    return message


async def test_a_file_written_by_a_newer_version_is_refused(db_path: Path) -> None:
    await (await open_store(db_path)).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    assert "newer version" in await refusal(db_path)
    assert pragma(db_path, "user_version") == SCHEMA_VERSION + 1  # left as it was


@pytest.mark.parametrize("application_id", [0, 0x12345678])
async def test_a_foreign_sqlite_file_is_refused_and_left_alone(
    db_path: Path, application_id: int
) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute(f"PRAGMA application_id = {application_id}")

    assert "foreign" in await refusal(db_path)
    with sqlite3.connect(db_path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema")]
    assert tables == ["notes"]


def write_garbage(path: Path) -> None:
    path.write_bytes(b"these are not the pages you are looking for\n" * 200)


async def test_a_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    write_garbage(db_path)

    assert "not an SQLite database, or it is corrupt" in await refusal(db_path)


async def test_a_database_with_corrupt_pages_is_refused(db_path: Path) -> None:
    store = await open_store(db_path)
    await store.entries.add_many([entry() for _ in range(2_000)])
    await store.close()
    garble_index_root(db_path)

    assert "corrupt" in await refusal(db_path)


def garble_index_root(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'entries_account_newest'"
        ).fetchone()[0]
    data = bytearray(db_path.read_bytes())
    start = (root - 1) * page_size
    data[start : start + page_size] = b"\xa5" * page_size  # the index's root page, garbled
    db_path.write_bytes(bytes(data))


def test_refusals_name_no_driver_text() -> None:
    with sqlite3.connect(":memory:") as conn, pytest.raises(sqlite3.Error) as failed:
        conn.execute("SELECT * FROM missing_table_with_a_secret_name")
    assert "secret" not in why(failed.value)


async def test_ready_is_false_once_closed(db_path: Path) -> None:
    store = await open_store(db_path)
    assert await store.ready() is True
    await store.close()
    assert await store.ready() is False


async def test_a_file_that_cannot_be_opened_is_refused(tmp_path: Path) -> None:
    assert "SQLITE_CANTOPEN" in await refusal(tmp_path / "no" / "such" / "dir" / "a.db")


def test_a_database_that_cannot_use_wal_is_refused() -> None:
    # An in-memory database stands for a file system without shared memory for the WAL.
    with sqlite3.connect(":memory:", isolation_level=None) as conn, pytest.raises(UnusableFile):
        prepare(conn)
