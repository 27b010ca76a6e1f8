"""GraphQL input types and their parsing into domain and application values."""

from dataclasses import fields
from datetime import datetime

import strawberry

from adapters.inbound.graphql.scalars import moment
from application.errors import BatchItemError
from application.reading.criteria import LogFilter
from domain.entry import AuditEvent
from domain.errors import InvalidField


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

    def to_event(self) -> AuditEvent:
        return AuditEvent(**{f.name: getattr(self, f.name) for f in fields(AuditEvent)})


@strawberry.input(name="AuditLogFilter")
class AuditLogFilterInput:
    account: str | None = None
    application: str | None = None
    actions: list[str] | None = None
    email: str | None = None
    success: bool | None = None
    since: datetime | None = strawberry.field(default=None, description="Inclusive, on createdAt.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive, on createdAt.")

    def to_filter(self) -> LogFilter:
        return LogFilter(
            account=self.account,
            application=self.application,
            actions=None if self.actions is None else tuple(self.actions),
            email=self.email,
            success=self.success,
            since=moment(self.since, "filter.since"),
            until=moment(self.until, "filter.until"),
        )


def parse_batch(inputs: list[AuditEventInput]) -> list[AuditEvent]:
    """Every input as an event; the first invalid one is reported with its index."""
    events = []
    for index, item in enumerate(inputs):
        try:
            events.append(item.to_event())
        except InvalidField as exc:
            raise BatchItemError(index, exc) from None
    return events
