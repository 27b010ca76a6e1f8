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
