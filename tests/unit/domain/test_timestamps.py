"""Timestamps: storage precision is UTC milliseconds; naive input is read as UTC."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.timestamps import as_utc, at_storage_precision

UTC_PLUS_2 = timezone(timedelta(hours=2))
UTC_MINUS_5 = timezone(timedelta(hours=-5))


def test_storage_precision_truncates_microseconds_down_to_milliseconds() -> None:
    moment = datetime(2026, 1, 15, 12, 0, 0, 999999, tzinfo=UTC)
    assert at_storage_precision(moment) == datetime(2026, 1, 15, 12, 0, 0, 999000, tzinfo=UTC)


def test_storage_precision_converts_to_utc() -> None:
    stored = at_storage_precision(datetime(2026, 1, 15, 14, 0, 0, 5500, tzinfo=UTC_PLUS_2))
    assert stored.tzinfo == UTC
    assert (stored.hour, stored.microsecond) == (12, 5000)


def test_storage_precision_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        at_storage_precision(datetime(2026, 1, 15, 12, 0))


@pytest.fixture
def local_zone_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the process's local zone differ from UTC, so 'naive means local' would show."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_zone_new_york")
def test_as_utc_reads_a_naive_datetime_as_utc_whatever_the_local_zone() -> None:
    result = as_utc(datetime(2026, 1, 15, 12, 30))
    assert result.tzinfo == UTC
    assert result == datetime(2026, 1, 15, 12, 30, tzinfo=UTC)


def test_as_utc_converts_an_aware_datetime_to_utc() -> None:
    result = as_utc(datetime(2026, 1, 15, 7, 30, tzinfo=UTC_MINUS_5))
    assert result.tzinfo == UTC
    assert (result.hour, result.minute) == (12, 30)


def test_as_utc_keeps_sub_millisecond_precision() -> None:
    moment = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
    assert as_utc(moment).microsecond == 123456
