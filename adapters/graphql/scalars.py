"""`DateTime`: ISO 8601 with an offset, always UTC at millisecond precision on output."""

from datetime import datetime

import strawberry

from domain.timestamps import as_utc, iso_utc


class InvalidScalar(ValueError):
    """A scalar value the client sent cannot be read; graphql-core reports it as input error."""


def parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidScalar("DateTime must be an ISO 8601 string, e.g. 2026-01-31T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidScalar(
            "DateTime must be ISO 8601, e.g. 2026-01-31T12:00:00Z; without an offset it is UTC"
        ) from None
    return as_utc(parsed)


DateTime = strawberry.scalar(
    name="DateTime",
    description="ISO 8601 date and time. Output is UTC with milliseconds; input without an "
    "offset is read as UTC.",
    serialize=iso_utc,
    parse_value=parse,
)
