"""The GraphQL contract as this package speaks it: inputs from events and filters, entries
from answers, and errors as `AuditLogError`. Each shape follows from a dataclass's fields
(camelCase on the wire), so a field is added in one place."""

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from auditlog_client.events import MetadataValue, Party

Order = Literal["NEWEST_FIRST", "OLDEST_FIRST"]
"""NEWEST_FIRST reads the latest first; OLDEST_FIRST is a poller's order: following
`end_cursor` from page to page never misses or repeats an entry (the service serves only
entries older than a short settle delay in that order)."""

TRANSIENT_CODES = frozenset({"STORE_UNAVAILABLE", "RATE_LIMITED", "INTERNAL_SERVER_ERROR"})
"""Error codes of the service that may go away if the same request is sent again later."""
UNKNOWN = "UNKNOWN"
"""The code of a GraphQL error that names none (not one of this service's)."""


class AuditLogError(Exception):
    """The service refused a request, or it could not be reached.

    `code` is the service's `extensions.code` (BAD_USER_INPUT, FORBIDDEN, CONFLICT...),
    `HTTP <status>` for an answer that is not GraphQL's, or the exception class's name when
    the request got no answer (`ConnectError`, `ReadTimeout`). `reason` and `field` are the
    service's when it gives them (`IDEMPOTENCY_KEY_REUSED`; `inputs[3].email`)."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        transient: bool,
        reason: str | None = None,
        field: str | None = None,
        index: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.transient = transient
        """Whether sending the same request again later may succeed."""
        self.reason = reason
        self.field = field
        self.index = index
        """Which event of a batch was refused."""
        self.retry_after_seconds = retry_after_seconds


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def instant(moment: datetime) -> str:
    """RFC 3339 in UTC, e.g. `2026-01-31T12:00:00.123+00:00`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, Party):
        return value.as_input()
    if isinstance(value, tuple | list):
        return [_json(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def as_input(values: Any) -> dict[str, Any]:
    """An `AuditEventInput` from an `Event`, an `AuditLogFilter` from a `LogFilter`: every
    field given, under its GraphQL name."""
    return {
        camel(field.name): _json(value)
        for field in dataclasses.fields(values)
        if (value := getattr(values, field.name)) is not None and value != ()
    }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogFilter:
    """What `auditLogs` returns: every criterion given must hold. `since` (inclusive) and
    `until` (exclusive) are on `created_at`."""

    account: str | None = None
    application: str | None = None
    actions: Sequence[str] | None = None
    email: str | None = None
    success: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor_id: str | None = None
    target_id: str | None = None
    target_type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """A stored event, as `auditLogs` and the record mutations return it."""

    id: str
    account: str
    application: str
    action: str
    success: bool
    email: str | None
    reason: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    occurred_at: datetime
    """When the action happened: the event's `occurred_at`, else when it was recorded."""
    created_at: datetime
    """When the service recorded it."""
    expires_at: datetime
    idempotency_key: str | None
    actor: Party | None
    targets: tuple[Party, ...]
    metadata: dict[str, MetadataValue] | None
    digest: str


_PARTIES = {"actor", "targets"}
_MOMENTS = {"occurred_at", "created_at", "expires_at"}
ENTRY_SELECTION = " ".join(
    f"{camel(f.name)} {{ id type name }}" if f.name in _PARTIES else camel(f.name)
    for f in dataclasses.fields(Entry)
)
"""The GraphQL selection of every field of `Entry`."""


def _party(value: Mapping[str, Any]) -> Party:
    return Party(id=value["id"], type=value["type"], name=value.get("name"))


def entry_of(node: Mapping[str, Any]) -> Entry:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Entry):
        value = node[camel(field.name)]
        if field.name in _MOMENTS:
            value = datetime.fromisoformat(value)
        elif field.name == "actor":
            value = None if value is None else _party(value)
        elif field.name == "targets":
            value = tuple(_party(target) for target in value)
        values[field.name] = value
    return Entry(**values)


def error_of(errors: list[Any]) -> AuditLogError:
    """The first GraphQL error of an answer (the one that decided it)."""
    first = errors[0] if isinstance(errors[0], Mapping) else {}
    extensions = first.get("extensions") or {}
    code = str(extensions.get("code", UNKNOWN))
    retry_after = extensions.get("retryAfterSeconds")
    return AuditLogError(
        code,
        str(first.get("message", "")),
        transient=code in TRANSIENT_CODES,
        reason=extensions.get("reason"),
        field=extensions.get("field"),
        index=extensions.get("index"),
        retry_after_seconds=float(retry_after) if isinstance(retry_after, int | float) else None,
    )
