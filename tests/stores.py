"""The stores the suites run on, each opened the one way: the in-memory fakes, SQLite in the
test's temporary directory, Beanie on mongomock, and Beanie on a real MongoDB when
AUDITLOG_TEST_MONGODB_URI is set (e.g. mongodb://localhost:27017; each test gets its own
database, dropped after).

A `StoreFactory` opens one adapter's store for one test and closes it. The contract suite
(tests/contracts/) runs every port's rules against each factory in its `FACTORIES`; the
adapter suite (tests/adapters/) runs the Beanie-specific tests against `MONGO_FACTORIES`.
"""

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.outbound.mongo.store import MongoStore
from adapters.outbound.sqlite.store import SqliteStore
from application.ports import (
    StorePorts,
)
from tests import configs
from tests.fakes import (
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemoryLogStreams,
    InMemorySealerState,
    InMemorySeals,
)

REAL_MONGODB_URI = os.environ.get("AUDITLOG_TEST_MONGODB_URI")
NO_REAL_MONGODB = "AUDITLOG_TEST_MONGODB_URI is not set: this ran on mongomock only"


Store = StorePorts


@dataclass
class InMemoryStore:
    """The fakes of tests/fakes.py under the names a real store gives its ports."""

    entries: InMemoryAuditEntries = field(default_factory=InMemoryAuditEntries)
    accounts: InMemoryAccounts = field(default_factory=InMemoryAccounts)
    applications: InMemoryApplications = field(default_factory=InMemoryApplications)
    keys: InMemoryApiKeys = field(default_factory=InMemoryApiKeys)
    seals: InMemorySeals = field(default_factory=InMemorySeals)
    sealer_state: InMemorySealerState = field(default_factory=InMemorySealerState)
    # Expired by the wall clock, as the real stores' reads do.
    checkpoints: InMemoryCheckpoints = field(
        default_factory=lambda: InMemoryCheckpoints(lambda: datetime.now(UTC))
    )
    log_streams: InMemoryLogStreams = field(default_factory=InMemoryLogStreams)


@dataclass(frozen=True)
class StoreFactory:
    """How to open one adapter's store for one test (in its own temporary directory, for a
    store that keeps files), and close it after.

    `expire` runs the store's own physical expiry once, as of the wall clock (MongoDB's TTL
    monitor, the embedded sweep); None where a test cannot trigger it (the fakes keep
    everything, a real MongoDB's monitor wakes when it likes). `diverges` names the contract
    tests this adapter is known to fail, with why: they run as strict xfails, so the day the
    adapter is fixed they fail until the entry is removed."""

    name: str
    open: Callable[[Path], AbstractAsyncContextManager[Store]]
    expire: Callable[[Store], Awaitable[None]] | None = None
    diverges: Mapping[str, str] = field(default_factory=dict)


async def open_embedded_store(sweep_seconds: float = 3600.0) -> MongoStore:
    # A long sweep interval: tests trigger sweeps themselves unless they test the timer.
    return await MongoStore.open(
        configs.client_options(None, embedded_ttl_sweep_seconds=sweep_seconds),
        database="auditlog_test",
        manage_indexes=True,
    )


@asynccontextmanager
async def in_memory(_: Path) -> AsyncIterator[Store]:
    yield InMemoryStore()


@asynccontextmanager
async def mongomock(_: Path) -> AsyncIterator[MongoStore]:
    opened = await open_embedded_store()
    try:
        yield opened
    finally:
        await opened.close()


@asynccontextmanager
async def real_mongodb(_: Path) -> AsyncIterator[MongoStore]:
    if REAL_MONGODB_URI is None:
        pytest.skip(NO_REAL_MONGODB)
    database = f"auditlog_test_{uuid.uuid4().hex[:12]}"
    opened = await MongoStore.open(
        configs.client_options(REAL_MONGODB_URI), database=database, manage_indexes=True
    )
    try:
        yield opened
    finally:
        await opened.client.drop_database(database)
        await opened.close()


async def sweep_embedded(store: Store) -> None:
    assert isinstance(store, MongoStore)
    assert store.ttl_monitor is not None
    store.ttl_monitor.sweep()


@asynccontextmanager
async def sqlite(directory: Path) -> AsyncIterator[SqliteStore]:
    # A long sweep interval: a test runs the sweep itself (`expire`).
    opened = await SqliteStore.open(
        directory / "auditlog.db", busy_timeout_ms=1_000, ttl_sweep_seconds=3600.0
    )
    try:
        yield opened
    finally:
        await opened.close()


async def sweep_sqlite(store: Store) -> None:
    assert isinstance(store, SqliteStore)
    await store.sweep.run_once()


MONGO_DIVERGENCES: dict[str, str] = {}
"""None known: a batch is checked before its one insert, so a clash stores none of it (but
for an insert racing it, see `BeanieAuditEntryRepository.add_many`)."""

MONGOMOCK = StoreFactory("mongomock", mongomock, expire=sweep_embedded, diverges=MONGO_DIVERGENCES)
MONGODB = StoreFactory("mongodb", real_mongodb, diverges=MONGO_DIVERGENCES)
IN_MEMORY = StoreFactory("in-memory", in_memory)
SQLITE = StoreFactory("sqlite", sqlite, expire=sweep_sqlite)

MONGO_FACTORIES = [MONGOMOCK, MONGODB]
