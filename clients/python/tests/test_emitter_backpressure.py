"""A full queue drops the newest event, counts it and says so without personal data; the
flow carries on and what was already queued is still delivered."""

import asyncio
import logging

import pytest
from auditlog_client import Auditor
from client_support import (
    CountingTelemetry,
    FakeSink,
    MakeEmitter,
    delivered,
    event,
    events,
    request_ids,
    until_sending,
)

SECRET_EMAIL = "secret@example.com"
SECRET_REASON = "hunter2 is my dog's name"


def drop_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "auditlog.interceptor"
        and r.levelno == logging.WARNING
        and "dropped" in r.getMessage()
    ]


async def test_a_full_queue_drops_the_newest_event_and_counts_it(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    emitter = make_emitter(sink, capacity=2)

    answers = [emitter.emit(e) for e in events(3)]
    emitter.start()
    await delivered(emitter)

    assert answers == [True, True, False]
    assert telemetry.counts["dropped"] == 1
    assert telemetry.counts["queued"] == 2
    assert request_ids(sink.delivered) == ["req-0", "req-1"]


async def test_a_dropped_event_is_logged_with_action_and_application_but_no_personal_data(
    sink: FakeSink, make_emitter: MakeEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="auditlog.interceptor")
    emitter = make_emitter(sink, capacity=1)
    emitter.emit(event(0))

    accepted = emitter.emit(
        event(
            1,
            action="mfa.enrolled",
            application="acme-web",
            email=SECRET_EMAIL,
            reason=SECRET_REASON,
        )
    )

    assert accepted is False
    [warning] = drop_warnings(caplog)
    assert "mfa.enrolled" in warning.getMessage()
    assert "acme-web" in warning.getMessage()
    assert SECRET_EMAIL not in caplog.text
    assert "hunter2" not in caplog.text


async def test_the_flow_returns_its_result_when_its_event_is_dropped_and_queued_ones_survive(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    caplog: pytest.LogCaptureFixture,
    telemetry: CountingTelemetry,
) -> None:
    caplog.set_level(logging.DEBUG, logger="auditlog.interceptor")
    sink.block()
    emitter = make_emitter(sink, capacity=2, batch_size=1)
    emitter.start()
    auditor = Auditor(emitter)
    outcome = object()

    @auditor.audited(
        "auth.login",
        application="portal",
        email=lambda call: call["email"],
        reason=SECRET_REASON,
    )
    async def login(email: str) -> object:
        return outcome

    emitter.emit(event(0))
    await until_sending(sink)
    emitter.emit(event(1))
    emitter.emit(event(2))

    result = await login(SECRET_EMAIL)

    assert result is outcome
    assert telemetry.counts["dropped"] == 1
    assert len(drop_warnings(caplog)) == 1
    assert SECRET_EMAIL not in caplog.text
    assert "hunter2" not in caplog.text

    sink.release()
    await delivered(emitter)
    assert request_ids(sink.delivered) == ["req-0", "req-1", "req-2"]
    assert telemetry.counts["sent"] == 3


async def test_queued_counts_accepted_events_only(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    emitter = make_emitter(sink, capacity=3)

    for e in events(5):
        emitter.emit(e)

    assert telemetry.counts["queued"] == 3
    assert telemetry.counts["dropped"] == 2


async def test_pending_counts_queued_and_in_flight_events_until_they_are_delivered(
    sink: FakeSink,
    make_emitter: MakeEmitter,
    telemetry: CountingTelemetry,
) -> None:
    sink.block()
    emitter = make_emitter(sink, batch_size=2)
    for e in events(3):
        emitter.emit(e)
    assert emitter.pending == 3

    emitter.start()
    await until_sending(sink)
    assert len(sink.attempts[0]) == 2
    assert emitter.pending == 3

    sink.release()
    await delivered(emitter)
    assert emitter.pending == 0
    assert telemetry.counts["sent"] == 3


async def test_pending_counts_an_event_the_sender_holds_while_waiting_for_a_fuller_batch(
    sink: FakeSink, make_emitter: MakeEmitter
) -> None:
    emitter = make_emitter(sink, batch_size=10, linger_seconds=60.0, shutdown_grace_seconds=0.01)
    emitter.start()

    emitter.emit(event(1))
    for _ in range(10):
        await asyncio.sleep(0)

    assert sink.attempts == []
    assert emitter.pending == 1
