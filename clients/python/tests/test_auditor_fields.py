"""The fields a flow declares are the event's, by name from Event: a field added to the
event is accepted without touching the auditor, and a name that is not a field is refused."""

import dataclasses

import pytest
from auditlog_client import Auditor, Event
from client_support import RecordingEmitter

# The auditor sets these itself: the action it is given, and whether the flow succeeded.
OWN = {"action", "success"}
DECLARABLE = [f.name for f in dataclasses.fields(Event) if f.name not in OWN]


async def flow() -> str:
    return "done"


@pytest.mark.parametrize("name", DECLARABLE)
async def test_every_field_of_the_event_but_its_own_is_accepted_by_the_decorator(
    auditor: Auditor, emitter_fake: RecordingEmitter, name: str
) -> None:
    # The application is required; None is a valid value of every other field (targets
    # then read as none: an empty tuple).
    value = "portal" if name == "application" else None

    audited = auditor.audited("auth.login", **{"application": "portal", name: lambda _: value})(
        flow
    )

    assert await audited() == "done"
    [event] = emitter_fake.events
    assert getattr(event, name) == (() if name == "targets" else value)


@pytest.mark.parametrize("name", DECLARABLE)
def test_every_field_of_the_event_but_its_own_is_accepted_by_the_scope(
    auditor: Auditor, name: str
) -> None:
    scope = auditor.audit("auth.login", **{name: None})

    setattr(scope, name, None)

    assert getattr(scope, name) is None


@pytest.mark.parametrize("name", [*sorted(OWN), "emial"])
def test_a_name_that_is_not_a_declarable_field_is_refused_at_decoration_naming_it(
    auditor: Auditor, name: str
) -> None:
    # `action` is the decorator's own first parameter: Python names it ("multiple values").
    with pytest.raises(TypeError, match=f"'{name}'"):
        auditor.audited("auth.login", application="portal", **{name: "x"})


@pytest.mark.parametrize("name", [*sorted(OWN), "emial"])
def test_a_name_that_is_not_a_declarable_field_is_refused_by_the_scope_naming_it(
    auditor: Auditor, name: str
) -> None:
    with pytest.raises(TypeError, match=f"'{name}'"):
        auditor.audit("auth.login", **{name: "x"})
    scope = auditor.audit("auth.login", application="portal")
    with pytest.raises(AttributeError, match=f"'{name}' is not a field"):
        setattr(scope, name, "x")


def test_the_decorator_requires_the_fields_the_event_requires() -> None:
    auditor = Auditor(RecordingEmitter())

    with pytest.raises(TypeError, match="application"):
        auditor.audited("auth.login", email="ada@example.com")
