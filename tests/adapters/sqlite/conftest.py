"""The SQLite adapter's own suite: each test gets a fresh database file in its temporary dir."""

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.outbound.sqlite.store import SqliteStore
from domain.integrity import Seal, new_seal

BUSY_TIMEOUT_MS = 100


async def open_store(path: Path, *, sweep_seconds: float = 3600.0) -> SqliteStore:
    # A long sweep interval: tests run the sweep themselves unless they test the timer.
    return await SqliteStore.open(
        path, busy_timeout_ms=BUSY_TIMEOUT_MS, ttl_sweep_seconds=sweep_seconds
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "auditlog.db"


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_store(db_path)
    yield store
    await store.close()


T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=1)


def sealed(
    account: str = "acme",
    *,
    window: int = 0,
    entries: int = 2,
    expires_at: datetime | None = None,
    previous: Seal | None = None,
) -> Seal:
    """A seal over `entries` made-up rows of window number `window` after T0; its entries
    (and so the seal) expire at `expires_at`, by default 100 years on."""
    start = T0 + window * WINDOW
    expires = expires_at or start + timedelta(days=36_500)
    rows = [
        (f"{account}-{window}-{i}".ljust(24, "0"), start + timedelta(seconds=i), expires, "ab" * 32)
        for i in range(entries)
    ]
    seal = new_seal(
        account=account,
        window_start=start,
        window=WINDOW,
        entries=rows,
        previous=None if previous is None else previous.link(),
        sealed_at=start + WINDOW + timedelta(minutes=2, milliseconds=7),
    )
    return dataclasses.replace(seal, key_id="k1", signature=f"sig-{account}-{window}")
