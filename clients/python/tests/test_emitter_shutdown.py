"""Stopping flushes within the grace period, reports what is left unsent, and refuses
(counts) anything emitted afterwards."""

import asyncio
import logging

import pytest
from client_support import (
    WAIT,
    CountingTelemetry,
    FakeSink,
    MakeEmitter,
    event,
    events,
    request_ids,
    until_sending,
)


def unsent_reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "auditlog.interceptor" and r.levelno >= logging.WARNING
    ]


async def test_stop_flushes_every_event_emitted_and_reports_none_unsent(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink, batch_size=4)
    emitter.start()
    batch = events(10)
    for e in batch:
        emitter.emit(e)

    unsent = await asyncio.wait_for(emitter.stop(), WAIT)

    assert unsent == 0
    assert sink.delivered == batch
    assert emitter.pending == 0


async def test_stop_flushes_events_that_waited_for_a_retry(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    sink.fail_transiently(2)
    emitter = make_emitter(sink)
    emitter.start()
    batch = events(3)
    for e in batch:
        emitter.emit(e)

    assert await asyncio.wait_for(emitter.stop(), WAIT) == 0
    assert sink.delivered == batch


async def test_stop_with_a_blocked_sink_returns_and_logs_what_is_queued_or_in_flight(
    sink: FakeSink, make_emitter: MakeEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="auditlog.interceptor")
    sink.block()
    emitter = make_emitter(sink, batch_size=2, shutdown_grace_seconds=0.2)
    for e in events(5):
        emitter.emit(e)
    emitter.start()
    await until_sending(sink)

    unsent = await asyncio.wait_for(emitter.stop(), WAIT)

    assert unsent == 5
    assert sink.delivered == []
    assert any("5" in message for message in unsent_reports(caplog))


async def test_stop_before_start_reports_the_queued_events_unsent(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink)
    for e in events(2):
        emitter.emit(e)

    assert await emitter.stop() == 2
    assert sink.attempts == []


async def test_an_event_emitted_after_stop_is_dropped_and_counted(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    caplog: pytest.LogCaptureFixture,
    telemetry: CountingTelemetry,
) -> None:
    caplog.set_level(logging.INFO, logger="auditlog.interceptor")
    emitter = make_emitter(sink)
    emitter.start()
    await emitter.stop()

    accepted = emitter.emit(event(1, email="secret@example.com", reason="hunter2 is my dog's name"))
    for _ in range(10):
        await asyncio.sleep(0)

    assert accepted is False
    assert telemetry.counts["dropped"] == 1
    assert telemetry.counts["queued"] == 0
    assert sink.attempts == []
    assert "secret@example.com" not in caplog.text
    assert "hunter2" not in caplog.text


async def test_stop_delivers_a_partial_batch_the_sender_is_lingering_on(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink, batch_size=10, linger_seconds=60.0, shutdown_grace_seconds=0.2)
    emitter.start()
    emitter.emit(event(1))
    for _ in range(10):
        await asyncio.sleep(0)

    unsent = await asyncio.wait_for(emitter.stop(), WAIT)

    assert request_ids(sink.delivered) == ["req-1"]
    assert unsent == 0
