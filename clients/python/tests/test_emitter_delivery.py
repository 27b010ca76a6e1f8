"""The sender delivers what was emitted: in batches, in order, through transient failures,
around one refused event, and on after a sink bug."""

import asyncio
import logging

import pytest
from client_support import (
    CountingTelemetry,
    FakeSink,
    MakeEmitter,
    delivered,
    event,
    events,
    request_ids,
)


async def test_emit_returns_at_once_before_start_and_the_events_wait_in_the_queue(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink)
    batch = events(3)

    accepted = [emitter.emit(e) for e in batch]
    for _ in range(10):
        await asyncio.sleep(0)

    assert accepted == [True, True, True]
    assert sink.attempts == []
    assert emitter.pending == 3


async def test_events_emitted_before_start_are_delivered_after_start(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    emitter = make_emitter(sink)
    batch = events(3)
    for e in batch:
        emitter.emit(e)

    emitter.start()
    await delivered(emitter)

    assert sink.delivered == batch
    assert telemetry.counts["sent"] == 3
    assert emitter.pending == 0


async def test_events_arrive_in_batches_of_at_most_batch_size_and_in_order(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    # Emitted before start, so a batch is never cut short by the linger expiring
    # between two events; only the last, partial batch waits for it.
    emitter = make_emitter(sink, batch_size=3, linger_seconds=0.05)
    batch = events(7)
    for e in batch:
        emitter.emit(e)

    emitter.start()
    await delivered(emitter)

    assert [len(b) for b in sink.batches] == [3, 3, 1]
    assert sink.delivered == batch


async def test_a_lone_event_is_sent_once_the_linger_expires_without_a_full_batch(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    emitter = make_emitter(sink, batch_size=100, linger_seconds=0.01)
    emitter.start()

    emitter.emit(event(1))
    await delivered(emitter)

    assert request_ids(sink.delivered) == ["req-1"]
    assert telemetry.counts["sent"] == 1


async def test_transient_failures_are_retried_until_the_events_arrive(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    sink.fail_transiently(3)
    emitter = make_emitter(sink, batch_size=4)
    batch = events(4)
    for e in batch:
        emitter.emit(e)

    emitter.start()
    await delivered(emitter)

    assert len(sink.attempts) == 4
    assert sink.delivered == batch
    assert telemetry.counts["sent"] == 4
    assert telemetry.counts["retried"] == 3 * 4
    assert telemetry.counts["failed"] == 0


class Backoff:
    """A fake `sleep` that returns at once, and a fake `jitter` that picks a third of the
    ceiling; both record what they were given and what they returned."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []
        self.picked: list[float] = []
        self.slept: list[float] = []

    def jitter(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        self.picked.append(high / 3)
        return high / 3

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)


async def test_retries_back_off_exponentially_up_to_the_cap_with_full_jitter(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    backoff = Backoff()
    sink.fail_transiently(6)
    emitter = make_emitter(
        sink,
        sleep=backoff.sleep,
        jitter=backoff.jitter,
        max_attempts=8,
        backoff_base_seconds=0.1,
        backoff_max_seconds=0.5,
    )
    emitter.emit(event())

    emitter.start()
    await delivered(emitter)

    assert [low for low, _ in backoff.ranges] == [0, 0, 0, 0, 0, 0]
    assert [high for _, high in backoff.ranges] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5])
    assert backoff.slept == backoff.picked
    assert telemetry.counts["sent"] == 1


async def test_events_still_failing_after_max_attempts_are_counted_failed_and_not_retried_again(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    backoff = Backoff()
    sink.fail_transiently(1_000)
    emitter = make_emitter(
        sink,
        sleep=backoff.sleep,
        jitter=backoff.jitter,
        batch_size=2,
        max_attempts=4,
        backoff_base_seconds=0.1,
        backoff_max_seconds=0.5,
    )
    for e in events(2):
        emitter.emit(e)

    emitter.start()
    await delivered(emitter)
    for _ in range(20):
        await asyncio.sleep(0)

    assert len(sink.attempts) == 4
    assert [high for _, high in backoff.ranges] == pytest.approx([0.1, 0.2, 0.4])
    assert backoff.slept == backoff.picked
    assert telemetry.counts["failed"] == 2
    assert telemetry.counts["retried"] == 3 * 2
    assert telemetry.counts["sent"] == 0
    assert sink.delivered == []


async def test_a_refused_event_does_not_take_the_rest_of_its_batch_down(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    sink.refuse_when(lambda e: e.application == "bad")
    emitter = make_emitter(sink, batch_size=5)
    batch = [event(0), event(1), event(2, application="bad"), event(3), event(4)]
    for e in batch:
        emitter.emit(e)

    emitter.start()
    await delivered(emitter)

    assert request_ids(sink.delivered) == ["req-0", "req-1", "req-3", "req-4"]
    assert telemetry.counts["sent"] == 4
    assert telemetry.counts["failed"] == 1


async def test_a_refused_event_is_logged_without_its_email_or_reason(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    caplog: pytest.LogCaptureFixture,
    telemetry: CountingTelemetry,
) -> None:
    caplog.set_level(logging.INFO, logger="auditlog.interceptor")
    sink.refuse_when(lambda e: True)
    emitter = make_emitter(sink)
    emitter.emit(event(email="secret@example.com", reason="hunter2 is my dog's name"))

    emitter.start()
    await delivered(emitter)

    assert telemetry.counts["failed"] == 1
    assert "auth.login" in caplog.text
    assert "secret@example.com" not in caplog.text
    assert "hunter2" not in caplog.text


async def test_an_unexpected_sink_error_fails_the_batch_and_later_events_still_go_through(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    sink.explode(1)
    emitter = make_emitter(sink, batch_size=3)
    for e in events(3):
        emitter.emit(e)
    emitter.start()
    await delivered(emitter)

    later = [event(10), event(11)]
    for e in later:
        emitter.emit(e)
    await delivered(emitter)

    assert telemetry.counts["failed"] == 3
    assert sink.delivered == later
    assert telemetry.counts["sent"] == 2


async def test_every_attempt_at_one_batch_carries_the_same_delivery_id(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    sink.fail_transiently(2)
    emitter = make_emitter(sink, batch_size=2)
    for e in events(2):
        emitter.emit(e)
    emitter.start()
    await delivered(emitter)
    for e in events(2):
        emitter.emit(e)
    await delivered(emitter)

    first, second, third, next_batch = sink.delivery_ids
    assert first == second == third
    assert next_batch != first


async def test_a_split_batch_gives_each_event_its_own_delivery_id(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    sink.refuse_when(lambda e: e.application == "bad")
    emitter = make_emitter(sink, batch_size=3)
    for e in [event(0), event(1, application="bad"), event(2)]:
        emitter.emit(e)
    emitter.start()
    await delivered(emitter)

    assert len(set(sink.delivery_ids)) == len(sink.delivery_ids) == 4


async def test_a_sink_that_raises_cancelled_error_itself_does_not_stop_the_sender(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    sink.cancel_from_within(1)
    emitter = make_emitter(sink, batch_size=2)
    for e in events(2):
        emitter.emit(e)
    emitter.start()
    await delivered(emitter)

    later = [event(10)]
    emitter.emit(later[0])
    await delivered(emitter)

    assert telemetry.counts["failed"] == 2
    assert sink.delivered == later
