"""A log stream stored in MongoDB that does not read back as one (altered by hand, corrupt,
or written by a newer version) is an `UnreadableStream` naming the stream, never garbage,
and never quoting a stored value."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.outbound.mongo.documents import LogStreamDocument
from adapters.outbound.mongo.store import MongoStore
from application.reading.criteria import LogFilter, Position
from application.streams.model import Failure, Lease, LogStream, Progress, SealedSecret
from application.streams.ports import UnreadableStream
from domain.streams import StreamKind, StreamState, destination
from tests.stores import open_embedded_store

T0 = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


def minimal(n: int = 1, *, created_at: datetime = T0) -> LogStream:
    return LogStream(
        id=f"ls_{n:024x}",
        account="acme",
        name=f"siem {n}",
        destination=destination(StreamKind.WEBHOOK, "https://siem.example.com/in"),
        filter=LogFilter(account="acme", actions=("auth.login",)),
        state=StreamState.ACTIVE,
        created_at=created_at,
        start=created_at,
    )


def populated() -> LogStream:
    """With a position, a lease and secrets, so each can be altered."""
    return minimal(9).replace(
        progress=Progress(position=Position(T0, "0" * 24), delivered=1, sequence=1, chain="ab"),
        failure=Failure(attempts=1, since=T0, last_error="TIMEOUT", retry_at=T0),
        lease=Lease(owner="instance-a", until=T0),
        secret=SealedSecret("gAAAA-secret"),
        token=SealedSecret("gAAAA-token"),
    )


@pytest.fixture
async def mongo() -> AsyncIterator[MongoStore]:
    opened = await open_embedded_store()
    try:
        yield opened
    finally:
        await opened.close()


def altered(path: str, value: Any) -> dict[str, Any]:
    return {"$set": {f"stream.{path}": value}} if path else {"$set": {"stream": value}}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("kind", "CARRIER_PIGEON"),
        ("url", "ftp://siem.example.com/"),
        ("state", "SLEEPING"),
        ("progress.delivered", -1),
        ("progress.position", ["not a time", "id"]),
        ("lease.until", "2026-03-01T12:00:00"),  # no offset: not a UTC time we wrote
        ("secret", {"ciphertext": "x-hunter2"}),
        ("filter.actions", "x-hunter2"),
        ("", "x-hunter2"),
        ("surprise", 1),
    ],
)
async def test_an_altered_stream_is_unreadable_naming_it_and_no_stored_value(
    mongo: MongoStore, path: str, value: Any
) -> None:
    stream = populated()
    await mongo.log_streams.add(stream)
    await mongo.log_streams.add(minimal())
    await LogStreamDocument.get_motor_collection().update_one(
        {"_id": stream.id}, altered(path, value)
    )

    with pytest.raises(UnreadableStream) as unreadable:
        await mongo.log_streams.get(stream.id)
    with pytest.raises(UnreadableStream):
        await mongo.log_streams.list()
    readable = await mongo.log_streams.readable()
    assert (readable.streams, readable.unreadable) == ([minimal()], [stream.id])

    assert stream.id in str(unreadable.value)
    assert "hunter2" not in str(unreadable.value)
    assert unreadable.value.__cause__ is None


async def test_a_missing_field_is_unreadable(mongo: MongoStore) -> None:
    stream = minimal()
    await mongo.log_streams.add(stream)
    await LogStreamDocument.get_motor_collection().update_one(
        {"_id": stream.id}, {"$unset": {"stream.failure": ""}}
    )

    with pytest.raises(UnreadableStream):
        await mongo.log_streams.get(stream.id)


async def test_times_keep_their_microseconds_and_streams_a_microsecond_apart_list_in_order(
    mongo: MongoStore,
) -> None:
    # BSON dates keep milliseconds: the document's times and its sort key must not be them.
    t0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    later = minimal(1, created_at=t0 + timedelta(microseconds=1))
    earlier = minimal(2, created_at=t0)
    await mongo.log_streams.add(later)
    await mongo.log_streams.add(earlier)

    assert await mongo.log_streams.list() == [earlier, later]
    assert await mongo.log_streams.list("acme") == [earlier, later]
    read = await mongo.log_streams.get(later.id)
    assert read is not None
    assert read.created_at == t0 + timedelta(microseconds=1)
