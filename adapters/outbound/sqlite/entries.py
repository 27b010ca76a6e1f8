"""The audit entry repository on SQLite: insert and read, and nothing that changes an entry."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from adapters.outbound.sqlite.errors import inserting
from adapters.outbound.sqlite.mappers import (
    ENTRY_INSERT,
    ENTRY_SELECT,
    entry_to_domain,
    entry_to_row,
    from_micros,
    to_micros,
)
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.writer import Writer
from application.reading.criteria import EntryCriteria, Position
from domain.entry import AuditEntry

STREAM_BATCH_SIZE = 1_000
_NEWEST_FIRST = "ORDER BY created_at DESC, id DESC"
_SKIPPING_INSERT = ENTRY_INSERT + " ON CONFLICT (id) DO NOTHING"


class SqliteAuditEntryRepository:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._write = writer
        self._read = readers

    async def add(self, entry: AuditEntry) -> None:
        row = entry_to_row(entry)

        def insert(conn: sqlite3.Connection) -> None:
            with inserting("audit entry", entry.id):
                conn.execute(ENTRY_INSERT, row)

        await self._write(insert)

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        if not entries:
            return
        rows = [entry_to_row(e) for e in entries]
        # All or nothing: the batch is one savepoint, so a taken id stores none of it.
        sql = _SKIPPING_INSERT if skip_existing else ENTRY_INSERT

        def insert(conn: sqlite3.Connection) -> None:
            with inserting("audit entry", entries[0].id):
                conn.executemany(sql, rows)

        await self._write(insert)

    async def query(
        self, criteria: EntryCriteria, *, now: datetime, after: Position | None, limit: int
    ) -> list[AuditEntry]:
        sql, params = page_query(criteria, now=now, after=after, limit=limit)

        def read(conn: sqlite3.Connection) -> list[AuditEntry]:
            return [entry_to_domain(row) for row in conn.execute(sql, params)]

        return await self._read(read)

    async def get(self, entry_id: str, *, now: datetime) -> AuditEntry | None:
        sql = f"SELECT {ENTRY_SELECT} FROM entries WHERE id = ? AND expires_at > ?"

        def read(conn: sqlite3.Connection) -> AuditEntry | None:
            row = conn.execute(sql, (entry_id, to_micros(now))).fetchone()
            return None if row is None else entry_to_domain(row)

        return await self._read(read)

    async def first_created_at(self) -> datetime | None:
        def read(conn: sqlite3.Connection) -> int | None:
            value: int | None = conn.execute("SELECT min(created_at) FROM entries").fetchone()[0]
            return value

        oldest = await self._read(read)
        return None if oldest is None else from_micros(oldest)

    async def stream(
        self, criteria: EntryCriteria, *, now: datetime
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        # Pages on the keyset, each its own short read: no read transaction is held open for
        # the minutes an export may take (it would keep the WAL from being checkpointed).
        # The next page is read while this one is consumed: SQLite lets go of the GIL while
        # it steps, so on a reader thread it overlaps the caller's encoding of the rows.
        batch = await self.query(criteria, now=now, after=None, limit=STREAM_BATCH_SIZE)
        while True:
            following = None
            if len(batch) == STREAM_BATCH_SIZE:
                after = Position(batch[-1].created_at, batch[-1].id)
                following = asyncio.ensure_future(
                    self.query(criteria, now=now, after=after, limit=STREAM_BATCH_SIZE)
                )
            try:
                if batch:
                    yield batch
            except BaseException:  # closed early (a client went away): nothing waits for it
                if following is not None:
                    following.cancel()
                raise
            if following is None:
                return
            batch = await following


def index_for(criteria: EntryCriteria) -> str:
    """The index a page walks: the tenant's equality columns, then the sort key. Chosen here,
    not by the planner, so a page stays one index range however the table's statistics go."""
    wanted = criteria.filter
    if wanted.account is None:
        return "entries_application_newest" if wanted.application else "entries_newest"
    if wanted.email is not None:
        return "entries_account_email_newest"
    if wanted.application is not None:
        return "entries_account_application_newest"
    if wanted.actions is not None:
        return "entries_account_action_newest"
    return "entries_account_newest"


def page_query(
    criteria: EntryCriteria, *, now: datetime, after: Position | None, limit: int
) -> tuple[str, list[Any]]:
    """The SQL and parameters of a page: what `criteria.admits()` selects, live at `now`,
    strictly after `after`, newest first. Several actions are one index range each, merged."""
    wanted = criteria.filter
    clauses = ["expires_at > ?"]
    params: list[Any] = [to_micros(now)]
    equalities = {
        "account": wanted.account,
        "application": wanted.application,
        "email": wanted.email,
        "success": None if wanted.success is None else int(wanted.success),
    }
    for column, value in equalities.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if wanted.since is not None:
        clauses.append("created_at >= ?")
        params.append(to_micros(wanted.since))
    if wanted.until is not None:
        clauses.append("created_at < ?")
        params.append(to_micros(wanted.until))
    if after is not None:
        clauses.append("(created_at, id) < (?, ?)")
        params.extend([to_micros(after.created_at), after.entry_id])
    actions = list(dict.fromkeys(wanted.actions or ()))
    if len(actions) == 1:
        clauses.append("action = ?")
        params.append(actions[0])
    source = f"SELECT {ENTRY_SELECT} FROM entries INDEXED BY {index_for(criteria)}"
    where = " AND ".join(clauses)
    if len(actions) <= 1:
        return f"{source} WHERE {where} {_NEWEST_FIRST} LIMIT ?", [*params, limit]
    # Each action's page is one range in sort order; only their union (at most
    # len(actions) * limit rows) is sorted again.
    parts: list[str] = []
    merged: list[Any] = []
    for action in actions:
        parts.append(
            f"SELECT * FROM ({source} WHERE {where} AND action = ? {_NEWEST_FIRST} LIMIT ?)"
        )
        merged.extend([*params, action, limit])
    return f"{' UNION ALL '.join(parts)} {_NEWEST_FIRST} LIMIT ?", [*merged, limit]
