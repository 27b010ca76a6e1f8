"""An event as reported: `success` is a real boolean and every field is normalised."""

import pytest

from domain.entry import AuditEvent
from domain.errors import InvalidField


@pytest.mark.parametrize("success", [True, False])
def test_event_keeps_a_boolean_success(success: bool) -> None:
    event = AuditEvent(application="acme-web", action="auth.login", success=success)
    assert event.success is success


@pytest.mark.parametrize("success", [1, 0, "true", "false", None, 1.0])
def test_event_rejects_a_non_boolean_success(success: object) -> None:
    with pytest.raises(InvalidField) as raised:
        AuditEvent(application="acme-web", action="auth.login", success=success)  # type: ignore[arg-type]
    assert raised.value.field == "success"


def test_event_with_only_required_fields_has_every_optional_field_absent() -> None:
    event = AuditEvent(application="acme-web", action="auth.login", success=True)
    assert (event.email, event.reason, event.ip, event.user_agent, event.request_id) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_event_normalises_every_field_at_once() -> None:
    event = AuditEvent(
        application="acme-web",
        action="mfa.enrolled",
        success=True,
        email=" Carol@Example.com",
        reason="",
        ip="2001:DB8::0001",
        user_agent="curl/8.5.0",
        request_id="req-42",
    )
    assert (event.email, event.reason, event.ip, event.user_agent, event.request_id) == (
        "carol@example.com",
        None,
        "2001:db8::1",
        "curl/8.5.0",
        "req-42",
    )
