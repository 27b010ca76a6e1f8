"""The audit entry: a structured, immutable summary of one identity action."""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from domain import event_parts, validation
from domain.errors import InvalidField
from domain.event_parts import MetadataValue, Party
from domain.integrity import digest_over
from domain.retention import RetentionPolicy
from domain.timestamps import at_storage_precision


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """What happened, as a caller reports it. Construction validates and normalises."""

    application: str
    action: str
    success: bool
    email: str | None = None
    reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    occurred_at: datetime | None = None
    """When the action happened, as the caller saw it; None: when it is recorded."""
    idempotency_key: str | None = None
    """The caller's name for this event: recording it again stores nothing."""
    actor: Party | None = None
    targets: tuple[Party, ...] = ()
    metadata: dict[str, MetadataValue] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.success, bool):
            raise InvalidField("success", "must be true or false")
        normalised = {
            "application": validation.application_id(self.application),
            "action": validation.action(self.action),
            "email": None if self.email is None else validation.email(self.email),
            "reason": validation.optional_text(self.reason, "reason", validation.REASON_MAX),
            "ip": None if self.ip is None else validation.ip_address(self.ip),
            "user_agent": validation.optional_text(
                self.user_agent, "user_agent", validation.USER_AGENT_MAX
            ),
            "request_id": validation.optional_text(
                self.request_id, "request_id", validation.REQUEST_ID_MAX
            ),
            "occurred_at": _moment(self.occurred_at, "occurred_at"),
            "idempotency_key": event_parts.idempotency_key(self.idempotency_key),
            "actor": None if self.actor is None else event_parts.party(self.actor, "actor"),
            "targets": event_parts.targets(self.targets),
            "metadata": event_parts.metadata(self.metadata),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)


def _moment(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return at_storage_precision(value)
    except (ValueError, TypeError, AttributeError):
        raise InvalidField(field, "must be a date and time with a time zone") from None


@dataclass(frozen=True, slots=True)
class OccurrenceWindow:
    """How far from the moment of recording an event's `occurred_at` may be: a little ahead
    (clocks differ), and back as far as a delivery may be delayed (an outage, retries)."""

    ahead: timedelta = timedelta(minutes=5)
    behind: timedelta = timedelta(days=7)

    def check(self, occurred_at: datetime, now: datetime) -> None:
        if occurred_at > now + self.ahead:
            raise InvalidField(
                "occurred_at",
                f"must be at most {_spoken(self.ahead)} in the future",
            )
        if occurred_at < now - self.behind:
            raise InvalidField("occurred_at", f"must be at most {_spoken(self.behind)} old")


def _spoken(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, length in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= length and seconds % length == 0:
            count = seconds // length
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


_EVENT_FIELDS = tuple(f.name for f in fields(AuditEvent))
"""What an entry takes from its event: all of it, under the same names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """A stored event. It is never changed after creation; TTL deletes it at `expires_at`."""

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
    created_at: datetime
    """When the entry was recorded: ingestion order, retention, seals and filters use it."""
    expires_at: datetime
    occurred_at: datetime | None = None
    """When the action happened (the caller's `occurredAt`, else `created_at`). None only on
    entries recorded before the field existed: read `happened_at`."""
    idempotency_key: str | None = None
    actor: Party | None = None
    targets: tuple[Party, ...] = ()
    metadata: dict[str, MetadataValue] | None = None
    digest: str = ""
    """SHA-256 of the fields at ingestion: the caller's receipt, and what a seal records.
    Left empty, it is computed from the fields."""

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", self.content_digest())

    def content_digest(self) -> str:
        """The digest of the fields as they are now."""
        return entry_digest(self.digested_values())

    def digested_values(self) -> dict[str, Any]:
        """The digested fields as JSON values (parties as objects): what the digest is over."""
        values = {name: getattr(self, name) for name in DIGEST_FIELDS}
        if self.actor is not None:
            values["actor"] = self.actor.as_json()
        values["targets"] = [target.as_json() for target in self.targets]
        return values

    @property
    def happened_at(self) -> datetime:
        return self.created_at if self.occurred_at is None else self.occurred_at

    def repeats(self, other: "AuditEntry", *, same_time: bool) -> bool:
        """Whether `other` reports the same event as this entry (a retry of the event that
        made it): every event field equal; `occurred_at` too if `same_time` (a retry that
        did not state when it happened matches any time)."""
        return all(
            getattr(self, name) == getattr(other, name)
            for name in _EVENT_FIELDS
            if name != "occurred_at"
        ) and (not same_time or self.occurred_at == other.occurred_at)

    @classmethod
    def ingest(
        cls,
        event: AuditEvent,
        *,
        entry_id: str,
        account: str,
        now: datetime,
        retention: RetentionPolicy,
    ) -> "AuditEntry":
        """Stamp an event at ingestion: retention is fixed now and never recalculated."""
        created_at = at_storage_precision(now)
        fields_ = {name: getattr(event, name) for name in _EVENT_FIELDS}
        fields_["occurred_at"] = event.occurred_at or created_at
        return cls(
            id=entry_id,
            account=account,
            **fields_,
            created_at=created_at,
            expires_at=retention.expires_at(created_at),
        )

    def is_live(self, now: datetime) -> bool:
        """An entry whose `expires_at` has passed no longer exists, deleted or not."""
        return self.expires_at > now


NOT_DIGESTED = frozenset({"digest"})
"""The fields of `AuditEntry` its digest does not cover. Every other field is covered, so a
new field is digested unless it is named here -- and digesting it changes the bytes every
existing digest was computed over, which is why a test pins the list (tests/unit/domain)."""

DIGEST_FIELDS = tuple(f.name for f in fields(AuditEntry) if f.name not in NOT_DIGESTED)

OMITTED_WHEN_EMPTY = frozenset({"occurred_at", "idempotency_key", "actor", "targets", "metadata"})
"""Fields added after entries were first digested: left out of the digest when null or an
empty list, so an entry written before they existed keeps its digest. A field added later
must be named here too."""

entry_digest = digest_over(DIGEST_FIELDS, OMITTED_WHEN_EMPTY)
"""SHA-256 hex of the canonical JSON of an entry's `DIGEST_FIELDS`, given as a dict of JSON
values (parties as objects); the `OMITTED_WHEN_EMPTY` ones may be absent."""
