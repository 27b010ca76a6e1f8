"""`with auditor.audit(...) as audit:` and `async with`: fields set in the block are used, an
exception makes a failure with a safe reason and propagates, and skip() emits nothing."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from auditlog_client import Auditor, AuditScope, Event
from client_support import CountingTelemetry, RecordingEmitter, field_values


class EnrolmentFailed(Exception):
    pass


class DeviceRejected(Exception):
    audit_reason = "device.rejected"


def only_event(emitter: RecordingEmitter) -> Event:
    [event] = emitter.events
    return event


Body = Callable[[AuditScope], None]
Runner = Callable[..., Awaitable[None]]


async def run_sync(auditor: Auditor, body: Body, **options: Any) -> None:
    with auditor.audit("mfa.enrolled", **options) as audit:
        body(audit)


async def run_async(auditor: Auditor, body: Body, **options: Any) -> None:
    async with auditor.audit("mfa.enrolled", **options) as audit:
        body(audit)


SCOPES = pytest.mark.parametrize("run", [run_sync, run_async], ids=["with", "async-with"])


def set_fields(audit: AuditScope) -> None:
    audit.application = "acme-web"
    audit.email = "frank@example.com"
    audit.reason = "totp"
    audit.ip = "192.0.2.7"
    audit.user_agent = "portal/2"
    audit.request_id = "r-42"


@SCOPES
async def test_fields_set_in_the_block_are_recorded_on_success(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    await run(auditor, set_fields)

    event = only_event(emitter_fake)
    assert event.success is True
    assert event.action == "mfa.enrolled"
    assert (event.application, event.email, event.reason) == (
        "acme-web",
        "frank@example.com",
        "totp",
    )
    assert (event.ip, event.user_agent, event.request_id) == ("192.0.2.7", "portal/2", "r-42")


@SCOPES
async def test_fields_given_up_front_are_recorded(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    await run(auditor, lambda audit: None, application="portal", email="gina@example.com")

    event = only_event(emitter_fake)
    assert (event.application, event.email, event.success) == ("portal", "gina@example.com", True)


@SCOPES
async def test_an_exception_in_the_block_is_a_failure_with_a_safe_reason_and_propagates(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    error = EnrolmentFailed("password=hunter2 for bob@example.com")

    def body(audit: AuditScope) -> None:
        set_fields(audit)
        audit.reason = "password=hunter2"
        raise error

    with pytest.raises(EnrolmentFailed) as raised:
        await run(auditor, body)

    assert raised.value is error
    event = only_event(emitter_fake)
    assert event.success is False
    assert event.reason == "EnrolmentFailed"
    assert event.email == "frank@example.com"
    for value in field_values(event):
        assert "hunter2" not in value
        assert "bob@example.com" not in value


@SCOPES
@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (KeyError("hunter2"), "missing"),
        (DeviceRejected("hunter2"), "device.rejected"),
    ],
    ids=["declared-code-for-a-subclass", "audit-reason"],
)
async def test_the_failure_reason_follows_declared_codes_and_audit_reason(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    run: Runner,
    error: Exception,
    expected: str,
) -> None:
    def body(audit: AuditScope) -> None:
        raise error

    with pytest.raises(type(error)):
        await run(auditor, body, application="portal", error_codes={LookupError: "missing"})

    assert only_event(emitter_fake).reason == expected


@SCOPES
async def test_skip_emits_nothing(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    def body(audit: AuditScope) -> None:
        set_fields(audit)
        audit.skip()

    await run(auditor, body)

    assert emitter_fake.events == []


@SCOPES
async def test_skip_emits_nothing_even_when_the_block_then_fails(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    def body(audit: AuditScope) -> None:
        audit.skip()
        raise EnrolmentFailed

    with pytest.raises(EnrolmentFailed):
        await run(auditor, body, application="portal")

    assert emitter_fake.events == []


@SCOPES
async def test_without_record_failures_a_failure_emits_nothing_but_still_propagates(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    def body(audit: AuditScope) -> None:
        raise EnrolmentFailed

    with pytest.raises(EnrolmentFailed):
        await run(auditor, body, application="portal", record_failures=False)

    assert emitter_fake.events == []


@SCOPES
async def test_without_record_failures_a_success_is_still_recorded(
    auditor: Auditor, emitter_fake: RecordingEmitter, run: Runner
) -> None:
    await run(auditor, lambda audit: None, application="portal", record_failures=False)

    assert only_event(emitter_fake).success is True


@SCOPES
async def test_an_invalid_field_set_in_the_block_emits_nothing_and_leaves_the_block_alone(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    run: Runner,
    telemetry: CountingTelemetry,
) -> None:
    def body(audit: AuditScope) -> None:
        audit.application = "portal"
        audit.email = "not-an-email"

    await run(auditor, body)

    assert emitter_fake.events == []
    assert telemetry.counts["invalid"] == 1


@SCOPES
async def test_a_missing_application_on_failure_emits_nothing_and_the_error_still_propagates(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    run: Runner,
    telemetry: CountingTelemetry,
) -> None:
    error = EnrolmentFailed()

    def body(audit: AuditScope) -> None:
        raise error

    with pytest.raises(EnrolmentFailed) as raised:
        await run(auditor, body)

    assert raised.value is error
    assert emitter_fake.events == []
    assert telemetry.counts["invalid"] == 1


async def test_a_scope_in_a_generator_context_manager_records_the_callers_failure(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    @contextlib.contextmanager
    def enrolling() -> Iterator[AuditScope]:
        with auditor.audit("mfa.enrolled", application="portal") as audit:
            yield audit

    @contextlib.asynccontextmanager
    async def enrolling_async() -> AsyncIterator[AuditScope]:
        async with auditor.audit("mfa.enrolled", application="portal") as audit:
            yield audit

    with pytest.raises(EnrolmentFailed), enrolling():
        raise EnrolmentFailed
    with pytest.raises(DeviceRejected):
        async with enrolling_async():
            raise DeviceRejected

    assert [(e.success, e.reason) for e in emitter_fake.events] == [
        (False, "EnrolmentFailed"),
        (False, "device.rejected"),
    ]
