"""The GraphQL input and entry types carry exactly the domain's fields: one added to the event
or the entry fails here, by name, rather than as an INTERNAL error on every request."""

import dataclasses

from adapters.inbound.graphql.inputs import AuditEventInput
from adapters.inbound.graphql.types import AuditLogEntryType
from domain.entry import AuditEntry, AuditEvent


def python_names(graphql_type: type) -> set[str]:
    definition = graphql_type.__strawberry_definition__  # type: ignore[attr-defined]
    return {field.python_name for field in definition.fields}


def test_the_event_input_has_one_field_per_event_field() -> None:
    assert python_names(AuditEventInput) == {f.name for f in dataclasses.fields(AuditEvent)}


def test_the_entry_type_has_one_field_per_entry_field() -> None:
    assert python_names(AuditLogEntryType) == {f.name for f in dataclasses.fields(AuditEntry)}


def test_an_input_read_from_graphql_is_the_event_the_input_type_makes() -> None:
    """EventInputValue reads graphql-core's coerced value itself (strawberry's from_input
    hook): every field of the input, under its GraphQL name, lands in the same event."""
    from datetime import UTC, datetime

    from adapters.inbound.graphql.inputs import ActorInput, EventInputValue, TargetInput

    definition = AuditEventInput.__strawberry_definition__  # type: ignore[attr-defined]
    coerced = {
        "application": "portal", "action": "auth.login", "success": False,
        "email": "Bob@Example.com", "reason": "wrong password", "ip": "203.0.113.7",
        "userAgent": "curl/8.5.0", "requestId": "req-1",
        "occurredAt": datetime(2026, 1, 15, 11, 59, tzinfo=UTC), "idempotencyKey": "evt-1",
        "actor": {"id": "user_1", "type": "user", "name": "Alice"},
        "targets": [{"id": "team_1", "type": "team", "name": None}],
        "metadata": {"plan": "pro", "seats": 3},
    }  # fmt: skip
    # Each of the input's fields is given above under the name the schema gives it.
    assert {f.graphql_name or _camel(f.python_name) for f in definition.fields} == set(coerced)
    typed = AuditEventInput(
        application="portal", action="auth.login", success=False, email="Bob@Example.com",
        reason="wrong password", ip="203.0.113.7", user_agent="curl/8.5.0",
        request_id="req-1", occurred_at=coerced["occurredAt"], idempotency_key="evt-1",
        actor=ActorInput(id="user_1", type="user", name="Alice"),
        targets=[TargetInput(id="team_1", type="team", name=None)],
        metadata={"plan": "pro", "seats": 3},  # type: ignore[arg-type]
    )  # fmt: skip
    assert EventInputValue(coerced).to_event() == typed.to_event()
    required = {"application": "portal", "action": "auth.login", "success": True}
    assert EventInputValue(required).to_event() == AuditEventInput(**required).to_event()


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)
