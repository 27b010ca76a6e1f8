"""Idempotency keys on the Beanie store beyond the contract: what a batch leaves when another
insert takes a key or an id between its check and its insert, the unique index guarding on
its own, and the embedded store checking it by lookup, as MongoDB does."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.outbound.mongo import entries as beanie_entries
from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.store import MongoStore
from application.errors import Conflict, IdempotencyKeyTaken
from domain.entry import AuditEntry
from tests.builders import entry

T0 = datetime(2036, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def at(seconds_before: float, **fields: Any) -> AuditEntry:
    return entry(created_at=T0 - timedelta(seconds=seconds_before), **fields)


async def stored_ids() -> set[str]:
    return {d["_id"] async for d in AuditLogDocument.get_motor_collection().find({}, {"_id": 1})}


def meanwhile(monkeypatch: pytest.MonkeyPatch, write: Callable[[], Any]) -> None:
    """Run `write` (another request's insert) right after the batch's check."""
    check = beanie_entries._stored_ids_and_keys

    async def check_then_write(batch: Any) -> Any:
        found = await check(batch)
        await write()
        return found

    monkeypatch.setattr(beanie_entries, "_stored_ids_and_keys", check_then_write)


async def test_a_key_taken_after_the_check_leaves_only_entries_holding_their_own_keys(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    plain, first_keyed, second_keyed, last = (
        at(4),
        at(3, idempotency_key="k1"),
        at(2, idempotency_key="k2"),
        at(1),
    )
    rival = at(0.5, idempotency_key="k2")
    meanwhile(monkeypatch, lambda: store.entries.add(rival))

    with (
        caplog.at_level(logging.WARNING, logger="adapters.outbound.mongo.entries"),
        pytest.raises(IdempotencyKeyTaken) as raised,
    ):
        await store.entries.add_many([plain, first_keyed, second_keyed, last])

    assert (raised.value.account, raised.value.key) == ("acme", "k2")
    # Keyed entries go first: what was written before the clash a retry finds by its key.
    assert await stored_ids() == {rival.id, first_keyed.id}
    held = await store.entries.holding_keys([("acme", "k1"), ("acme", "k2")])
    assert sorted(e.id for e in held) == sorted([first_keyed.id, rival.id])
    assert [r.getMessage() for r in caplog.records] == [
        "an insert racing a batch took one of its idempotency keys after 1 of its entries "
        "were stored"
    ]


async def test_an_id_stored_after_the_check_is_skipped_by_a_retried_delivery(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempt = [at(3 - i, idempotency_key=f"d-{i}") for i in range(3)]
    meanwhile(monkeypatch, lambda: store.entries.add(attempt[1]))  # a concurrent attempt

    await store.entries.add_many(attempt, skip_existing=True)

    assert await stored_ids() == {e.id for e in attempt}


async def test_an_id_stored_after_the_check_is_a_conflict_naming_it(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [at(2), at(1)]
    meanwhile(monkeypatch, lambda: store.entries.add(batch[1]))

    with pytest.raises(Conflict) as raised:
        await store.entries.add_many(batch)

    assert (raised.value.kind, raised.value.ident) == ("audit entry", batch[1].id)


async def test_the_unique_index_alone_refuses_a_second_holder_and_lets_keyless_entries_be(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def sees_nothing(batch: Any) -> tuple[set[str], set[tuple[str, str]]]:
        return set(), set()

    monkeypatch.setattr(beanie_entries, "_stored_ids_and_keys", sees_nothing)
    holder = at(3, idempotency_key="once")
    await store.entries.add_many([holder, at(2), at(1.5)])

    with pytest.raises(IdempotencyKeyTaken):
        await store.entries.add_many([at(1, idempotency_key="once")])
    await store.entries.add_many([at(0.5), at(0.25, account="globex", idempotency_key="once")])

    assert len(await stored_ids()) == 5


async def test_the_embedded_store_checks_a_key_without_scanning_the_collection(
    embedded_store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mongomock's own check scans every document on every insert (O(n) per insert)."""
    collection: Any = AuditLogDocument.get_motor_collection()
    mongomock_collection = collection._AsyncMongoMockCollection__collection
    scan = mongomock_collection._iter_documents
    scans: list[object] = []

    def counted(query: object) -> Any:
        scans.append(query)
        return scan(query)

    monkeypatch.setattr(mongomock_collection, "_iter_documents", counted)
    for i in range(3):
        await embedded_store.entries.add(at(i, idempotency_key=f"k{i}"))
        await embedded_store.entries.add(at(i + 0.5))
    assert scans == []

    with pytest.raises(IdempotencyKeyTaken):
        await embedded_store.entries.add(at(5, idempotency_key="k1"))
    assert len(await stored_ids()) == 6


async def test_on_the_embedded_store_a_key_is_free_again_once_the_sweep_removed_its_entry(
    embedded_store: MongoStore,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    expired = entry(
        created_at=now - timedelta(days=2), retention=timedelta(days=1), idempotency_key="old"
    )
    await embedded_store.entries.add(expired)
    assert embedded_store.ttl_monitor is not None
    embedded_store.ttl_monitor.sweep()

    again = entry(created_at=now, idempotency_key="old")
    await embedded_store.entries.add(again)

    assert await embedded_store.entries.holding_keys([("acme", "old")]) == [again]
