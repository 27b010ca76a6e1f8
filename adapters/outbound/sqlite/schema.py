"""The database file: what marks it as ours, its schema, and the forward migrations.

`PRAGMA application_id` says the file is an audit log; `PRAGMA user_version` is the schema
version, which is the number of migrations applied. A migration is never edited once
released: a new column or index is a new migration appended to MIGRATIONS.
"""

import sqlite3
from collections.abc import Sequence

APPLICATION_ID = 0x41554C47
"""'AULG': written in the file header at creation, so a foreign database is recognised."""

NOW_MICROS = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) * 1000"
"""The database's clock, in the unit timestamps are stored in (millisecond resolution)."""

_ENTRY_SORT = "created_at DESC, id DESC"

# Every read path leads with the tenant's equality columns and then the sort key
# (created_at, id), as the MongoDB adapter's indexes do; since/until and the keyset bound are
# ranges on that sort key, so a page is one index range. `entries_newest` serves the
# operator's global view (no account) and the oldest entry; `*_expires_at` the sweep.
_V1 = (
    """CREATE TABLE entries (
        id TEXT NOT NULL PRIMARY KEY,
        account TEXT NOT NULL,
        application TEXT NOT NULL,
        action TEXT NOT NULL,
        success INTEGER NOT NULL CHECK (success IN (0, 1)),
        email TEXT,
        reason TEXT,
        ip TEXT,
        user_agent TEXT,
        request_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        digest TEXT NOT NULL
    )""",
    f"CREATE INDEX entries_newest ON entries ({_ENTRY_SORT})",
    f"CREATE INDEX entries_account_newest ON entries (account, {_ENTRY_SORT})",
    "CREATE INDEX entries_account_application_newest"
    f" ON entries (account, application, {_ENTRY_SORT})",
    f"CREATE INDEX entries_application_newest ON entries (application, {_ENTRY_SORT})",
    f"CREATE INDEX entries_account_action_newest ON entries (account, action, {_ENTRY_SORT})",
    f"CREATE INDEX entries_account_email_newest ON entries (account, email, {_ENTRY_SORT})",
    "CREATE INDEX entries_expires_at ON entries (expires_at)",
    """CREATE TABLE seals (
        id TEXT NOT NULL PRIMARY KEY,
        account TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        entries TEXT NOT NULL,
        merkle_root TEXT NOT NULL,
        previous TEXT,
        sealed_at INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    )""",
    "CREATE INDEX seals_account_window ON seals (account, window_start)",
    "CREATE INDEX seals_expires_at ON seals (expires_at)",
    """CREATE TABLE sealer_state (
        id TEXT NOT NULL PRIMARY KEY CHECK (id = 'sealer'),
        holder TEXT NOT NULL,
        until INTEGER NOT NULL,
        sealed_through INTEGER
    )""",
    "CREATE TABLE accounts (id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL)",
    """CREATE TABLE applications (
        id TEXT NOT NULL PRIMARY KEY, account TEXT NOT NULL, name TEXT NOT NULL
    )""",
    "CREATE INDEX applications_account ON applications (account)",
    """CREATE TABLE api_keys (
        id TEXT NOT NULL PRIMARY KEY,
        account TEXT NOT NULL,
        application TEXT,
        scopes TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        revoked INTEGER NOT NULL CHECK (revoked IN (0, 1)),
        created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX api_keys_account ON api_keys (account)",
    # Append-only at the database: not even a bug of ours can rewrite the trail.
    *(
        statement
        for table in ("entries", "seals")
        for statement in (
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END""",
            f"""CREATE TRIGGER {table}_no_early_delete BEFORE DELETE ON {table}
            WHEN OLD.expires_at > {NOW_MICROS}
            BEGIN SELECT RAISE(ABORT, '{table} are deleted only once expired'); END""",
        )
    ),
)

# Checkpoints (`domain.checkpoint`): the signed document as written, its sequence and
# expires_at beside it for lookups and the sweep; `checkpoint_seals` lists, per checkpoint,
# the (account, window start) of each seal it names, so `listing` is one index range. Both
# are append-only like entries and seals; a listing row carries its checkpoint's expires_at,
# so the sweep removes it with its checkpoint and the trigger lets it.
_V2 = (
    """CREATE TABLE checkpoints (
        sequence INTEGER NOT NULL PRIMARY KEY CHECK (sequence > 0),
        document TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    )""",
    "CREATE INDEX checkpoints_expires_at ON checkpoints (expires_at)",
    """CREATE TABLE checkpoint_seals (
        account TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        sequence INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (account, window_start, sequence)
    )""",
    "CREATE INDEX checkpoint_seals_expires_at ON checkpoint_seals (expires_at)",
    *(
        statement
        for table in ("checkpoints", "checkpoint_seals")
        for statement in (
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END""",
            f"""CREATE TRIGGER {table}_no_early_delete BEFORE DELETE ON {table}
            WHEN OLD.expires_at > {NOW_MICROS}
            BEGIN SELECT RAISE(ABORT, '{table} are deleted only once expired'); END""",
        )
    ),
)

# Version 3: a seal's format (domain.integrity.Seal.version). Seals written before it are
# version 1, signed over their whole body; new ones sign a header (receipts need it).
_V3 = ("ALTER TABLE seals ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version IN (1, 2))",)

# Version 4: richer events (domain.event_parts). The new fields are columns of entries (NULL
# on older rows; parties and metadata as JSON); an idempotency key is unique per account
# among stored rows, expired or not, so a retried delivery cannot store an event twice.
# `entry_targets` has, per entry, one row per distinct target id (type NULL), per distinct
# type (id NULL) and per distinct (id, type): so a target filter of each shape is one range
# of one partial index, with no entry twice in it. Its rows carry their entry's created_at
# and expires_at, are written in the entry's transaction and swept with it.
_ENTRY_TARGET_SORT = "created_at DESC, entry_id DESC"
ACTOR_ID = "json_extract(actor, '$.id')"
"""The expression the actor index is on: a query must name it in exactly this form."""
_V4 = (
    "ALTER TABLE entries ADD COLUMN occurred_at INTEGER",
    "ALTER TABLE entries ADD COLUMN idempotency_key TEXT",
    "ALTER TABLE entries ADD COLUMN actor TEXT",
    "ALTER TABLE entries ADD COLUMN targets TEXT",
    "ALTER TABLE entries ADD COLUMN metadata TEXT",
    "CREATE UNIQUE INDEX entries_account_idempotency_key ON entries (account, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL",
    f"CREATE INDEX entries_account_actor_newest ON entries (account, {ACTOR_ID}, {_ENTRY_SORT})"
    " WHERE actor IS NOT NULL",
    """CREATE TABLE entry_targets (
        account TEXT NOT NULL,
        target_id TEXT,
        target_type TEXT,
        created_at INTEGER NOT NULL,
        entry_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        CHECK (target_id IS NOT NULL OR target_type IS NOT NULL)
    )""",
    "CREATE INDEX entry_targets_id_newest"
    f" ON entry_targets (account, target_id, {_ENTRY_TARGET_SORT}) WHERE target_type IS NULL",
    "CREATE INDEX entry_targets_type_newest"
    f" ON entry_targets (account, target_type, {_ENTRY_TARGET_SORT}) WHERE target_id IS NULL",
    "CREATE INDEX entry_targets_pair_newest"
    f" ON entry_targets (account, target_id, target_type, {_ENTRY_TARGET_SORT})"
    " WHERE target_id IS NOT NULL AND target_type IS NOT NULL",
    "CREATE INDEX entry_targets_expires_at ON entry_targets (expires_at)",
    """CREATE TRIGGER entry_targets_no_update BEFORE UPDATE ON entry_targets
    BEGIN SELECT RAISE(ABORT, 'entry_targets are append-only'); END""",
    f"""CREATE TRIGGER entry_targets_no_early_delete BEFORE DELETE ON entry_targets
    WHEN OLD.expires_at > {NOW_MICROS}
    BEGIN SELECT RAISE(ABORT, 'entry_targets are deleted only once expired'); END""",
)

# Version 5: log streams (issue 17). Unlike the trail, a stream is rewritten as it delivers
# (a compare-and-set on `version`) and deleted on request: no append-only triggers here,
# and those on the trail's tables are untouched. The stream is one JSON document
# (adapters.outbound.sqlite.stream_mappers); id, account, created_at and version sit
# beside it for the look-ups, the order of a listing and the compare-and-set.
_V5 = (
    """CREATE TABLE log_streams (
        id TEXT NOT NULL PRIMARY KEY,
        account TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        document TEXT NOT NULL
    )""",
    "CREATE INDEX log_streams_account_oldest ON log_streams (account, created_at, id)",
    "CREATE INDEX log_streams_oldest ON log_streams (created_at, id)",
)

MIGRATIONS: tuple[Sequence[str], ...] = (_V1, _V2, _V3, _V4, _V5)
"""MIGRATIONS[n] takes a file from version n to n + 1."""

SCHEMA_VERSION = len(MIGRATIONS)


class UnusableFile(Exception):
    """The file cannot be served: the message says why in one line, naming no driver text."""


def prepare(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> None:
    """Make `conn`'s file ours at the latest version: create it if empty, migrate it forward
    if older; refuse a foreign, newer or corrupt file. `conn` is in autocommit mode."""
    try:
        _prepare(conn, migrations)
    except sqlite3.DatabaseError as exc:
        if conn.in_transaction:
            conn.rollback()
        raise UnusableFile(why(exc)) from None


def why(error: sqlite3.Error) -> str:
    name = getattr(error, "sqlite_errorname", "")
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return "it is not an SQLite database, or it is corrupt"
    if name.startswith("SQLITE_BUSY"):
        return "it is locked by another process past the busy timeout"
    return f"the database failed ({name or type(error).__name__})"


def _prepare(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]]) -> None:
    latest = len(migrations)
    if _is_empty(conn):
        # Only takes effect before the first table exists; lets the sweep give pages back.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    [(mode,)] = conn.execute("PRAGMA journal_mode = WAL").fetchall()
    if mode != "wal":
        # Without WAL, readers block the writer and processes cannot share the file.
        raise UnusableFile(f"it cannot be put in WAL mode here (journal mode {mode})")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have created it meanwhile.
        version = _check_ours(conn, latest)
        if version < latest:
            for statements in migrations[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {latest}")
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise
    problems = conn.execute("PRAGMA quick_check").fetchall()
    if problems != [("ok",)]:
        raise UnusableFile("it failed SQLite's integrity check (corrupt)")


def _is_empty(conn: sqlite3.Connection) -> bool:
    tables: int = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    return tables == 0


def _check_ours(conn: sqlite3.Connection, latest: int) -> int:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id == 0 and version == 0 and _is_empty(conn):
        return 0
    if application_id != APPLICATION_ID:
        raise UnusableFile("it is not an audit log database (a foreign SQLite file)")
    if version > latest:
        raise UnusableFile(
            f"it was written by a newer version of the service (schema {version}; "
            f"this one knows up to {latest})"
        )
    return version
