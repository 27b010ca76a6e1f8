"""Timestamps as the audit trail keeps them: timezone-aware UTC at millisecond precision."""

import re
from datetime import UTC, datetime, timedelta, timezone

# RFC 3339 `date-time`, offset optional (then UTC): `datetime.fromisoformat` also takes week
# and ordinal dates, a date alone, a space for `T`, a comma for the point and offsets with
# seconds, each a second way to write one instant.
_INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|([+-])([0-9]{2}):([0-9]{2}))?"
)
INSTANT_FORM = "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM], e.g. 2026-01-31T12:00:00Z"


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


def parse_instant(text: str) -> datetime:
    """Read an RFC 3339 date-time (without an offset: UTC) as an aware UTC datetime.

    Up to 9 fraction digits are read, microseconds kept. Refused, with a message that never
    quotes the text: any other form, `24:00`, leap seconds (`23:59:60`, which a datetime
    cannot hold), offsets of 24 hours or more, and instants outside 0001-01-01T00:00:00Z to
    9999-12-31T23:59:59.999999Z, the range a datetime (and so the store) can hold in UTC.
    """
    match = _INSTANT.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        raise ValueError(f"must be an RFC 3339 date and time, {INSTANT_FORM}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "").ljust(6, "0")[:6])
    zone, sign, offset_hours, offset_minutes = match.group(8, 9, 10, 11)
    try:
        offset = UTC
        if zone is not None and zone != "Z":
            if int(offset_minutes) > 59:
                raise ValueError("offset minutes")
            delta = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
            offset = timezone(-delta if sign == "-" else delta)
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=offset)
    except ValueError:
        raise ValueError(
            "must be a real date and time (hours 00-23, seconds 00-59, offsets under 24 hours)"
        ) from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in UTC"
        ) from None
