"""IP addresses: IPv4 or IPv6, stored in canonical text."""

import pytest

from domain import validation
from domain.entry import AuditEvent
from domain.errors import InvalidField


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:DB8::0001", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::1", "::1"),
        (" 10.0.0.1 ", "10.0.0.1"),
    ],
)
def test_ip_address_is_stored_in_canonical_form(given: str, stored: str) -> None:
    assert validation.ip_address(given) == stored


@pytest.mark.parametrize(
    "value",
    [
        "",
        "localhost",
        "not-an-ip",
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4.5",
        "10.0.0.1/24",
        "2001:db8::g",
        "2001:db8:::1",
        "1.2.3.4\n5",
    ],
)
def test_ip_address_rejects_junk_on_field_ip(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.ip_address(value)
    assert raised.value.field == "ip"


def test_audit_event_stores_the_canonical_ip() -> None:
    event = AuditEvent(
        application="acme-web", action="auth.login", success=True, ip="2001:DB8::0001"
    )
    assert event.ip == "2001:db8::1"


def test_audit_event_with_junk_ip_is_rejected_on_field_ip() -> None:
    with pytest.raises(InvalidField) as raised:
        AuditEvent(application="acme-web", action="auth.login", success=True, ip="999.0.0.1")
    assert raised.value.field == "ip"
