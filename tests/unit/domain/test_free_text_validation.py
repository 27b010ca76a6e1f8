"""Free-text fields of an event: bounded, printable, and empty means absent."""

import pytest

from domain.entry import AuditEvent
from domain.errors import InvalidField

FIELD_LIMITS = [("reason", 500), ("user_agent", 512), ("request_id", 128)]
FIELDS = [field for field, _ in FIELD_LIMITS]


def event_with(**fields: str | None) -> AuditEvent:
    return AuditEvent(application="acme-web", action="auth.login", success=False, **fields)


@pytest.mark.parametrize(("field", "limit"), FIELD_LIMITS)
def test_free_text_at_its_length_limit_is_kept(field: str, limit: int) -> None:
    value = "x" * limit
    assert getattr(event_with(**{field: value}), field) == value


@pytest.mark.parametrize(("field", "limit"), FIELD_LIMITS)
def test_free_text_over_its_length_limit_is_rejected_on_its_field(field: str, limit: int) -> None:
    with pytest.raises(InvalidField) as raised:
        event_with(**{field: "x" * (limit + 1)})
    assert raised.value.field == field


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "bad",
    ["\n", "\r", "\t", "\x00", "\x1b[31m", "\x7f", "\u202e", "\u2066", "\u200b", "\u2028"],
    ids=["lf", "cr", "tab", "nul", "ansi", "del", "rlo", "lri", "zwsp", "line-sep"],
)
def test_free_text_with_control_or_bidi_characters_is_rejected(field: str, bad: str) -> None:
    with pytest.raises(InvalidField) as raised:
        event_with(**{field: f"before{bad}after"})
    assert raised.value.field == field


@pytest.mark.parametrize("field", FIELDS)
def test_empty_free_text_is_stored_as_absent(field: str) -> None:
    assert getattr(event_with(**{field: ""}), field) is None


@pytest.mark.parametrize("field", FIELDS)
def test_absent_free_text_stays_absent(field: str) -> None:
    assert getattr(event_with(**{field: None}), field) is None


def test_printable_unicode_text_is_kept_unchanged() -> None:
    reason = "Passwort falsch: zu viele Versuche (3/3) 🔒 – Zugriff gesperrt"  # noqa: RUF001
    assert event_with(reason=reason).reason == reason


def test_realistic_user_agent_is_kept_unchanged() -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    assert event_with(user_agent=agent).user_agent == agent
