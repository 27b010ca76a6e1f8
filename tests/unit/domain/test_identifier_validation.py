"""Ids of accounts and applications: 1 to 63 characters of a-z, 0-9, '_' and '-'."""

import pytest

from domain import validation
from domain.entry import AuditEvent
from domain.errors import InvalidField
from domain.tenancy import Account, Application

ID_OF_63 = "a" + "b" * 62
ID_OF_64 = "a" + "b" * 63


@pytest.mark.parametrize("value", ["a", "0", "acme", "acme-web", "acme_web_2", "9lives", ID_OF_63])
def test_identifier_accepts_lowercase_letters_digits_dash_and_underscore(value: str) -> None:
    assert validation.identifier(value, "id") == value


@pytest.mark.parametrize(
    "value",
    ["", "Acme", "ACME", "-acme", "_acme", "acme web", "acme.web", "acme\n", "acmé", ID_OF_64],
)
def test_identifier_rejects_other_shapes_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.identifier(value, "account")
    assert raised.value.field == "account"


def test_account_rejects_an_invalid_id_on_field_id() -> None:
    with pytest.raises(InvalidField) as raised:
        Account(id="Acme", name="Acme", plan="pro")
    assert raised.value.field == "id"


def test_account_accepts_a_63_character_id() -> None:
    assert Account(id=ID_OF_63, name="Acme", plan="pro").id == ID_OF_63


def test_account_rejects_a_64_character_id() -> None:
    with pytest.raises(InvalidField):
        Account(id=ID_OF_64, name="Acme", plan="pro")


def test_account_name_is_trimmed() -> None:
    assert Account(id="acme", name="  Acme Corp ", plan="pro").name == "Acme Corp"


@pytest.mark.parametrize("name", ["", "   ", "Acme\nCorp", "x" * 201])
def test_account_rejects_a_blank_unprintable_or_overlong_name(name: str) -> None:
    with pytest.raises(InvalidField) as raised:
        Account(id="acme", name=name, plan="pro")
    assert raised.value.field == "name"


def test_application_rejects_an_invalid_id_on_field_id() -> None:
    with pytest.raises(InvalidField) as raised:
        Application(id="-web", account="acme", name="Web")
    assert raised.value.field == "id"


def test_application_rejects_an_invalid_account_on_field_account() -> None:
    with pytest.raises(InvalidField) as raised:
        Application(id="acme-web", account="Acme", name="Web")
    assert raised.value.field == "account"


def test_audit_event_rejects_an_invalid_application_on_field_application() -> None:
    with pytest.raises(InvalidField) as raised:
        AuditEvent(application="Acme-Web", action="auth.login", success=True)
    assert raised.value.field == "application"
