"""Ingestion stamps an entry once: UTC millisecond `created_at`, fixed `expires_at`."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.entry import AuditEntry, AuditEvent
from domain.retention import RetentionPolicy

EVENT = AuditEvent(
    application="acme-web",
    action="auth.login",
    success=False,
    email="bob@example.com",
    reason="wrong password",
    ip="203.0.113.7",
    user_agent="curl/8.5.0",
    request_id="req-1",
)
PARIS_WINTER = timezone(timedelta(hours=1))


def ingest(now: datetime, days: int = 90) -> AuditEntry:
    return AuditEntry.ingest(
        EVENT, entry_id="e1", account="acme", now=now, retention=RetentionPolicy(days)
    )


def test_created_at_is_the_clock_time_in_utc_truncated_to_milliseconds() -> None:
    entry = ingest(datetime(2026, 1, 15, 13, 0, 0, 123999, tzinfo=PARIS_WINTER))
    assert entry.created_at == datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC)
    assert entry.created_at.microsecond == 123000
    assert entry.created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("days", [1, 7, 90, 365, 36_500])
def test_expires_at_is_created_at_plus_exactly_the_retention_days(days: int) -> None:
    entry = ingest(datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC), days)
    assert entry.expires_at == entry.created_at + timedelta(days=days)
    assert entry.expires_at.microsecond == 123000


def test_ingest_rejects_a_naive_clock_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ingest(datetime(2026, 1, 15, 12, 0, 0))


def test_ingest_copies_the_event_and_stamps_id_and_account() -> None:
    entry = ingest(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    assert (entry.id, entry.account, entry.application, entry.action, entry.success) == (
        "e1",
        "acme",
        "acme-web",
        "auth.login",
        False,
    )
    assert (entry.email, entry.reason, entry.ip, entry.user_agent, entry.request_id) == (
        "bob@example.com",
        "wrong password",
        "203.0.113.7",
        "curl/8.5.0",
        "req-1",
    )


def test_entry_is_live_until_just_before_it_expires() -> None:
    entry = ingest(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), days=7)
    assert entry.is_live(entry.created_at)
    assert entry.is_live(entry.expires_at - timedelta(microseconds=1))


def test_entry_is_not_live_once_expires_at_is_reached() -> None:
    entry = ingest(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), days=7)
    assert not entry.is_live(entry.expires_at)
    assert not entry.is_live(entry.expires_at + timedelta(seconds=1))
