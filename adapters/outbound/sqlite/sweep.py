"""Expiry for the embedded store: what MongoDB's TTL monitor does, as a periodic sweep.

Entries past `expires_at` are never served before the sweep runs (every read excludes them);
the sweep only gives the space back. It deletes in chunks, each one write queued behind the
service's own, so a sweep of 100,000 rows never holds the write lock for long; then it lets
SQLite return the freed pages to the file system (auto_vacuum=INCREMENTAL).
"""

import asyncio
import logging
import sqlite3

from adapters.outbound.sqlite.schema import NOW_MICROS
from adapters.outbound.sqlite.writer import Writer
from application.periodic import Periodic

log = logging.getLogger(__name__)

CHUNK_ROWS = 1_000
VACUUM_PAGES = 500
"""Pages freed per write at most (2 MB at 4 KiB pages), so reclaiming is chunked too."""

_TABLES = ("entries", "entry_targets", "seals", "checkpoints", "checkpoint_seals")


class Sweep:
    def __init__(self, writer: Writer, *, interval_seconds: float) -> None:
        self._write = writer
        self._loop = Periodic(self.run_once, interval=interval_seconds, name="TTL sweep", log=log)

    async def run_once(self) -> int:
        """Delete every expired entry, seal and checkpoint now; the number of rows deleted."""
        deleted = 0
        for table in _TABLES:
            sql = (
                f"DELETE FROM {table} WHERE rowid IN"
                f" (SELECT rowid FROM {table} WHERE expires_at <= {NOW_MICROS} LIMIT {CHUNK_ROWS})"
            )

            def chunk(conn: sqlite3.Connection, sql: str = sql) -> int:
                return conn.execute(sql).rowcount

            while True:
                count = await self._write(chunk)
                deleted += count
                if count < CHUNK_ROWS:
                    break
                await asyncio.sleep(0)
        more = deleted > 0
        while more:
            more = await self._write(_reclaim)
        return deleted

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


def _reclaim(conn: sqlite3.Connection) -> bool:
    """Free up to VACUUM_PAGES pages; whether some were freed and more remain."""
    before: int = conn.execute("PRAGMA freelist_count").fetchone()[0]
    # Python steps a statement without result columns once, and each step of
    # incremental_vacuum frees one page: so it is run once per page (cheap, no I/O of its own
    # until the commit). executescript would step it through, but commits the group first.
    for _ in range(min(before, VACUUM_PAGES)):
        conn.execute("PRAGMA incremental_vacuum")
    after: int = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return 0 < after < before
