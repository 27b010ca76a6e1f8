"""Each event gets its time and idempotency key when it is emitted, not when it is sent: a
retry sends the same two, and a delivery delayed by an outage keeps the moment of the action."""

import asyncio
from datetime import UTC, datetime, timedelta

from auditlog_client import AuditEmitter, Auditor, Event
from client_support import FakeSink, MakeEmitter, delivered, emitter_config, event


def unstamped(index: int = 0) -> Event:
    return Event(application="portal", action="auth.login", success=True, request_id=f"r-{index}")


async def test_an_event_emitted_without_time_or_key_is_sent_with_both_from_the_emit(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink)
    before = datetime.now(UTC).replace(microsecond=0)

    emitter.emit(unstamped())
    after = datetime.now(UTC)
    emitter.start()
    await delivered(emitter)

    [sent] = sink.delivered
    assert sent.occurred_at is not None
    assert before <= sent.occurred_at <= after
    assert sent.idempotency_key is not None


async def test_the_time_is_the_emits_even_when_the_send_comes_much_later(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    sink.block()
    emitter = make_emitter(sink, batch_size=1)
    emitter.start()
    emitter.emit(unstamped(0))
    await asyncio.wait_for(sink.started.wait(), 5)

    emitter.emit(unstamped(1))  # queued behind the blocked send
    emitted_by = datetime.now(UTC)
    await asyncio.sleep(0.1)
    sink.release()
    await delivered(emitter)

    second = sink.delivered[1]
    assert second.occurred_at is not None
    assert second.occurred_at <= emitted_by


async def test_every_attempt_at_a_batch_carries_the_same_times_and_keys(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    sink.fail_transiently(2)
    emitter = make_emitter(sink)

    for index in range(3):
        emitter.emit(unstamped(index))
    emitter.start()
    await delivered(emitter)

    first, *retries = sink.attempts
    assert len(retries) == 2
    stamps = [(e.occurred_at, e.idempotency_key) for e in first]
    assert all([(e.occurred_at, e.idempotency_key) for e in r] == stamps for r in retries)
    assert len({key for _, key in stamps}) == 3


async def test_a_time_and_key_given_are_kept(sink: FakeSink, make_emitter: MakeEmitter) -> None:
    emitter = make_emitter(sink)
    given = event(7, occurred_at=datetime(2026, 1, 1, 9, 30, tzinfo=UTC), idempotency_key="k-7")

    emitter.emit(given)
    emitter.start()
    await delivered(emitter)

    assert sink.delivered == [given]


async def test_an_emitter_told_not_to_stamp_sends_events_as_emitted(sink: FakeSink) -> None:
    emitter = AuditEmitter(sink, emitter_config(linger_seconds=0), stamp=False)
    emitter.emit(unstamped())
    emitter.start()
    assert await emitter.stop() == 0

    [sent] = sink.delivered
    assert (sent.occurred_at, sent.idempotency_key) == (None, None)


async def test_an_audited_flow_is_stamped_when_it_ends(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink)
    auditor = Auditor(emitter)

    @auditor.audited("auth.login", application="portal")
    async def login() -> str:
        return "ok"

    await login()
    ended = datetime.now(UTC)
    emitter.start()
    await delivered(emitter)

    [sent] = sink.delivered
    assert sent.occurred_at is not None
    assert ended - timedelta(seconds=1) < sent.occurred_at <= ended


def test_a_stamped_time_is_in_utc_at_millisecond_precision() -> None:
    stamped = unstamped().stamped(datetime(2026, 3, 1, 14, 0, 0, 123456, tzinfo=UTC))

    assert stamped.occurred_at == datetime(2026, 3, 1, 14, 0, 0, 123000, tzinfo=UTC)
