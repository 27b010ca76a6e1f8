"""Retention is physical: expired entries are deleted, by MongoDB's TTL monitor or the
embedded store's sweep, which is the only time the embedded store looks for them."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mongomock.store import CollectionStore

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.store import MongoStore
from tests.builders import entry
from tests.stores import NO_REAL_MONGODB, REAL_MONGODB_URI, open_embedded_store


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


async def test_the_embedded_store_scans_for_expired_entries_only_in_its_sweep(
    embedded_store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mongomock alone scans the whole collection for expired documents on every access:
    inserts slow about 100x by 50,000 entries. Only the sweep may scan."""
    scans: list[str] = []
    expire = CollectionStore._expire_documents

    def counted(self: CollectionStore, index: Any) -> None:
        scans.append(self.name)
        expire(self, index)

    monkeypatch.setattr(CollectionStore, "_expire_documents", counted)
    repository = embedded_store.entries
    _, live, rows = expired_and_live()
    await repository.add_many(rows)
    for _ in range(3):
        await repository.add(entry())
    assert len(await stored_ids()) == len(rows) + 3
    assert await AuditLogDocument.count() == len(rows) + 3
    assert scans == []

    assert embedded_store.ttl_monitor is not None
    embedded_store.ttl_monitor.sweep()

    assert "audit_logs" in scans
    assert set(live) <= await stored_ids()
