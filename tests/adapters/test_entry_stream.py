"""The Mongo adapter's stream reads a cursor a batch at a time and never lists the result.

`async for` over a Beanie `FindMany` takes `motor_cursor` once, which calls the motor
collection's `find(filter=, sort=, projection=, skip=, limit=, session=, **pymongo_kwargs)`,
then awaits the cursor's `__anext__` per document; `FindMany.to_list()` would instead call
the cursor's `to_list`. So a spy on the collection's `find` sees the batch size, and a
wrapped cursor sees how far the adapter reads ahead and whether it asks for a list.
"""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.entries import STREAM_BATCH_SIZE
from adapters.outbound.mongo.store import MongoStore
from application.reading.criteria import EntryCriteria, LogFilter
from domain.entry import AuditEntry
from tests.builders import entry

T0 = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
STORED = 3 * STREAM_BATCH_SIZE + 250


def criteria(account: str) -> EntryCriteria:
    return EntryCriteria(LogFilter(account=account))


class SpyCursor:
    """A motor cursor that counts the documents taken from it and refuses `to_list`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.pulled = 0
        self.listed = False

    def __aiter__(self) -> "SpyCursor":
        return self

    async def __anext__(self) -> Any:
        document = await self._inner.__anext__()
        self.pulled += 1
        return document

    async def to_list(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.listed = True
        pytest.fail("the stream read the whole result into a list (cursor.to_list)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_the_stream_iterates_a_batched_cursor_and_never_lists_it(
    embedded_store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three entries per second, so the newest-first order also rests on the id tiebreak.
    stored = [
        entry(created_at=T0 - timedelta(seconds=1 + i // 3), application="portal")
        for i in range(STORED)
    ]
    others = [entry(account="globex", application="shop", created_at=T0) for _ in range(50)]
    shuffled = random.Random(7).sample(stored + others, len(stored) + len(others))
    for start in range(0, len(shuffled), 1_000):
        await embedded_store.entries.add_many(shuffled[start : start + 1_000])

    collection = AuditLogDocument.get_motor_collection()
    find = collection.find
    finds: list[dict[str, Any]] = []
    cursors: list[SpyCursor] = []

    def spying_find(*args: Any, **kwargs: Any) -> SpyCursor:
        finds.append(kwargs)
        cursors.append(SpyCursor(find(*args, **kwargs)))
        return cursors[-1]

    monkeypatch.setattr(collection, "find", spying_find)

    stream = embedded_store.entries.stream(criteria("acme"), now=T0)
    first = await anext(stream)
    assert len(cursors) == 1
    ahead = cursors[0].pulled
    streamed: list[AuditEntry] = [*first, *[e async for batch in stream for e in batch]]

    assert len(finds) == 1
    assert finds[0].get("batch_size") == STREAM_BATCH_SIZE
    assert not cursors[0].listed
    assert ahead <= STREAM_BATCH_SIZE, f"{ahead} documents read before the first was yielded"
    assert cursors[0].pulled == STORED
    newest_first = sorted(stored, key=lambda e: (e.created_at, e.id), reverse=True)
    assert [e.id for e in streamed] == [e.id for e in newest_first]
    assert streamed == newest_first
