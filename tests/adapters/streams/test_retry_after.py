"""Retry-After as RFC 9110 writes it, bounded: a receiver cannot park a stream for days."""

import pytest

from adapters.outbound.streams.responses import retry_after

NOW = 1_767_225_600.0  # Thu, 01 Jan 2026 00:00:00 GMT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("30", 30.0),
        (" 30 ", 30.0),
        ("99999999999999999999999", 3600.0),
        ("Thu, 01 Jan 2026 00:02:00 GMT", 120.0),
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),
        ("Fri, 02 Jan 2026 00:00:00 GMT", 3600.0),
        ("Thu, 01 Jan 2026 00:02:00", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date_within_an_hour(value, expected):
    assert retry_after(value, now=NOW) == expected
