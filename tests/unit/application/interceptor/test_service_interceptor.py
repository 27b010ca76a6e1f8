"""The service's side of the client package's interceptor: its auditor checks each event as
the domain will store it, its emitter stamps each event's time by the service's clock (no
key), and an interceptor event
becomes a domain event field by field."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from auditlog_client import Party

from application.interceptor import AuditEmitter, Auditor, Event, domain_event
from domain.entry import AuditEvent
from domain.errors import InvalidField
from domain.event_parts import Party as DomainParty
from tests import configs
from tests.telemetry import RecordingTelemetry
from tests.unit.application.interceptor.support import event


class Taking:
    """An emitter stand-in that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, given: Event) -> bool:
        self.events.append(given)
        return True


class Keeping:
    """A sink that keeps every event it is sent."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def send(self, events: Any, *, delivery_id: str) -> None:
        self.events.extend(events)


def test_an_interceptor_event_has_every_field_of_the_domain_event() -> None:
    assert [f.name for f in dataclasses.fields(Event)] == [
        f.name for f in dataclasses.fields(AuditEvent)
    ]


def test_every_field_of_an_interceptor_event_reaches_the_domain_event() -> None:
    occurred = datetime(2026, 1, 15, 11, 59, tzinfo=UTC)
    given = event(
        email="Ann@Example.com", reason="bad_password", ip="203.0.113.9", user_agent="curl/8",
        occurred_at=occurred, idempotency_key="evt-1",
        actor=Party("user_1", "user", "Ann"), targets=[Party("doc_9", "document")],
        metadata={"plan": "pro", "seats": 3},
    )  # fmt: skip

    converted = domain_event(given)

    assert converted == AuditEvent(
        application="portal", action="auth.login", success=True, email="ann@example.com",
        reason="bad_password", ip="203.0.113.9", user_agent="curl/8", request_id="req-0",
        occurred_at=occurred, idempotency_key="evt-1",
        actor=DomainParty("user_1", "user", "Ann"), targets=(DomainParty("doc_9", "document"),),
        metadata={"plan": "pro", "seats": 3},
    )  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "not-an-email"},
        {"application": "Not An Application"},
        {"action": "Not An Action"},
        {"metadata": {"nested": {"no": 1}}},
    ],
    ids=["email", "application", "action", "metadata"],
)
async def test_the_services_auditor_counts_an_event_the_domain_refuses_and_emits_nothing(
    fields: dict[str, Any], telemetry: RecordingTelemetry
) -> None:
    taking = Taking()
    auditor = Auditor(taking, telemetry=telemetry)
    values: dict[str, Any] = {"application": "portal", **fields}
    action = values.pop("action", "auth.login")

    assert auditor.emit(action, success=True, **values) is False

    assert taking.events == []
    assert telemetry.interceptor["invalid"] == 1
    with pytest.raises(InvalidField):
        domain_event(Event(action=action, success=True, **values))


async def test_the_services_emitter_stamps_the_time_by_its_clock_and_no_key() -> None:
    sink = Keeping()
    moment = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
    emitter = AuditEmitter(sink, configs.emitter_config(linger_seconds=0), now=lambda: moment)
    stated = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)

    emitter.emit(event())
    emitter.emit(event(occurred_at=stated))
    emitter.start()
    assert await emitter.stop() == 0

    first, second = sink.events
    assert (first.occurred_at, first.idempotency_key) == (moment.replace(microsecond=123000), None)
    assert (second.occurred_at, second.idempotency_key) == (stated, None)
