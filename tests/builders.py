"""Builders for domain objects in tests."""

import itertools
from datetime import UTC, datetime, timedelta

from domain.entry import AuditEntry

_ids = itertools.count(1)


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
    **context: str | None,
) -> AuditEntry:
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
    )
