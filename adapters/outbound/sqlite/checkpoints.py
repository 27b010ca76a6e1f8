"""The sealer's checkpoints on SQLite: inserted and read, never updated.

A row keeps the checkpoint's document (`Checkpoint.document()`) as canonical JSON, so what is
read back is what was signed; its sequence and expires_at sit beside it for lookups and the
sweep. `checkpoint_seals` indexes, per checkpoint, the (account, window start) of each seal
it lists. Expiry is judged by the database's clock, as the triggers and the sweep judge it:
a checkpoint past its expires_at is never read, swept or not.
"""

import json
import sqlite3
from datetime import datetime
from typing import Any

from adapters.outbound.sqlite.errors import inserting
from adapters.outbound.sqlite.mappers import to_micros
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.schema import NOW_MICROS
from adapters.outbound.sqlite.writer import Writer
from application.errors import Conflict
from domain.checkpoint import Checkpoint
from domain.integrity import canonical

_INSERT = "INSERT INTO checkpoints (sequence, document, expires_at) VALUES (?, ?, ?)"
# A checkpoint naming one window twice lists it once.
_LIST = (
    "INSERT OR IGNORE INTO checkpoint_seals (account, window_start, sequence, expires_at)"
    " VALUES (?, ?, ?, ?)"
)
# Unary + keeps the planner off the expires_at index (the sweep's): every read walks the
# sequence, and `latest` stops at the newest live one instead of sorting every live one.
_LIVE = f"+expires_at > {NOW_MICROS}"
_SELECT = "SELECT document FROM checkpoints"
LATEST = f"{_SELECT} WHERE {_LIVE} ORDER BY sequence DESC LIMIT 1"
GET = f"{_SELECT} WHERE sequence = ? AND {_LIVE}"
AFTER = f"{_SELECT} WHERE sequence > ? AND {_LIVE} ORDER BY sequence LIMIT ?"


def listing_query(
    account: str, since: datetime | None, until: datetime | None
) -> tuple[str, list[Any]]:
    """The SQL and parameters of `listing`: the sequences out of checkpoint_seals' key range,
    then each checkpoint by its sequence."""
    clauses = ["account = ?"]
    params: list[Any] = [account]
    if since is not None:
        clauses.append("window_start >= ?")
        params.append(to_micros(since))
    if until is not None:
        clauses.append("window_start < ?")
        params.append(to_micros(until))
    listed = f"SELECT sequence FROM checkpoint_seals WHERE {' AND '.join(clauses)}"
    return f"{_SELECT} WHERE sequence IN ({listed}) AND {_LIVE} ORDER BY sequence", params


class SqliteCheckpoints:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._write = writer
        self._read = readers

    async def add(self, checkpoint: Checkpoint) -> bool:
        expires_at = to_micros(checkpoint.expires_at)
        row = (checkpoint.sequence, canonical(checkpoint.document()).decode(), expires_at)
        listed = [
            (head.account, to_micros(head.window_start), checkpoint.sequence, expires_at)
            for head in checkpoint.sealed
        ]

        def insert(conn: sqlite3.Connection) -> None:
            with inserting("checkpoint", str(checkpoint.sequence)):
                conn.execute(_INSERT, row)
            conn.executemany(_LIST, listed)

        try:
            await self._write(insert)
        except Conflict:
            return False
        return True

    async def latest(self) -> Checkpoint | None:
        found = await self._select(LATEST, [])
        return found[0] if found else None

    async def get(self, sequence: int) -> Checkpoint | None:
        found = await self._select(GET, [sequence])
        return found[0] if found else None

    async def after(self, sequence: int, limit: int) -> list[Checkpoint]:
        if limit <= 0:
            return []  # not "no limit", as LIMIT -1 and MongoDB's limit 0 would read it
        return await self._select(AFTER, [sequence, limit])

    async def listing(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Checkpoint]:
        return await self._select(*listing_query(account, since, until))

    async def _select(self, sql: str, params: list[Any]) -> list[Checkpoint]:
        def read(conn: sqlite3.Connection) -> list[Checkpoint]:
            rows = conn.execute(sql, params)
            return [Checkpoint.from_document(json.loads(row[0])) for row in rows]

        return await self._read(read)
