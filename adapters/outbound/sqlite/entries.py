"""The audit entry repository on SQLite: insert and read, and nothing that changes an entry."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from adapters.outbound.sqlite.mappers import (
    ENTRY_INSERT,
    ENTRY_SELECT,
    TARGET_INSERT,
    entry_target_rows,
    entry_to_domain,
    entry_to_row,
    from_micros,
    to_micros,
)
from adapters.outbound.sqlite.pages import QUALIFIED_SELECT, page_query
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.writer import Writer
from application.errors import Conflict, IdempotencyKeyTaken
from application.reading.criteria import EntryCriteria, Order, Position
from domain.entry import AuditEntry

STREAM_BATCH_SIZE = 1_000
KEYS_PER_QUERY = 500
"""(account, key) pairs per holding_keys statement: 1,000 parameters, far below SQLite's
limit (32,766), and a statement the planner reads as one index search per pair."""
_SKIPPING_INSERT = ENTRY_INSERT + " ON CONFLICT (id) DO NOTHING"
# SQLite checks an upsert's own target first: a row whose id is stored is skipped before its
# idempotency key is looked at, so a retried delivery (same ids, same keys) is no key clash.


class SqliteAuditEntryRepository:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._write = writer
        self._read = readers

    async def add(self, entry: AuditEntry) -> None:
        await self.add_many([entry])

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        if not entries:
            return
        rows = [entry_to_row(e) for e in entries]
        sql = _SKIPPING_INSERT if skip_existing else ENTRY_INSERT

        def insert(conn: sqlite3.Connection) -> None:
            # All or nothing: a refused row fails the write, and the writer rolls the whole
            # of it back (its savepoint, or its transaction). A row at a time, so the row
            # refused is known and only the rows stored have their targets written.
            stored: list[AuditEntry] = []
            for at, row in enumerate(rows):
                try:
                    added = conn.execute(sql, row).rowcount
                except sqlite3.IntegrityError as exc:
                    raise _clash(conn, entries[at:], exc, skip_existing=skip_existing) from None
                if added:
                    stored.append(entries[at])
            conn.executemany(TARGET_INSERT, [r for e in stored for r in entry_target_rows(e)])

        await self._write(insert)

    async def holding_keys(self, keys: Sequence[tuple[str, str]]) -> list[AuditEntry]:
        pairs = list(dict.fromkeys(keys))

        def read(conn: sqlite3.Connection) -> list[AuditEntry]:
            found: dict[tuple[str, str | None], AuditEntry] = {}
            for start in range(0, len(pairs), KEYS_PER_QUERY):
                chunk = pairs[start : start + KEYS_PER_QUERY]
                params = [value for pair in chunk for value in pair]
                for row in conn.execute(holding_keys_query(len(chunk)), params):
                    held = entry_to_domain(row)
                    found[(held.account, held.idempotency_key)] = held
            return [found[pair] for pair in pairs if pair in found]

        return [] if not pairs else await self._read(read)

    async def query(
        self,
        criteria: EntryCriteria,
        *,
        now: datetime,
        after: Position | None,
        limit: int,
        order: Order = Order.NEWEST_FIRST,
    ) -> list[AuditEntry]:
        sql, params = page_query(criteria, now=now, after=after, limit=limit, order=order)

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


def holding_keys_query(pairs: int) -> str:
    """The entries holding `pairs` (account, key) pairs, given as parameters: one search of
    the key index per pair, expired rows included."""
    return (
        f"SELECT {QUALIFIED_SELECT} FROM (VALUES {', '.join(['(?, ?)'] * pairs)}) AS wanted"
        " CROSS JOIN entries ON entries.account = wanted.column1"
        " AND entries.idempotency_key = wanted.column2"
    )


def _clash(
    conn: sqlite3.Connection,
    rest: Sequence[AuditEntry],
    error: sqlite3.IntegrityError,
    *,
    skip_existing: bool,
) -> Exception:
    """What refusing `rest[0]` means for the caller. A taken id is a `Conflict`, and comes
    first, as in every store: SQLite may report a row's taken key before its taken id, and a
    later row of the batch may name a stored id. Else it is `rest[0]`'s key: held by a stored
    row or by an earlier row of the batch."""
    name = error.sqlite_errorname
    if name == "SQLITE_CONSTRAINT_PRIMARYKEY":
        return Conflict("audit entry", rest[0].id)
    if name != "SQLITE_CONSTRAINT_UNIQUE":
        return error
    if not skip_existing:
        ids = [e.id for e in rest]
        taken = {
            id_
            for (id_,) in conn.execute(
                f"SELECT id FROM entries WHERE id IN ({', '.join('?' * len(ids))})",
                ids,
            )
        }
        for e in rest:
            if e.id in taken:
                return Conflict("audit entry", e.id)
    account, key = rest[0].account, rest[0].idempotency_key
    # The key index is the only other unique index of entries.
    return error if key is None else IdempotencyKeyTaken(account, key)
