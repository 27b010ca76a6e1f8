"""Timestamps as the audit trail keeps them: timezone-aware UTC at millisecond precision."""

from datetime import UTC, datetime


def at_storage_precision(moment: datetime) -> datetime:
    """Return `moment` in UTC truncated to milliseconds, the precision MongoDB stores.

    Truncating before anything is returned means the timestamps a caller gets back from
    recording are exactly the ones it later reads.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("audit timestamps must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def as_utc(moment: datetime) -> datetime:
    """Read an input datetime: one without an offset is taken to be UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC at millisecond precision, e.g. `2026-01-31T12:00:00.123+00:00`."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")
