"""`DateTime`: RFC 3339 in, always UTC at millisecond precision out. `JSON`: any JSON value,
checked by the field that takes it.

A value that cannot be read is not refused here: graphql-core would report it without the
field's name (and as a validation failure when it is written inline). It is carried as an
`UnreadableDateTime` to the input's conversion, which refuses it naming the field.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import NewType

import strawberry
from graphql import value_from_ast_untyped

from domain.errors import InvalidField
from domain.timestamps import INSTANT_FORM, iso_utc, parse_instant


class InvalidScalar(ValueError):
    """A scalar value the client sent cannot be read; graphql-core reports it as input error."""


@dataclass(frozen=True, slots=True)
class UnreadableDateTime:
    """What a DateTime input held when it was not a date and time: only why, never the value."""

    problem: str


def parse(value: object) -> datetime | UnreadableDateTime:
    if not isinstance(value, str):
        return UnreadableDateTime(f"must be a string, {INSTANT_FORM}")
    try:
        return parse_instant(value)
    except ValueError as exc:
        return UnreadableDateTime(str(exc))


def moment(value: object, field: str) -> datetime | None:
    """A DateTime argument or input field as a datetime; BAD_USER_INPUT naming `field`."""
    if isinstance(value, UnreadableDateTime):
        raise InvalidField(field, value.problem)
    if value is None or isinstance(value, datetime):
        return value
    raise InvalidField(field, f"must be a string, {INSTANT_FORM}")


DateTime = strawberry.scalar(
    name="DateTime",
    description="RFC 3339 date and time, e.g. 2026-01-31T12:00:00Z (up to 9 fraction "
    "digits; without an offset it is UTC). Output is UTC with milliseconds.",
    serialize=iso_utc,
    parse_value=parse,
)


def _json_literal(node: object, variables: dict[str, object] | None = None) -> object:
    # Written inline, a JSON value is a GraphQL literal: read it as the JSON it spells.
    return value_from_ast_untyped(node, variables)  # type: ignore[arg-type]


JsonValue = NewType("JsonValue", object)
"""What a field of the `JSON` scalar is annotated with (the schema maps it to `JSON`)."""

JSON = strawberry.scalar(
    name="JSON",
    description="A JSON value. `metadata` takes a flat object: at most 50 keys (a letter, "
    "then letters, digits or '_', up to 40), each a string (at most 500 characters), a "
    "number, a boolean or null; at most 8 KB in all.",
    serialize=lambda value: value,
    parse_value=lambda value: value,
    parse_literal=_json_literal,
)
