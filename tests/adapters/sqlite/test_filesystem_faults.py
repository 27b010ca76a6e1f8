"""Faults of a real filesystem under the store, on a small tmpfs mounted for the test: a disk
that is really full (ENOSPC from the kernel, not a page cap) and a read-only filesystem.

A filesystem cannot go read-only under the open store: Linux refuses `remount,ro` while any
file on it is open for writing, and the writer keeps the database, WAL and shm open for the
store's life. The read-only fault therefore reaches the store only when it opens (a restart);
`test_the_filesystem_cannot_go_read_only_under_an_open_store` pins that premise.

Mounting needs root; without it, or where mount fails, the tests skip and say why.
"""

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore, StoreUnreachable
from application.errors import StoreUnavailable
from application.reading.criteria import EntryCriteria, LogFilter
from tests.adapters.sqlite.conftest import open_store
from tests.builders import entry

EVERYTHING = EntryCriteria(LogFilter())
SIZE = "4m"
"""Room for the schema and a few hundred entries, and quick to fill."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"no {name} command to mount a tmpfs with")
    return path


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("mount"), *args], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def small_filesystem(where: Path) -> Iterator[Path]:
    """A tmpfs of `SIZE` mounted on `where` (created), unmounted on the way out whatever
    happened; skips the test if it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    umount = _tool("umount")
    where.mkdir(parents=True, exist_ok=True)
    mounted = _mount("-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs on {where}: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        # Lazily, so a file a failed test left open does not keep the mount behind it.
        subprocess.run([umount, "--lazy", str(where)], check=True, timeout=30)


def remount(where: Path, mode: str) -> None:
    result = _mount("-o", f"remount,{mode}", str(where))
    assert result.returncode == 0, result.stderr


@contextlib.contextmanager
def read_only(where: Path) -> Iterator[None]:
    """The filesystem at `where` read-only inside the block, writable again after it."""
    remount(where, "ro")
    try:
        yield
    finally:
        remount(where, "rw")


def _fill(filler: Path) -> int | None:
    """Write to `filler` until the filesystem refuses; the errno it refused with."""
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                return exc.errno


@contextlib.contextmanager
def full(where: Path) -> Iterator[None]:
    """The filesystem at `where` filled to the last byte inside the block, emptied after."""
    filler = where / "filler"
    try:
        assert _fill(filler) == errno.ENOSPC
        yield
    finally:
        filler.unlink(missing_ok=True)


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "fs") as where:
        yield where


@pytest.fixture
async def store_on_tmpfs(mounted: Path) -> AsyncIterator[SqliteStore]:
    store = await open_store(mounted / "auditlog.db")
    yield store
    await store.close()


async def stored_ids(store: SqliteStore) -> list[str]:
    """Every id stored, once per row (so a duplicate would show)."""
    now = datetime.now(UTC)
    return [e.id for e in await store.entries.query(EVERYTHING, now=now, after=None, limit=9999)]


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        result: str = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return result


async def test_a_full_filesystem_is_unavailable_stores_nothing_of_the_batch_then_writes_work(
    store_on_tmpfs: SqliteStore, mounted: Path, caplog: pytest.LogCaptureFixture
) -> None:
    acknowledged = [entry() for _ in range(3)]
    for e in acknowledged:
        await store_on_tmpfs.entries.add(e)

    refused = [entry(reason="x" * 500) for _ in range(500)]
    with full(mounted):
        with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable):
            await store_on_tmpfs.entries.add_many(refused)
        # A real ENOSPC is SQLite's SQLITE_FULL, named without the driver's message.
        assert "SQLITE_FULL" in caplog.text
        assert "disk is full" not in caplog.text
        assert sorted(await stored_ids(store_on_tmpfs)) == sorted(e.id for e in acknowledged)

    later = entry()
    await store_on_tmpfs.entries.add(later)
    expected = [e.id for e in acknowledged] + [later.id]
    assert sorted(await stored_ids(store_on_tmpfs)) == sorted(expected)
    assert await store_on_tmpfs.accounts.set_plan("acme", "pro") is None  # a tenancy write
    assert integrity(mounted / "auditlog.db") == "ok"


async def test_the_filesystem_cannot_go_read_only_under_an_open_store(
    store_on_tmpfs: SqliteStore, mounted: Path
) -> None:
    await store_on_tmpfs.entries.add(entry())

    result = _mount("-o", "remount,ro", str(mounted))

    assert result.returncode != 0, "the kernel let it: test writes on a read-only filesystem"
    assert "busy" in result.stderr
    await store_on_tmpfs.entries.add(entry())


async def test_a_read_only_filesystem_refuses_the_store_in_one_line_and_damages_nothing(
    mounted: Path,
) -> None:
    path = mounted / "auditlog.db"
    store = await open_store(path)
    acknowledged = [entry() for _ in range(3)]
    await store.entries.add_many(acknowledged)
    await store.close()

    with read_only(mounted), pytest.raises(StoreUnreachable) as refused:
        await open_store(path)
    assert str(refused.value) == (
        f"the database {path} cannot be used: the database failed (SQLITE_CANTOPEN)"
    )

    store = await open_store(path)
    try:
        later = entry()
        await store.entries.add(later)
        expected = [e.id for e in acknowledged] + [later.id]
        assert sorted(await stored_ids(store)) == sorted(expected)
    finally:
        await store.close()
    assert integrity(path) == "ok"
