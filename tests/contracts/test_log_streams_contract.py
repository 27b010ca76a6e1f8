"""The log stream store's contract: a stream reads back equal in every field (times in UTC,
at millisecond precision), streams are listed oldest first by account or all, a write is a
compare-and-set on `version` (of two at one version exactly one wins, a stale or deleted
one writes nothing), a taken id is a Conflict, and delete says whether there was one."""

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from application.errors import Conflict
from application.reading.criteria import LogFilter, Position
from application.streams.model import Failure, Lease, LogStream, Progress, SealedSecret
from application.streams.ports import LogStreamStore
from domain.streams import PauseReason, StreamKind, StreamState, destination
from tests.stores import Store

T0 = datetime(2026, 3, 2, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture
def streams(store: Store) -> LogStreamStore:
    return store.log_streams


def stream_id(n: int) -> str:
    return f"ls_{n:024x}"


def minimal(n: int = 1, *, account: str = "acme", created_at: datetime = T0) -> LogStream:
    """A stream as created: every optional field at its default."""
    return LogStream(
        id=stream_id(n),
        account=account,
        name=f"siem {n}",
        destination=destination(StreamKind.WEBHOOK, "https://siem.example.com/in"),
        filter=LogFilter(account=account),
        state=StreamState.ACTIVE,
        created_at=created_at,
        start=created_at,
    )


EVERY_FILTER_FIELD = LogFilter(
    account="acme",
    application="portal",
    actions=("user.login", "user.logout"),
    email="alice@example.com",
    success=False,
    since=T0 - timedelta(days=1, milliseconds=250),
    until=T0 + timedelta(days=30, milliseconds=1),
    actor_id="user_01HALICE",
    target_id="doc_7",
    target_type="document",
)


def populated(n: int = 2) -> LogStream:
    """A stream with no field at its default (`test_the_populated_stream_sets_every_field`)."""
    return LogStream(
        id=stream_id(n),
        account="initech",
        name="Splunk, prod",
        destination=destination(StreamKind.SPLUNK_HEC, "https://hec.example.com:8088/services?x=1"),
        filter=dataclasses.replace(EVERY_FILTER_FIELD, account="initech"),
        state=StreamState.PAUSED,
        created_at=T0 - timedelta(days=2, milliseconds=1),
        start=T0 + timedelta(minutes=5, milliseconds=7),
        paused=PauseReason.FAILING_TOO_LONG,
        progress=Progress(
            position=Position(T0 + timedelta(seconds=3, milliseconds=999), "0" * 23 + "a"),
            delivered=1_234,
            sequence=17,
            chain="ab" * 32,
            missed=3,
            through=T0 + timedelta(seconds=4, milliseconds=1),
            pending=Position(T0 + timedelta(seconds=5, milliseconds=2), "0" * 23 + "b"),
            pending_at=T0 + timedelta(seconds=6, milliseconds=3),
        ),
        failure=Failure(
            attempts=42,
            since=T0 + timedelta(hours=1),
            last_error="HTTP_503",
            retry_at=T0 + timedelta(hours=1, seconds=30, milliseconds=500),
        ),
        lease=Lease(owner="instance-b:4711", until=T0 + timedelta(minutes=2, milliseconds=3)),
        secret=SealedSecret("gAAAAA-current-ciphertext"),
        previous_secret=SealedSecret("gAAAAA-previous-ciphertext"),
        rotated_until=T0 + timedelta(days=1),
        token=SealedSecret("gAAAAA-token-ciphertext"),
        version=9,
    )


def moments(stream: LogStream) -> list[datetime | None]:
    progress, failure = stream.progress, stream.failure
    position = progress.position
    return [
        stream.created_at,
        stream.start,
        stream.rotated_until,
        stream.filter.since,
        stream.filter.until,
        None if position is None else position.created_at,
        progress.through,
        None if progress.pending is None else progress.pending.created_at,
        progress.pending_at,
        failure.since,
        failure.retry_at,
        None if stream.lease is None else stream.lease.until,
    ]


def test_the_populated_stream_sets_every_field() -> None:
    # A field added to the model fails here until `populated` (and so the round trip) has it.
    full = populated()
    for record, default in (
        (full, minimal()),
        (full.progress, Progress()),
        (full.failure, Failure()),
        (full.filter, LogFilter()),
    ):
        for field in dataclasses.fields(record):  # type: ignore[arg-type]
            assert getattr(record, field.name) != getattr(default, field.name), field.name


@pytest.mark.parametrize("make", [minimal, populated], ids=["minimal", "populated"])
async def test_a_stream_reads_back_equal_in_every_field_and_in_utc(
    streams: LogStreamStore, make: type[LogStream]
) -> None:
    stream = make()

    await streams.add(stream)
    read = await streams.get(stream.id)

    assert read == stream
    assert read is not None
    assert read.destination == stream.destination  # parsed again: host, port, target
    assert all(m is None or m.tzinfo is UTC for m in moments(read))
    assert [await streams.list(), await streams.list(stream.account)] == [[stream], [stream]]


async def test_a_filter_with_every_field_survives(streams: LogStreamStore) -> None:
    stream = minimal().replace(filter=EVERY_FILTER_FIELD)
    await streams.add(stream)

    read = await streams.get(stream.id)

    assert read is not None
    assert read.filter == EVERY_FILTER_FIELD


async def test_an_unknown_stream_is_none_and_an_empty_store_lists_none(
    streams: LogStreamStore,
) -> None:
    assert await streams.get(stream_id(404)) is None
    assert await streams.list() == []
    assert await streams.list("acme") == []
    assert (await streams.readable()).streams == []


async def test_streams_are_listed_oldest_first_by_account_or_all(
    streams: LogStreamStore,
) -> None:
    # Added out of order; two created at one moment are ordered by id.
    later = minimal(1, created_at=T0 + timedelta(minutes=1))
    tied_high = minimal(3, created_at=T0)
    tied_low = minimal(2, created_at=T0)
    other = minimal(4, account="globex", created_at=T0 + timedelta(seconds=30))
    for stream in (later, tied_high, other, tied_low):
        await streams.add(stream)

    assert await streams.list("acme") == [tied_low, tied_high, later]
    assert await streams.list("globex") == [other]
    assert await streams.list(None) == [tied_low, tied_high, other, later]
    assert await streams.list("initech") == []
    readable = await streams.readable()  # the same, every one read back
    assert (readable.streams, readable.unreadable) == ([tied_low, tied_high, other, later], [])


async def test_a_taken_id_is_a_conflict_and_keeps_the_first(streams: LogStreamStore) -> None:
    first = minimal(1)
    await streams.add(first)

    with pytest.raises(Conflict):
        await streams.add(populated(1))

    assert await streams.get(first.id) == first


async def test_a_replace_at_the_stored_version_writes_the_stream_whole(
    streams: LogStreamStore,
) -> None:
    stored = minimal(2)
    await streams.add(stored)
    changed = populated(2).replace(version=stored.version + 1)

    assert await streams.replace(changed, expected_version=stored.version) is True

    assert await streams.get(stored.id) == changed
    # And back to the minimal one: fields set before are cleared, not kept.
    cleared = stored.replace(version=changed.version + 1)
    assert await streams.replace(cleared, expected_version=changed.version) is True
    assert await streams.get(stored.id) == cleared


async def test_a_replace_at_a_stale_version_writes_nothing(streams: LogStreamStore) -> None:
    stored = minimal().replace(version=4)
    await streams.add(stored)

    for stale in (3, 5, 0):
        attempt = stored.replace(name="renamed", version=stale + 1)
        assert await streams.replace(attempt, expected_version=stale) is False

    assert await streams.get(stored.id) == stored


async def test_a_replace_of_a_deleted_or_unknown_stream_writes_nothing(
    streams: LogStreamStore,
) -> None:
    stored = minimal()
    await streams.add(stored)
    assert await streams.delete(stored.id) is True

    assert await streams.replace(stored.replace(version=1), expected_version=0) is False
    assert await streams.get(stored.id) is None
    assert await streams.list() == []


async def test_of_two_replaces_at_one_version_exactly_one_wins(streams: LogStreamStore) -> None:
    stored = minimal()
    await streams.add(stored)
    lease_a = stored.replace(lease=Lease(owner="a", until=T0 + timedelta(minutes=1)), version=1)
    lease_b = stored.replace(lease=Lease(owner="b", until=T0 + timedelta(minutes=1)), version=1)

    won = await asyncio.gather(
        streams.replace(lease_a, expected_version=0),
        streams.replace(lease_b, expected_version=0),
    )

    assert sorted(won) == [False, True]
    assert await streams.get(stored.id) == (lease_a if won[0] else lease_b)


async def test_delete_removes_the_stream_and_says_whether_there_was_one(
    streams: LogStreamStore,
) -> None:
    kept, gone = minimal(1), minimal(2)
    await streams.add(kept)
    await streams.add(gone)

    assert await streams.delete(gone.id) is True
    assert await streams.delete(gone.id) is False
    assert await streams.delete(stream_id(404)) is False

    assert await streams.get(gone.id) is None
    assert await streams.list() == [kept]
    # The id may be taken again once deleted.
    await streams.add(gone)
    assert await streams.get(gone.id) == gone
