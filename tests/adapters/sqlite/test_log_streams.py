"""Log streams in the file (migration 5): a file at schema 4 gains `log_streams` with its
trail unchanged and still append-only, and a row that does not read back as a stream (altered
by hand, corrupt) is an `UnreadableStream` naming the stream, never quoting a stored value."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.outbound.sqlite.mappers import ENTRY_COLUMNS, SEAL_COLUMNS, entry_to_row, seal_to_row
from adapters.outbound.sqlite.schema import MIGRATIONS, SCHEMA_VERSION, prepare
from adapters.outbound.sqlite.store import SqliteStore
from application.reading.criteria import EntryCriteria, LogFilter
from application.streams.ports import UnreadableStream
from tests.adapters.sqlite.conftest import open_store, sealed
from tests.builders import entry
from tests.contracts.test_log_streams_contract import minimal, populated


def rows_of(path: Path, *tables: str) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}  # noqa: S608


def schema_of(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? ORDER BY name", (table,)
        ).fetchall()


async def test_a_version_4_file_gains_log_streams_with_its_trail_unchanged(
    db_path: Path, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old = [entry(created_at=now - timedelta(minutes=i), reason=f"r{i}") for i in range(3)]
    with sqlite3.connect(db_path, isolation_level=None) as conn:
        prepare(conn, MIGRATIONS[:4])
        marks = ", ".join("?" * len(ENTRY_COLUMNS))
        conn.executemany(
            f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            [entry_to_row(stored) for stored in old],
        )
        conn.execute(
            f"INSERT INTO seals ({SEAL_COLUMNS}) VALUES ({', '.join('?' * 12)})",  # noqa: S608
            seal_to_row(sealed("acme")),
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    trail = ("entries", "seals", "entry_targets")
    before = rows_of(db_path, *trail)
    schema_before = {table: schema_of(db_path, table) for table in trail}
    # The schema a new file gets at version 4, for comparison with the migrated one.
    with sqlite3.connect(tmp_path / "fresh.db", isolation_level=None) as fresh:
        prepare(fresh)

    store = await open_store(db_path)
    try:
        stream = populated()
        await store.log_streams.add(stream)
        read = await store.entries.query(EntryCriteria(LogFilter()), now=now, after=None, limit=10)
        got = await store.log_streams.get(stream.id)
    finally:
        await store.close()

    assert read == old
    assert got == stream
    assert rows_of(db_path, *trail) == before
    # Entries' and seals' triggers and indexes are as they were: still append-only.
    assert {table: schema_of(db_path, table) for table in trail} == schema_before
    assert schema_of(db_path, "log_streams") == schema_of(tmp_path / "fresh.db", "log_streams")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE entries SET reason = 'changed'")
    assert not [row for row in schema_of(db_path, "log_streams") if row[0] == "trigger"]


def rewrite(path: Path, stream_id: str, change: Any) -> None:
    """Change the stored row behind the service's back: `change` takes and returns the
    JSON document (or a replacement text)."""
    with sqlite3.connect(path) as conn:
        [text] = conn.execute(
            "SELECT document FROM log_streams WHERE id = ?", (stream_id,)
        ).fetchone()
        altered = change(json.loads(text))
        if not isinstance(altered, str):
            altered = json.dumps(altered)
        conn.execute("UPDATE log_streams SET document = ? WHERE id = ?", (altered, stream_id))


def setting(path: str, value: Any) -> Any:
    def change(document: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        at = document
        for key in parents:
            at = at[key]
        at[last] = value
        return document

    return change


def removing(key: str) -> Any:
    def change(document: dict[str, Any]) -> dict[str, Any]:
        del document[key]
        return document

    return change


@pytest.mark.parametrize(
    "change",
    [
        setting("kind", "CARRIER_PIGEON"),
        setting("url", "ftp://x-hunter2.example.com/"),
        setting("state", "SLEEPING"),
        setting("paused", "x-hunter2"),
        setting("progress.position", {"created_at": "x-hunter2", "entry_id": "e"}),
        setting("lease.until", "x-hunter2"),
        setting("secret", {"ciphertext": "x-hunter2"}),
        setting("filter.actions", []),
        setting("filter.email", "x-hunter2"),
        removing("failure"),
        lambda _: "x-hunter2 {not json",
    ],
    ids=[
        "kind",
        "url",
        "state",
        "paused",
        "position",
        "lease",
        "secret",
        "filter-actions",
        "filter-email",
        "missing",
        "not-json",
    ],
)
async def test_a_row_that_does_not_read_back_is_unreadable_naming_only_the_stream(
    sqlite_store: SqliteStore, db_path: Path, change: Any
) -> None:
    stream = populated()
    await sqlite_store.log_streams.add(stream)
    await sqlite_store.log_streams.add(minimal())
    rewrite(db_path, stream.id, change)

    for read in (sqlite_store.log_streams.get(stream.id), sqlite_store.log_streams.list()):
        with pytest.raises(UnreadableStream) as unreadable:
            await read
        assert unreadable.value.stream_id == stream.id
        assert stream.id in str(unreadable.value)
        assert "hunter2" not in str(unreadable.value)
        assert unreadable.value.__cause__ is None
    assert await sqlite_store.log_streams.list("acme") == [minimal()]
    readable = await sqlite_store.log_streams.readable()
    assert (readable.streams, readable.unreadable) == ([minimal()], [stream.id])
