"""DateTime input: one strict form (RFC 3339), refused with a reason and never the value."""

from datetime import UTC, datetime

import pytest

from domain.timestamps import INSTANT_FORM, parse_instant


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00:00+05:30", datetime(2026, 1, 31, 6, 30, tzinfo=UTC)),
        ("2026-01-31T12:00:00-00:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00:00.5Z", datetime(2026, 1, 31, 12, 0, 0, 500000, tzinfo=UTC)),
        # Nanoseconds (Go, Java) are read; digits past the microsecond are dropped.
        ("2026-01-31T12:00:00.123456789Z", datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T13:59:00+13:59", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_rfc_3339_instants_are_read_as_utc(text: str, instant: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == instant
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after 9999 in UTC
        "0001-01-01T00:00:00+00:01",
    ],
)
def test_instants_a_datetime_cannot_hold_in_utc_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="between 0001-01-01T00:00:00Z and 9999"):
        parse_instant(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31T24:00:00Z",
        "2026-12-31T23:59:60Z",  # leap second
        "2026-02-30T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-31T12:00:00+24:00",
        "2026-01-31T12:00:00+05:60",
    ],
)
def test_times_that_do_not_exist_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="real date and time"):
        parse_instant(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31",  # a date alone
        "2026W05",
        "2026-W05-1T12:00:00Z",  # week date
        "2026-031T12:00:00Z",  # ordinal date
        "20260131T120000Z",  # basic format
        "2026-01-31 12:00:00Z",
        "2026-01-31T12:00Z",  # no seconds
        "2026-01-31T12Z",
        "2026-01-31T12:00:00,5Z",
        "2026-01-31T12:00:00.1234567890Z",  # 10 fraction digits
        "2026-01-31T12:00:00+05:30:15",  # offset with seconds
        "2026-01-31T12:00:00+0530",
        "2026-01-31t12:00:00z",
        "٢٠٢٦-01-31T12:00:00Z",
        " 2026-01-31T12:00:00Z",
        "2026-01-31T12:00:00Z\n",
        "9" * 10_000,
    ],
)
def test_every_other_form_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"^must be an RFC 3339") as raised:
        parse_instant(text)
    # One fixed message for every refused text: nothing of it is quoted.
    assert str(raised.value) == f"must be an RFC 3339 date and time, {INSTANT_FORM}"
