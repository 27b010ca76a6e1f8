"""Action names: dotted lowercase words, at most 64 characters, matched in full."""

import pytest

from domain import validation
from domain.entry import AuditEvent
from domain.errors import InvalidField

ACTION_OF_64 = "a" * 31 + "." + "b" * 32
ACTION_OF_65 = "a" * 32 + "." + "b" * 32


@pytest.mark.parametrize(
    "value",
    ["auth.login", "mfa.enrolled", "portal.access", "a.b_c1", "user.password.reset", ACTION_OF_64],
)
def test_action_accepts_dotted_lowercase_words(value: str) -> None:
    assert validation.action(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "auth",
        "Auth.login",
        "auth.Login",
        "auth..login",
        "auth.login\n",
        "auth.login ",
        " auth.login",
        ".auth",
        "auth.",
        "auth.1x",
        "1auth.login",
        "auth-x.login",
        "auth.log in",
        "auth.lögin",
    ],
)
def test_action_rejects_anything_but_dotted_lowercase_words(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.action(value)
    assert raised.value.field == "action"


def test_action_of_64_characters_is_accepted() -> None:
    assert len(ACTION_OF_64) == 64
    assert validation.action(ACTION_OF_64) == ACTION_OF_64


def test_action_longer_than_64_characters_is_rejected() -> None:
    assert len(ACTION_OF_65) == 65
    with pytest.raises(InvalidField) as raised:
        validation.action(ACTION_OF_65)
    assert raised.value.field == "action"


def test_action_error_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidField) as raised:
        validation.action("auth", "filter.actions")
    assert raised.value.field == "filter.actions"


def test_audit_event_with_a_trailing_newline_in_its_action_is_rejected_on_field_action() -> None:
    with pytest.raises(InvalidField) as raised:
        AuditEvent(application="acme-web", action="auth.login\n", success=True)
    assert raised.value.field == "action"
