"""Retention policies: a whole number of days from 1 to 36 500."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidField
from domain.retention import RetentionPolicy


@pytest.mark.parametrize("days", [1, 7, 90, 365, 36_500])
def test_retention_accepts_whole_days_from_one_to_a_century(days: int) -> None:
    assert RetentionPolicy(days).days == days


@pytest.mark.parametrize("days", [0, -1, 36_501, True, False, 1.5, 7.0, "7", None])
def test_retention_rejects_other_values_on_field_retention_days(days: object) -> None:
    with pytest.raises(InvalidField) as raised:
        RetentionPolicy(days)  # type: ignore[arg-type]
    assert raised.value.field == "retention_days"


def test_retention_expires_entries_exactly_days_after_creation() -> None:
    created = datetime(2026, 2, 28, 23, 59, 59, 999000, tzinfo=UTC)
    assert RetentionPolicy(2).expires_at(created) == created + timedelta(days=2)


def test_longest_retention_stays_within_datetime_range_for_dates_this_century() -> None:
    created = datetime(2099, 12, 31, tzinfo=UTC)
    assert RetentionPolicy(36_500).expires_at(created).year == 2199
