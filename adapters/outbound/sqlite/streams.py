"""Log streams on SQLite: written whole, compared and set on `version`.

Unlike entries, a stream's row is updated and deleted (no append-only triggers on it).
Every write goes through the one writer, so a compare-and-set is atomic across processes
(each group runs under SQLite's one write lock, BEGIN IMMEDIATE): of two replaces naming one
version, the second finds the version moved and writes nothing.
"""

import builtins
import sqlite3
from typing import Any

from adapters.outbound.sqlite.errors import inserting
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.stream_mappers import (
    STREAM_COLUMNS,
    stream_to_domain,
    stream_to_row,
)
from adapters.outbound.sqlite.writer import Writer
from application.streams.model import LogStream
from application.streams.ports import Readable, read_each

_INSERT = f"INSERT INTO log_streams ({STREAM_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
_SELECT = f"SELECT {STREAM_COLUMNS} FROM log_streams"
_REPLACE = (
    "UPDATE log_streams SET account = ?, created_at = ?, version = ?, document = ?"
    " WHERE id = ? AND version = ?"
)


class SqliteLogStreams:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._write = writer
        self._read = readers

    async def add(self, stream: LogStream) -> None:
        row = stream_to_row(stream)

        def insert(conn: sqlite3.Connection) -> None:
            with inserting("log stream", stream.id):
                conn.execute(_INSERT, row)

        await self._write(insert)

    async def get(self, stream_id: str) -> LogStream | None:
        found = await self._select("WHERE id = ?", [stream_id])
        return found[0] if found else None

    async def list(self, account: str | None = None) -> list[LogStream]:
        if account is None:
            return await self._select("ORDER BY created_at, id", [])
        return await self._select("WHERE account = ? ORDER BY created_at, id", [account])

    async def readable(self) -> Readable:
        sql = f"{_SELECT} ORDER BY created_at, id"

        def read(conn: sqlite3.Connection) -> Readable:
            return read_each(conn.execute(sql), stream_to_domain)

        return await self._read(read)

    async def replace(self, stream: LogStream, *, expected_version: int) -> bool:
        stream_id, account, created_at, version, document = stream_to_row(stream)
        params = (account, created_at, version, document, stream_id, expected_version)

        def replace(conn: sqlite3.Connection) -> bool:
            return conn.execute(_REPLACE, params).rowcount == 1

        return await self._write(replace)

    async def delete(self, stream_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM log_streams WHERE id = ?", (stream_id,)).rowcount == 1

        return await self._write(delete)

    # `builtins.list`: in this class, `list` is the port's method.
    async def _select(self, tail: str, params: builtins.list[Any]) -> builtins.list[LogStream]:
        sql = f"{_SELECT} {tail}"

        def read(conn: sqlite3.Connection) -> list[LogStream]:
            return [stream_to_domain(row) for row in conn.execute(sql, params)]

        return await self._read(read)
