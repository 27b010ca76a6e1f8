"""The witness's ledger in one SQLite file (the standard library's sqlite3).

WAL with `synchronous=FULL`: an accepted checkpoint is fsynced before the witness answers,
so a countersignature it gave is never forgotten by a power cut. The file is held in
exclusive locking mode from opening to closing: a second witness started on the same
directory is refused at once, rather than the two judging one chain each. The checkpoint and
the heads it moves forward are written in one transaction.
"""

import asyncio
import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from domain.checkpoint import Checkpoint, SealedHead
from domain.integrity import canonical
from domain.timestamps import iso_utc
from domain.witnessing import Witnessed, WitnessedHead, head_fields

LEDGER_FILE = "witness.sqlite3"
# PRAGMA application_id: marks the file as a witness's ("AWit"), so a foreign one is refused.
_APPLICATION_ID = 0x41576974
_SCHEMA = """
CREATE TABLE checkpoints (
    sequence INTEGER PRIMARY KEY,
    checkpoint_hash TEXT NOT NULL,
    document TEXT NOT NULL,
    witnessed_at TEXT NOT NULL,
    cosignature TEXT NOT NULL
) STRICT;
CREATE TABLE heads (
    account TEXT PRIMARY KEY,
    seal_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    seal_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    checkpoint_hash TEXT NOT NULL,
    witnessed_at TEXT NOT NULL
) STRICT;
"""
# Times are iso_utc text, all of one width and offset, so text order is time order.
_NEWER_HEAD = """
INSERT INTO heads VALUES (:account, :seal_id, :window_start, :seal_hash, :expires_at,
                          :sequence, :checkpoint_hash, :witnessed_at)
ON CONFLICT (account) DO UPDATE SET
    seal_id = excluded.seal_id, window_start = excluded.window_start,
    seal_hash = excluded.seal_hash, expires_at = excluded.expires_at,
    sequence = excluded.sequence, checkpoint_hash = excluded.checkpoint_hash,
    witnessed_at = excluded.witnessed_at
WHERE excluded.window_start > heads.window_start
"""


class LedgerUnusable(Exception):
    """The file cannot be used; the message names it and why, safe to print."""


class SqliteWitnessLedger:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        # One connection, used by one thread at a time.
        self._lock = asyncio.Lock()

    @classmethod
    def open(cls, path: Path) -> "SqliteWitnessLedger":
        try:
            # Readable by its owner only, as the directory is (SQLite's -wal file follows).
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        except OSError as exc:
            raise LedgerUnusable(f"cannot open {path} ({exc.strerror})") from None
        except sqlite3.Error:
            raise LedgerUnusable(f"cannot open {path}") from None
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            # Takes the file's lock, held until close.
            conn.execute("BEGIN IMMEDIATE")
            _prepare(conn, path)
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc):
                raise LedgerUnusable(f"{path} is in use by another auditlog-witness") from None
            raise LedgerUnusable(f"cannot use {path} ({exc})") from None
        except sqlite3.DatabaseError:
            conn.close()
            raise LedgerUnusable(f"{path} is not a witness's database") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    async def last(self) -> Witnessed | None:
        rows = await self._run(
            "SELECT document, witnessed_at, cosignature FROM checkpoints "
            "ORDER BY sequence DESC LIMIT 1",
            {},
        )
        return _witnessed(rows[0]) if rows else None

    async def get(self, sequence: int) -> Witnessed | None:
        rows = await self._run(
            "SELECT document, witnessed_at, cosignature FROM checkpoints WHERE sequence = :s",
            {"s": sequence},
        )
        return _witnessed(rows[0]) if rows else None

    async def head(self, account: str) -> WitnessedHead | None:
        rows = await self._run(
            "SELECT seal_id, window_start, seal_hash, expires_at, sequence, "
            "checkpoint_hash, witnessed_at FROM heads WHERE account = :a",
            {"a": account},
        )
        if not rows:
            return None
        seal_id, start, seal_hash, expires, sequence, checkpoint_hash, at = rows[0]
        return WitnessedHead(
            head=SealedHead(
                account=account,
                seal_id=str(seal_id),
                window_start=datetime.fromisoformat(str(start)),
                seal_hash=str(seal_hash),
                expires_at=datetime.fromisoformat(str(expires)),
            ),
            sequence=int(str(sequence)),
            checkpoint_hash=str(checkpoint_hash),
            witnessed_at=datetime.fromisoformat(str(at)),
        )

    async def add(self, witnessed: Witnessed) -> None:
        checkpoint = witnessed.checkpoint
        origin = {
            "sequence": checkpoint.sequence,
            "checkpoint_hash": witnessed.checkpoint_hash,
            "witnessed_at": iso_utc(witnessed.witnessed_at),
        }
        row = {
            **origin,
            "document": canonical(checkpoint.document()).decode(),
            "cosignature": witnessed.cosignature,
        }
        heads = [{**head_fields(head), **origin} for head in checkpoint.sealed]

        def write() -> None:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO checkpoints VALUES (:sequence, :checkpoint_hash, :document, "
                    ":witnessed_at, :cosignature)",
                    row,
                )
                conn.executemany(_NEWER_HEAD, heads)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        async with self._lock:
            await asyncio.to_thread(write)

    async def _run(self, sql: str, parameters: dict[str, object]) -> list[tuple[object, ...]]:
        async with self._lock:
            return await asyncio.to_thread(lambda: self._conn.execute(sql, parameters).fetchall())


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    [(application_id,)] = conn.execute("PRAGMA application_id").fetchall()
    if application_id == _APPLICATION_ID:
        return
    [(tables,)] = conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    if application_id != 0 or tables:
        raise LedgerUnusable(f"{path} is not a witness's database")
    # Statement by statement: executescript() would commit the transaction holding the lock.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")


def _witnessed(row: tuple[object, ...]) -> Witnessed:
    document, witnessed_at, cosignature = row
    return Witnessed(
        checkpoint=Checkpoint.from_document(json.loads(str(document))),
        witnessed_at=datetime.fromisoformat(str(witnessed_at)),
        cosignature=str(cosignature),
    )
