"""Builders for domain objects, in tests and benchmarks: one entry, or a generated trail."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.entry import AuditEntry, AuditEvent
from domain.event_parts import MetadataValue, Party

_ids = itertools.count(1)

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ACTIONS = ("auth.login", "auth.logout", "mfa.enrolled", "portal.access")


def entry(
    *,
    account: str = "acme",
    application: str = "portal",
    action: str = "auth.login",
    success: bool = True,
    email: str | None = "bob@example.com",
    reason: str | None = None,
    created_at: datetime | None = None,
    retention: timedelta = timedelta(days=90),
    entry_id: str | None = None,
    digest: str = "",
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    actor: Party | None = None,
    targets: tuple[Party, ...] = (),
    metadata: dict[str, MetadataValue] | None = None,
    **context: str | None,
) -> AuditEntry:
    """One entry; `digest` left empty is computed from the fields, as at ingestion."""
    created = created_at or datetime.now(UTC).replace(microsecond=0)
    return AuditEntry(
        id=entry_id or f"{next(_ids):024x}",
        account=account,
        application=application,
        action=action,
        success=success,
        email=email,
        reason=reason,
        ip=context.get("ip"),
        user_agent=context.get("user_agent"),
        request_id=context.get("request_id"),
        created_at=created,
        expires_at=created + retention,
        occurred_at=occurred_at,
        idempotency_key=idempotency_key,
        actor=actor,
        targets=targets,
        metadata=metadata,
        digest=digest,
    )


def nth_event(
    i: int,
    *,
    actions: tuple[str, ...] = ACTIONS,
    users: int = 500,
    reasons: tuple[str | None, str | None] = (None, "invalid_password"),
    user_agent: str | None = USER_AGENT,
    request_ids: bool = True,
) -> AuditEvent:
    """The i-th event of a generated trail of acme's portal: actions and users come in turn,
    every seventh fails; `reasons` are a success's and a failure's."""
    failed = i % 7 == 0
    return AuditEvent(
        application="portal",
        action=actions[i % len(actions)],
        success=not failed,
        email=f"user{i % users}@example.com",
        reason=reasons[failed],
        ip="203.0.113.7",
        user_agent=user_agent,
        request_id=f"r-{i}" if request_ids else None,
    )


def nth_entry(
    i: int,
    *,
    newest: datetime,
    step: timedelta = timedelta(seconds=1),
    actions: tuple[str, ...] = ACTIONS,
    users: int = 500,
    reasons: tuple[str | None, str | None] = (None, "invalid_password"),
    user_agent: str | None = USER_AGENT,
    request_ids: bool = True,
    retention: timedelta = timedelta(days=90),
    digest: str = "",
) -> AuditEntry:
    """The entry of `nth_event(i)`, 0 the newest, each `step` older than the one before; ids
    fall with age (24 hex digits, as ObjectIds). A fixed `digest` spares computing one per
    entry, when that is not what is measured. Written out field by field, not through the
    event: a benchmark that generates its rows pays for this call on every row."""
    created = newest - i * step
    failed = i % 7 == 0
    return AuditEntry(
        id=f"{10**10 - i:024x}",
        account="acme",
        application="portal",
        action=actions[i % len(actions)],
        success=not failed,
        email=f"user{i % users}@example.com",
        reason=reasons[failed],
        ip="203.0.113.7",
        user_agent=user_agent,
        request_id=f"r-{i}" if request_ids else None,
        created_at=created,
        expires_at=created + retention,
        digest=digest,
    )


def trail(count: int, **options: Any) -> Iterator[AuditEntry]:
    """`count` entries of a generated trail, newest first (see `nth_entry`)."""
    return (nth_entry(i, **options) for i in range(count))
