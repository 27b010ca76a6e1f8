"""`@auditor.audited(...)`: the flow's result and exceptions pass through untouched, the event
says whether it succeeded, and a failure's reason never carries the exception's content."""

from dataclasses import dataclass

import pytest
from auditlog_client import Auditor, Call, Event
from client_support import CountingTelemetry, RecordingEmitter, field_values

SECRET_MESSAGE = "password=hunter2 for bob@example.com"


class LoginRefused(Exception):
    pass


class AccountLocked(Exception):
    audit_reason = "account.locked"


class ChattyError(Exception):
    audit_reason = "password=hunter2 for bob@example.com"


class OverlongCode(Exception):
    audit_reason = "x" * 65


class NotACode(Exception):
    audit_reason = 42


@dataclass
class Session:
    email: str
    token: str


def only_event(emitter: RecordingEmitter) -> Event:
    [event] = emitter.events
    return event


async def test_the_result_is_returned_untouched_and_recorded_as_a_success(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    session = Session("bob@example.com", "tok")

    @auditor.audited("auth.login", application="portal")
    async def login() -> Session:
        return session

    assert await login() is session
    event = only_event(emitter_fake)
    assert event.success is True
    assert event.action == "auth.login"
    assert event.application == "portal"
    assert event.reason is None


async def test_the_exception_is_reraised_untouched_and_recorded_as_a_failure(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    error = LoginRefused("nope")

    @auditor.audited("auth.login", application="portal")
    async def login() -> None:
        raise error

    with pytest.raises(LoginRefused) as raised:
        await login()

    assert raised.value is error
    assert type(raised.value) is LoginRefused
    event = only_event(emitter_fake)
    assert event.success is False
    assert event.reason == "LoginRefused"


async def test_the_failure_reason_never_carries_the_exception_message_or_arguments(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    @auditor.audited(
        "auth.login",
        application="portal",
        email=lambda call: call["email"],
        reason="set-by-declaration",
    )
    async def login(email: str, password: str) -> None:
        raise ValueError(SECRET_MESSAGE)

    with pytest.raises(ValueError, match="hunter2"):
        await login("alice@example.com", "hunter2")

    event = only_event(emitter_fake)
    assert event.reason == "ValueError"
    assert event.email == "alice@example.com"
    for value in field_values(event):
        assert "hunter2" not in value
        assert "bob@example.com" not in value


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (KeyError("bob@example.com"), "lookup_failed"),
        (IndexError("hunter2"), "lookup_failed"),
        (PermissionError("hunter2"), "forbidden"),
        (AccountLocked("bob@example.com"), "account.locked"),
        (ChattyError("hunter2"), "ChattyError"),
        (OverlongCode("hunter2"), "OverlongCode"),
        (NotACode("hunter2"), "NotACode"),
        (RuntimeError(SECRET_MESSAGE), "RuntimeError"),
    ],
    ids=[
        "declared-code",
        "declared-code-for-a-subclass",
        "declared-code-for-another-type",
        "safe-audit-reason",
        "unsafe-audit-reason",
        "overlong-audit-reason",
        "non-text-audit-reason",
        "class-name",
    ],
)
async def test_the_failure_reason_is_a_declared_code_a_safe_audit_reason_or_the_class_name(
    auditor: Auditor, emitter_fake: RecordingEmitter, error: Exception, expected: str
) -> None:
    @auditor.audited(
        "auth.login",
        application="portal",
        error_codes={LookupError: "lookup_failed", PermissionError: "forbidden"},
    )
    async def login() -> None:
        raise error

    with pytest.raises(type(error)):
        await login()

    event = only_event(emitter_fake)
    assert event.reason == expected
    for value in field_values(event):
        assert "hunter2" not in value
        assert "bob@example.com" not in value


async def test_an_audit_reason_set_from_the_exceptions_arguments_is_not_emitted(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    class TokenRejected(Exception):
        def __init__(self, token: str) -> None:
            super().__init__("token rejected")
            self.audit_reason = token

    @auditor.audited("auth.login", application="portal")
    async def login(token: str) -> None:
        raise TokenRejected(token)

    with pytest.raises(TokenRejected):
        await login("hunter2")

    assert only_event(emitter_fake).reason == "TokenRejected"


async def test_fields_may_be_constants_or_derived_from_the_arguments_by_name(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    @auditor.audited(
        "auth.login",
        application=lambda call: call["tenant"],
        email=lambda call: call["email"],
        ip=lambda call: call["ip"],
        user_agent="portal-client/1.0",
        request_id=lambda call: call["request_id"],
    )
    async def login(
        tenant: str, email: str, password: str, *, ip: str = "10.0.0.1", request_id: str = "r-1"
    ) -> str:
        return "ok"

    await login("acme-web", password="hunter2", email="alice@example.com", request_id="r-9")

    event = only_event(emitter_fake)
    assert event.application == "acme-web"
    assert event.email == "alice@example.com"
    assert event.ip == "10.0.0.1"
    assert event.user_agent == "portal-client/1.0"
    assert event.request_id == "r-9"


async def test_a_deriver_sees_the_result_on_success(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    seen: list[Call] = []

    def email_of_session(call: Call) -> str:
        seen.append(call)
        return call.result.email

    @auditor.audited("auth.login", application="portal", email=email_of_session)
    async def login(user: str) -> Session:
        return Session(f"{user}@example.com", "tok")

    session = await login("carol")

    assert only_event(emitter_fake).email == "carol@example.com"
    assert seen[0].result is session
    assert seen[0].error is None


async def test_a_deriver_sees_the_error_on_failure(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    seen: list[Call] = []
    error = LoginRefused()

    def email_of(call: Call) -> str:
        seen.append(call)
        return call["email"]

    @auditor.audited("auth.login", application="portal", email=email_of)
    async def login(email: str) -> None:
        raise error

    with pytest.raises(LoginRefused):
        await login("dave@example.com")

    assert seen[0].error is error
    assert only_event(emitter_fake).email == "dave@example.com"


@pytest.mark.parametrize(
    "email",
    [
        pytest.param(lambda call: call["missing"], id="deriver-raises"),
        pytest.param(lambda call: "not-an-email", id="invalid-email"),
    ],
)
async def test_a_broken_deriver_leaves_the_result_alone_and_counts_an_invalid_event(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    email: object,
    telemetry: CountingTelemetry,
) -> None:
    outcome = object()

    @auditor.audited("auth.login", application="portal", email=email)
    async def login() -> object:
        return outcome

    assert await login() is outcome
    assert telemetry.counts["invalid"] == 1
    assert emitter_fake.events == []


@pytest.mark.parametrize(
    "application",
    [
        pytest.param(lambda call: 1 / 0, id="deriver-raises"),
        pytest.param("Not An Application", id="invalid-application"),
        pytest.param(None, id="missing-application"),
    ],
)
async def test_a_broken_deriver_leaves_the_exception_alone_and_counts_an_invalid_event(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    application: object,
    telemetry: CountingTelemetry,
) -> None:
    error = LoginRefused()

    @auditor.audited("auth.login", application=application)
    async def login() -> None:
        raise error

    with pytest.raises(LoginRefused) as raised:
        await login()

    assert raised.value is error
    assert telemetry.counts["invalid"] == 1
    assert emitter_fake.events == []


async def test_an_invalid_action_emits_nothing_and_leaves_the_flow_alone(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    telemetry: CountingTelemetry,
) -> None:
    @auditor.audited("Not An Action", application="portal")
    async def login() -> str:
        return "ok"

    assert await login() == "ok"
    assert telemetry.counts["invalid"] == 1
    assert emitter_fake.events == []


async def test_the_flow_is_unaffected_when_its_event_is_dropped(
    auditor: Auditor,
    emitter_fake: RecordingEmitter,
    telemetry: CountingTelemetry,
) -> None:
    emitter_fake.accept = False

    @auditor.audited("auth.login", application="portal")
    async def login() -> str:
        return "ok"

    assert await login() == "ok"
    assert telemetry.counts["invalid"] == 0


async def test_methods_are_audited_with_self_bound(
    auditor: Auditor, emitter_fake: RecordingEmitter
) -> None:
    class Portal:
        def __init__(self, application: str) -> None:
            self.application = application

        @auditor.audited(
            "auth.login",
            application=lambda call: call["self"].application,
            email=lambda call: call["email"],
        )
        async def login(self, email: str) -> str:
            return f"{self.application}:{email}"

    portal = Portal("acme-web")

    assert await portal.login("erin@example.com") == "acme-web:erin@example.com"
    event = only_event(emitter_fake)
    assert event.application == "acme-web"
    assert event.email == "erin@example.com"


async def test_the_decorated_function_keeps_its_name_and_docstring(auditor: Auditor) -> None:
    @auditor.audited("auth.login", application="portal")
    async def login() -> None:
        """Log in."""

    assert login.__name__ == "login"
    assert login.__doc__ == "Log in."


class ExplodingEmitter:
    def emit(self, event: Event) -> bool:
        raise RuntimeError("emitter broke")


async def test_an_emitter_that_raises_does_not_fail_the_flow() -> None:
    auditor = Auditor(ExplodingEmitter())

    @auditor.audited("auth.login", application="portal")
    async def login() -> str:
        return "ok"

    assert await login() == "ok"
