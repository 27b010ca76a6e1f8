"""Seals and the sealer's lease on SQLite. Seals are inserted and read, never updated."""

import sqlite3
from datetime import datetime
from typing import Any

from adapters.outbound.sqlite.errors import inserting
from adapters.outbound.sqlite.mappers import (
    SEAL_COLUMNS,
    from_micros,
    seal_to_domain,
    seal_to_row,
    to_micros,
)
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.writer import Writer
from application.errors import Conflict
from application.ports import Lease
from domain.integrity import Seal

_SEAL_INSERT = f"INSERT INTO seals ({SEAL_COLUMNS}) VALUES ({', '.join('?' * 12)})"
_SEAL_SELECT = f"SELECT {SEAL_COLUMNS} FROM seals"


class SqliteSeals:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._write = writer
        self._read = readers

    async def add(self, seal: Seal) -> bool:
        row = seal_to_row(seal)

        def insert(conn: sqlite3.Connection) -> None:
            with inserting("seal", seal.id):
                conn.execute(_SEAL_INSERT, row)

        try:
            await self._write(insert)
        except Conflict:
            return False
        return True

    async def get(self, seal_id: str) -> Seal | None:
        rows = await self._select("WHERE id = ?", [seal_id], by_window=False)
        return rows[0] if rows else None

    async def latest(self, account: str) -> Seal | None:
        rows = await self._select("WHERE account = ? ORDER BY window_start DESC LIMIT 1", [account])
        return rows[0] if rows else None

    async def in_range(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Seal]:
        clauses: list[str] = ["account = ?"]
        params: list[Any] = [account]
        if since is not None:
            clauses.append("window_end > ?")
            params.append(to_micros(since))
        if until is not None:
            clauses.append("window_start < ?")
            params.append(to_micros(until))
        return await self._select(f"WHERE {' AND '.join(clauses)} ORDER BY window_start", params)

    async def _select(self, tail: str, params: list[Any], *, by_window: bool = True) -> list[Seal]:
        index = "INDEXED BY seals_account_window" if by_window else ""
        sql = f"{_SEAL_SELECT} {index} {tail}"

        def read(conn: sqlite3.Connection) -> list[Seal]:
            return [seal_to_domain(row) for row in conn.execute(sql, params)]

        return await self._read(read)


# Take the lease if it is free, has run out, or is ours already; the row says who holds it.
# Atomic across processes: every write runs under SQLite's one write lock (BEGIN IMMEDIATE).
_ACQUIRE = """
INSERT INTO sealer_state (id, holder, until) VALUES ('sealer', :holder, :until)
ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE sealer_state.until <= :now OR sealer_state.holder = :holder
"""


class SqliteSealerState:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._write = writer
        self._read = readers

    async def acquire(self, holder: str, *, now: datetime, until: datetime) -> bool:
        params = {"holder": holder, "until": to_micros(until), "now": to_micros(now)}

        def take(conn: sqlite3.Connection) -> bool:
            conn.execute(_ACQUIRE, params)
            row = conn.execute("SELECT holder FROM sealer_state WHERE id = 'sealer'").fetchone()
            return bool(row is not None and row[0] == holder)

        return await self._write(take)

    async def sealed_through(self) -> datetime | None:
        def read(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                "SELECT sealed_through FROM sealer_state WHERE id = 'sealer'"
            ).fetchone()
            return None if row is None else row[0]

        value = await self._read(read)
        return None if value is None else from_micros(value)

    async def lease(self) -> Lease | None:
        def read(conn: sqlite3.Connection) -> tuple[str, int] | None:
            row = conn.execute(
                "SELECT holder, until FROM sealer_state WHERE id = 'sealer'"
            ).fetchone()
            return None if row is None else (row[0], row[1])

        held = await self._read(read)
        return None if held is None else Lease(held[0], from_micros(held[1]))

    async def advance(self, holder: str, to: datetime) -> None:
        moment = to_micros(to)

        def advance(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE sealer_state SET sealed_through = ? WHERE id = 'sealer' AND holder = ?",
                (moment, holder),
            )

        await self._write(advance)
