"""Opening the embedded store: the file, its schema, the writer, the readers and the sweep.

Durability: WAL with `synchronous=FULL`, so a commit is fsynced before an add returns and
survives a power cut as well as `kill -9`; the writer commits concurrent writes together to
pay one fsync per group rather than per entry.
"""

import pathlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from adapters.outbound.sqlite.checkpoints import SqliteCheckpoints
from adapters.outbound.sqlite.directory import SqliteAccounts, SqliteApiKeys, SqliteApplications
from adapters.outbound.sqlite.entries import SqliteAuditEntryRepository
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.schema import SCHEMA_VERSION, UnusableFile, prepare, why
from adapters.outbound.sqlite.seals import SqliteSealerState, SqliteSeals
from adapters.outbound.sqlite.streams import SqliteLogStreams
from adapters.outbound.sqlite.sweep import Sweep
from adapters.outbound.sqlite.writer import Writer
from application.errors import StoreUnavailable


class StoreUnreachable(Exception):
    """The database file cannot be served (foreign, newer, corrupt, or not openable); the
    message is one line naming the file and why, never the driver's text."""


def _configure(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = OFF")


@dataclass(kw_only=True)
class SqliteStore:
    path: pathlib.Path
    entries: SqliteAuditEntryRepository
    accounts: SqliteAccounts
    applications: SqliteApplications
    keys: SqliteApiKeys
    seals: SqliteSeals
    sealer_state: SqliteSealerState
    checkpoints: SqliteCheckpoints
    log_streams: SqliteLogStreams
    sweep: Sweep
    _writer: Writer
    _readers: Readers

    @classmethod
    async def open(
        cls, path: pathlib.Path, *, busy_timeout_ms: int, ttl_sweep_seconds: float
    ) -> "SqliteStore":
        """Open `path` (created with its schema if absent), migrated to the latest version."""

        def connect_writer() -> sqlite3.Connection:
            try:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise UnusableFile(why(exc)) from None
            try:
                _configure(conn, busy_timeout_ms)
                prepare(conn)
                # From here the writer asks for the lock itself (writer.begin_immediate).
                conn.execute("PRAGMA busy_timeout = 0")
            except sqlite3.Error as exc:
                conn.close()
                raise UnusableFile(why(exc)) from None
            except BaseException:
                conn.close()
                raise
            return conn

        def connect_reader() -> sqlite3.Connection:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            return conn

        writer = Writer(connect_writer, patience=busy_timeout_ms / 1000)
        try:
            await writer.start()
        except UnusableFile as exc:
            raise StoreUnreachable(f"the database {path} cannot be used: {exc}") from None
        readers = Readers(connect_reader)
        sweep = Sweep(writer, interval_seconds=ttl_sweep_seconds)
        sweep.start()
        return cls(
            path=path,
            entries=SqliteAuditEntryRepository(writer, readers),
            accounts=SqliteAccounts(writer, readers),
            applications=SqliteApplications(writer, readers),
            keys=SqliteApiKeys(writer, readers),
            seals=SqliteSeals(writer, readers),
            sealer_state=SqliteSealerState(writer, readers),
            checkpoints=SqliteCheckpoints(writer, readers),
            log_streams=SqliteLogStreams(writer, readers),
            sweep=sweep,
            _writer=writer,
            _readers=readers,
        )

    async def database_now(self) -> datetime | None:
        """None: the file expires by this machine's clock (the sweep's and the triggers'),
        which is this service's."""
        return None

    async def ready(self) -> bool:
        """Whether a cheap read answers now, on the schema this version knows."""

        def version(conn: sqlite3.Connection) -> int:
            value: int = conn.execute("PRAGMA user_version").fetchone()[0]
            return value

        try:
            return await self._readers(version) == SCHEMA_VERSION
        except StoreUnavailable:
            return False

    async def backup(self, target: pathlib.Path) -> None:
        """Write a consistent, compacted copy of the database to `target` while serving: one
        read transaction (VACUUM INTO), so writes go on beside it. The copy keeps the schema,
        its version and the triggers; a store opened on it is a restore. FileExistsError if
        `target` exists (it is never overwritten)."""

        def copy(conn: sqlite3.Connection) -> None:
            if target.exists():
                raise FileExistsError(f"{target} exists already")
            conn.execute("VACUUM INTO ?", (str(target),))

        await self._readers(copy)

    async def close(self) -> None:
        """Stop the sweep, finish the writes queued, close every connection."""
        await self.sweep.stop()
        await self._writer.close()
        await self._readers.close()
