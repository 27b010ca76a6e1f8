"""An audit event as a platform service reports it, before the audit log service checks it.

The service validates every field (formats, lengths, credentials) and answers a refusal
naming the field; this package checks only what it needs to send the event at all, so the
rules are written once, on the server.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

MetadataValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Party:
    """An actor or a target: an id and a type from the caller's world, and an optional name
    (`Party("user_01H", "user", "Ada")`, `Party("svc:billing", "service")`)."""

    id: str
    type: str
    name: str | None = None

    def as_input(self) -> dict[str, str]:
        values = {"id": self.id, "type": self.type}
        if self.name is not None:
            values["name"] = self.name
        return values


Actor = Party
Target = Party


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What happened. `occurred_at` and `idempotency_key` are given at emit time when left
    out (`stamped`): the moment of the action, and a name that makes a retry store once."""

    application: str
    action: str
    success: bool
    email: str | None = None
    reason: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    occurred_at: datetime | None = None
    """When the action happened, timezone-aware; None: stamped when it is emitted."""
    idempotency_key: str | None = None
    """At most 128 printable characters; None: a fresh random one when it is emitted."""
    actor: Party | None = None
    targets: Sequence[Party] = ()
    """At most 10."""
    metadata: Mapping[str, MetadataValue] | None = None
    """A flat object of at most 50 keys; values strings, numbers, booleans or null."""

    def __post_init__(self) -> None:
        for name in ("application", "action"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(self.success, bool):
            raise ValueError("success must be true or false")
        if self.occurred_at is not None and (
            not isinstance(self.occurred_at, datetime) or self.occurred_at.utcoffset() is None
        ):
            raise ValueError("occurred_at must be a datetime with a time zone")
        if self.actor is not None and not isinstance(self.actor, Party):
            raise ValueError("actor must be a Party")
        # A tuple, so the event stays immutable (a list handed in may be changed later).
        targets = tuple(self.targets or ())
        if not all(isinstance(target, Party) for target in targets):
            raise ValueError("targets must be Party values")
        object.__setattr__(self, "targets", targets)
        if self.metadata is not None:
            object.__setattr__(self, "metadata", dict(self.metadata))

    def stamped(self, now: datetime | None = None) -> "Event":
        """The event with its time (`now`, else the wall clock) and a fresh idempotency key
        where it has none. Done once, when the event is emitted: every attempt to send it
        then carries the same two, so the service stores it once and keeps its time."""
        if self.occurred_at is not None and self.idempotency_key is not None:
            return self
        return replace(
            self,
            occurred_at=self.occurred_at or milliseconds(now or datetime.now(UTC)),
            idempotency_key=self.idempotency_key or new_idempotency_key(),
        )


def new_idempotency_key() -> str:
    """128 random bits: no two events share one by chance."""
    return f"evt_{uuid.uuid4().hex}"


def milliseconds(moment: datetime) -> datetime:
    """`moment` in UTC at millisecond precision, the precision the service keeps: the time an
    event carries is then exactly the one read back."""
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)
