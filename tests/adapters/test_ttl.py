"""Retention is physical: expired entries are deleted, by MongoDB's TTL monitor or the
embedded store's sweep, and the embedded store stays fast as it fills."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from adapters.mongo.documents import AuditLogDocument
from adapters.mongo.store import MongoStore
from tests.adapters.conftest import NO_REAL_MONGODB, REAL_MONGODB_URI, open_embedded_store
from tests.builders import entry


async def stored_ids() -> set[str]:
    """What is physically in the collection, expired or not."""
    collection = AuditLogDocument.get_motor_collection()
    return {doc["_id"] async for doc in collection.find({}, {"_id": 1})}


async def eventually_stored(expected: set[str], *, within: float, poll: float) -> set[str]:
    """Poll until exactly `expected` is stored or time runs out; return what is stored."""
    for _ in range(int(within / poll)):
        if (ids := await stored_ids()) == expected:
            return ids
        await asyncio.sleep(poll)
    return await stored_ids()


def expired_and_live() -> tuple[list[str], list[str], list]:
    now = datetime.now(UTC)
    expired = [entry(created_at=now - timedelta(days=8), retention=timedelta(days=7))]
    expired.append(entry(created_at=now - timedelta(seconds=2), retention=timedelta(seconds=1)))
    live = [entry(created_at=now - timedelta(days=6), retention=timedelta(days=7))]
    return [e.id for e in expired], [e.id for e in live], expired + live


async def test_the_embedded_sweep_physically_deletes_expired_entries_only(
    embedded_store: MongoStore,
) -> None:
    expired, live, rows = expired_and_live()
    await embedded_store.entries.add_many(rows)
    # Reading does not expire anything: only the sweep does, as with MongoDB's monitor.
    assert await stored_ids() == {*expired, *live}

    assert embedded_store.ttl_monitor is not None
    embedded_store.ttl_monitor.sweep()

    assert await stored_ids() == set(live)


async def test_the_embedded_sweep_runs_by_itself_on_its_interval() -> None:
    store = await open_embedded_store(sweep_seconds=0.05)
    try:
        _, live, rows = expired_and_live()
        await store.entries.add_many(rows)

        assert await eventually_stored(set(live), within=5, poll=0.02) == set(live)
    finally:
        await store.close()


@pytest.mark.slow
@pytest.mark.skipif(REAL_MONGODB_URI is None, reason=NO_REAL_MONGODB)
async def test_mongodb_ttl_monitor_physically_deletes_expired_entries(
    store: MongoStore,
) -> None:
    if store.is_embedded:
        pytest.skip("covered by the embedded sweep tests")
    _, live, rows = expired_and_live()
    await store.entries.add_many(rows)

    # MongoDB's TTL monitor wakes every 60 s by default.
    assert await eventually_stored(set(live), within=150, poll=2) == set(live)


async def test_embedded_inserts_stay_as_fast_with_50000_entries_as_with_1000(
    embedded_store: MongoStore,
) -> None:
    """mongomock alone scans the whole collection per access: ~100x slower at 50,000."""
    repository = embedded_store.entries
    now = datetime.now(UTC)

    async def fill_to(total: int) -> None:
        while (count := await AuditLogDocument.count()) < total:
            batch = min(5_000, total - count)
            await repository.add_many([entry(created_at=now) for _ in range(batch)])

    async def insert_rate(inserts: int = 200, rounds: int = 3) -> float:
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(inserts):
                await repository.add(entry(created_at=now))
            best = min(best, time.perf_counter() - started)
        return inserts / best

    await fill_to(1_000)
    rate_at_1k = await insert_rate()
    await fill_to(50_000)
    rate_at_50k = await insert_rate()

    assert rate_at_50k >= 0.5 * rate_at_1k, (rate_at_1k, rate_at_50k)
