"""The in-process sink: events go through the batch record use case (wired by Services.build
on the fakes) to the entry repository; an unavailable store is worth retrying, a refusal is not."""

from collections.abc import AsyncIterator, Sequence

import pytest

from application.errors import StoreUnavailable
from application.interceptor import (
    AuditEmitter,
    PermanentSinkError,
    RecordingSink,
    TransientSinkError,
)
from application.services import Services
from domain.entry import AuditEntry
from tests import configs
from tests.fakes import FakeClock, InMemoryAuditEntries
from tests.telemetry import RecordingTelemetry
from tests.unit.application.interceptor.support import event, events

pytestmark = pytest.mark.usefixtures("tenants")

FAST = configs.emitter_config(
    linger_seconds=0.001,
    backoff_base_seconds=0.001,
    backoff_max_seconds=0.005,
    shutdown_grace_seconds=1.0,
)


class FlakyEntries(InMemoryAuditEntries):
    """The in-memory repository, whose add_many can be told to fail with StoreUnavailable
    the next `failures` times, optionally after writing the first `written_before_failing`."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.written_before_failing = 0
        self.add_many_calls = 0

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        self.add_many_calls += 1
        if self.failures:
            self.failures -= 1
            for entry in entries[: self.written_before_failing]:
                await self.add(entry)
            raise StoreUnavailable()
        await super().add_many(entries, skip_existing=skip_existing)


@pytest.fixture
def entries() -> FlakyEntries:
    """Replaces the shared fixture, so Services.build wires the flaky repository."""
    return FlakyEntries()


@pytest.fixture
def sink(services: Services) -> RecordingSink:
    return RecordingSink(services.recording.record_many)


@pytest.fixture
async def emitter(
    sink: RecordingSink, telemetry: RecordingTelemetry, clock: FakeClock
) -> AsyncIterator[AuditEmitter]:
    # Events are stamped by the clock the service records by, as Services.build wires it.
    emitter = AuditEmitter(sink, FAST, telemetry=telemetry, now=clock.now)
    yield emitter
    await emitter.stop()


def logins(entries: FlakyEntries) -> list[AuditEntry]:
    """Stored entries of the events under test (the fixtures' admin events excluded)."""
    return sorted(
        (e for e in entries.entries.values() if e.action == "auth.login"),
        key=lambda e: e.request_id or "",
    )


async def test_events_are_stored_under_the_account_their_application_belongs_to(
    sink: RecordingSink, entries: FlakyEntries
) -> None:
    await sink.send(
        [
            event(0, application="acme-web", email="bob@example.com"),
            event(1, application="globex-web"),
            event(2, application="acme-mobile", success=False, reason="bad_password"),
            event(3, application="_acme"),
        ],
        delivery_id="d-1",
    )

    stored = logins(entries)
    assert [(e.request_id, e.application, e.account) for e in stored] == [
        ("req-0", "acme-web", "acme"),
        ("req-1", "globex-web", "globex"),
        ("req-2", "acme-mobile", "acme"),
        ("req-3", "_acme", "acme"),
    ]
    assert stored[0].email == "bob@example.com"
    assert (stored[2].success, stored[2].reason) == (False, "bad_password")


async def test_the_services_own_emitter_delivers_audited_flows_to_the_repository(
    services: Services, entries: FlakyEntries
) -> None:
    services.emitter.start()
    try:

        @services.auditor.audited(
            "auth.login", application="acme-web", email=lambda call: call["email"]
        )
        async def login(email: str) -> str:
            return "session"

        assert await login("ivy@example.com") == "session"
    finally:
        assert await services.emitter.stop() == 0

    [stored] = logins(entries)
    assert (stored.account, stored.application, stored.email) == (
        "acme",
        "acme-web",
        "ivy@example.com",
    )


async def test_an_unavailable_store_is_a_transient_failure(
    sink: RecordingSink, entries: FlakyEntries
) -> None:
    entries.failures = 1

    with pytest.raises(TransientSinkError) as raised:
        await sink.send([event(0, application="acme-web")], delivery_id="d-1")

    assert isinstance(raised.value.__cause__, StoreUnavailable)
    assert logins(entries) == []


async def test_an_unknown_application_is_a_permanent_failure(
    sink: RecordingSink, entries: FlakyEntries
) -> None:
    with pytest.raises(PermanentSinkError):
        await sink.send(
            [event(0, application="acme-web"), event(1, application="nowhere")], delivery_id="d-1"
        )

    assert logins(entries) == []


async def test_a_batch_over_the_record_limit_is_a_permanent_failure(
    sink: RecordingSink, entries: FlakyEntries
) -> None:
    with pytest.raises(PermanentSinkError):
        await sink.send(events(1_001, application="acme-web"), delivery_id="d-1")

    assert logins(entries) == []


async def test_an_event_for_an_unknown_application_does_not_lose_the_rest_of_its_batch(
    emitter: AuditEmitter,
    entries: FlakyEntries,
    telemetry: RecordingTelemetry,
) -> None:
    for index in range(5):
        emitter.emit(event(index, application="nowhere" if index == 2 else "acme-web"))

    emitter.start()
    assert await emitter.stop() == 0

    assert [e.request_id for e in logins(entries)] == ["req-0", "req-1", "req-3", "req-4"]
    assert (telemetry.interceptor["sent"], telemetry.interceptor["failed"]) == (4, 1)


async def test_a_store_that_fails_twice_then_recovers_ends_with_every_event_stored_once(
    emitter: AuditEmitter,
    entries: FlakyEntries,
    telemetry: RecordingTelemetry,
) -> None:
    entries.failures = 2
    emitted = [event(i, application="globex-web" if i % 2 else "acme-web") for i in range(5)]
    for e in emitted:
        emitter.emit(e)

    emitter.start()
    assert await emitter.stop() == 0

    stored = logins(entries)
    assert [e.request_id for e in stored] == [e.request_id for e in emitted]
    assert [e.account for e in stored] == ["acme", "globex", "acme", "globex", "acme"]
    assert entries.add_many_calls == 3
    assert telemetry.interceptor["sent"] == 5
    assert telemetry.interceptor["retried"] == 2 * 5
    assert telemetry.interceptor["failed"] == 0


async def test_a_store_that_fails_after_a_partial_write_ends_with_every_event_stored_once(
    emitter: AuditEmitter, entries: FlakyEntries
) -> None:
    entries.failures = 1
    entries.written_before_failing = 2
    for e in events(5, application="acme-web"):
        emitter.emit(e)

    emitter.start()
    assert await emitter.stop() == 0

    assert [e.request_id for e in logins(entries)] == [f"req-{i}" for i in range(5)]
