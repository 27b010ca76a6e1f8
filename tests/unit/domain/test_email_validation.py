"""Email addresses: checked, at most 254 characters, stored trimmed and lowercased."""

import pytest

from domain import validation
from domain.entry import AuditEvent
from domain.errors import InvalidField


def address_of_length(length: int) -> str:
    """A well-formed address of exactly `length` characters (197 to 260)."""
    local = "x" * 64
    domain = "a" * 63 + "." + "b" * 63 + "." + "c" * (length - 197) + ".com"
    address = f"{local}@{domain}"
    assert len(address) == length
    return address


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("bob@example.com", "bob@example.com"),
        (" Bob@Example.COM ", "bob@example.com"),
        ("\tALICE@EXAMPLE.ORG\n", "alice@example.org"),
        ("alice+audit@example.com", "alice+audit@example.com"),
        ("first.last@mail.eu.example.co.uk", "first.last@mail.eu.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("x@b.co", "x@b.co"),
        # An IDN domain is kept in its ASCII (A-label) form: see test_email_normalisation.py.
        ("josé@exämple.de", "josé@xn--exmple-cua.de"),
        ("Jürgen@Bücher.Example", "jürgen@xn--bcher-kva.example"),
    ],
)
def test_email_accepts_valid_addresses_and_stores_them_trimmed_and_lowercased(
    given: str, stored: str
) -> None:
    assert validation.email(given) == stored


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "no-at",
        "@example.com",
        "bob@",
        "a@b",
        "a@@b.com",
        "a@-b.com",
        "a@b-.com",
        "a@b..com",
        "a@.b.com",
        "a@b.com.",
        "a..b@c.com",
        ".a@c.com",
        "a.@c.com",
        "a b@c.com",
        "a@b_c.com",
        "a@1.2.3.4",
        "a@[1.2.3.4]",
        "x" * 65 + "@example.com",
    ],
)
def test_email_rejects_malformed_addresses(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.email(value)
    assert raised.value.field == "email"


def test_email_of_254_characters_is_accepted() -> None:
    address = address_of_length(254)
    assert validation.email(address) == address


def test_email_of_255_characters_is_rejected() -> None:
    with pytest.raises(InvalidField) as raised:
        validation.email(address_of_length(255))
    assert raised.value.field == "email"


def test_email_length_is_measured_after_trimming_surrounding_space() -> None:
    address = address_of_length(254)
    assert validation.email(f"  {address}  ") == address


def test_email_error_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidField) as raised:
        validation.email("no-at", "filter.email")
    assert raised.value.field == "filter.email"


def test_audit_event_stores_the_normalised_email() -> None:
    event = AuditEvent(
        application="acme-web", action="auth.login", success=True, email=" Bob@Example.COM "
    )
    assert event.email == "bob@example.com"


def test_audit_event_with_an_invalid_email_is_rejected_on_field_email() -> None:
    with pytest.raises(InvalidField) as raised:
        AuditEvent(application="acme-web", action="auth.login", success=True, email="a@b")
    assert raised.value.field == "email"
