"""GraphQL input types and their parsing into domain and application values."""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry

from adapters.inbound.graphql.scalars import JsonValue, moment
from application.errors import BatchItemError
from application.reading.criteria import LogFilter, Order
from domain.entry import AuditEvent
from domain.errors import InvalidField
from domain.event_parts import Party


@strawberry.input(name="ActorInput", description="Who did it: a user, a key, a service.")
class ActorInput:
    id: str = strawberry.field(
        description="1 to 128 of A-Z a-z 0-9 . _ : @ / + = -, e.g. user_01HXYZ."
    )
    type: str = strawberry.field(description="Lowercase, e.g. user, api_key, service.")
    name: str | None = None

    def to_party(self) -> Party:
        return Party(id=self.id, type=self.type, name=self.name)


@strawberry.input(name="TargetInput", description="What it was done to.")
class TargetInput:
    id: str = strawberry.field(description="As an actor's id.")
    type: str = strawberry.field(description="Lowercase, e.g. user, team, api_key.")
    name: str | None = None

    def to_party(self) -> Party:
        return Party(id=self.id, type=self.type, name=self.name)


@strawberry.input(name="AuditEventInput")
class AuditEventInput:
    application: str
    action: str
    success: bool
    email: str | None = None
    reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    occurred_at: datetime | None = strawberry.field(
        default=None,
        description="When it happened; default: when recorded. At most 5 minutes ahead and, "
        "by default, 7 days old.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Your name for this event, unique in the account while its entry lives: "
        "sending it again with the same content returns the original entry and stores "
        "nothing; with other content it is CONFLICT (reason IDEMPOTENCY_KEY_REUSED).",
    )
    actor: ActorInput | None = None
    targets: list[TargetInput] | None = strawberry.field(default=None, description="At most 10.")
    metadata: JsonValue | None = strawberry.field(
        default=None, description="A flat object; see the JSON scalar."
    )

    def to_event(self) -> AuditEvent:
        targets: Any = None if self.targets is None else [t.to_party() for t in self.targets]
        return AuditEvent(
            application=self.application,
            action=self.action,
            success=self.success,
            email=self.email,
            reason=self.reason,
            ip=self.ip,
            user_agent=self.user_agent,
            request_id=self.request_id,
            occurred_at=moment(self.occurred_at, "occurred_at"),
            idempotency_key=self.idempotency_key,
            actor=None if self.actor is None else self.actor.to_party(),
            targets=targets,
            metadata=self.metadata,  # type: ignore[arg-type]  # checked by the event
        )


@dataclass(frozen=True, slots=True)
class EventInputValue:
    """An AuditEventInput as graphql-core coerced it (keyed by GraphQL names), read into an
    event only when the resolver asks, after the caller is authenticated.

    Strawberry would otherwise build an AuditEventInput, an ActorInput and a TargetInput per
    event by re-resolving each field's annotation and name on every value: for a batch of
    1,000 rich events that was most of the request (docs/benchmarks.md). graphql-core has
    already checked every type and required field by then; the event checks the values.
    """

    value: Mapping[str, Any]

    def to_event(self) -> AuditEvent:
        get = self.value.get
        actor = get("actor")
        targets = get("targets")
        return AuditEvent(
            application=self.value["application"],
            action=self.value["action"],
            success=self.value["success"],
            email=get("email"),
            reason=get("reason"),
            ip=get("ip"),
            user_agent=get("userAgent"),
            request_id=get("requestId"),
            occurred_at=moment(get("occurredAt"), "occurred_at"),
            idempotency_key=get("idempotencyKey"),
            actor=None if actor is None else _party(actor),
            targets=None if targets is None else [_party(t) for t in targets],  # type: ignore[arg-type]
            metadata=get("metadata"),
        )


def _party(value: Mapping[str, Any]) -> Party:
    return Party(id=value["id"], type=value["type"], name=value.get("name"))


def _event_input_value(_cls: type, value: Mapping[str, Any], _context: object) -> EventInputValue:
    return EventInputValue(value)


# Strawberry's documented hook for building an input from its GraphQL value.
AuditEventInput.__strawberry_definition__.from_input = _event_input_value  # type: ignore[attr-defined]


@strawberry.enum(name="AuditLogOrder")
class AuditLogOrderEnum(enum.Enum):
    NEWEST_FIRST = "NEWEST_FIRST"
    OLDEST_FIRST = strawberry.enum_value(
        "OLDEST_FIRST",
        description="Ingestion order, for pollers: only entries settled (created at least "
        "AUDITLOG_OLDEST_FIRST_SETTLE_SECONDS ago, 30 by default) are served, so following "
        "endCursor never misses an entry that commits late nor returns one twice.",
    )

    def to_application(self) -> Order:
        return Order[self.name]


@strawberry.input(name="AuditLogFilter")
class AuditLogFilterInput:
    account: str | None = None
    application: str | None = None
    actions: list[str] | None = None
    email: str | None = None
    success: bool | None = None
    since: datetime | None = strawberry.field(default=None, description="Inclusive, on createdAt.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive, on createdAt.")
    actor_id: str | None = None
    target_id: str | None = strawberry.field(
        default=None, description="With targetType: one target has both."
    )
    target_type: str | None = None

    def to_filter(self) -> LogFilter:
        return LogFilter(
            account=self.account,
            application=self.application,
            actions=None if self.actions is None else tuple(self.actions),
            email=self.email,
            success=self.success,
            since=moment(self.since, "filter.since"),
            until=moment(self.until, "filter.until"),
            actor_id=self.actor_id,
            target_id=self.target_id,
            target_type=self.target_type,
        )


def parse_batch(inputs: Sequence[AuditEventInput | EventInputValue]) -> list[AuditEvent]:
    """Every input as an event; the first invalid one is reported with its index."""
    events = []
    for index, item in enumerate(inputs):
        try:
            events.append(item.to_event())
        except InvalidField as exc:
            raise BatchItemError(index, exc) from None
    return events
