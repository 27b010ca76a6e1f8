"""Page cursors: an opaque, exact encoding of a position; anything else is refused."""

import base64
from datetime import UTC, datetime

import pytest

from application.reading.criteria import Position
from application.reading.cursor import decode_cursor, encode_cursor
from domain.errors import InvalidField


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [
        Position(datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC), "65a1b2c3d4e5f60718293a4b"),
        Position(datetime(2026, 1, 15, 12, 0, 0, 1000, tzinfo=UTC), "000000000000000000000001"),
        Position(datetime(2026, 1, 15, 12, 0, 0, 999000, tzinfo=UTC), "a_b-C"),
        Position(datetime(1970, 1, 1, tzinfo=UTC), "e"),
        Position(datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "e"),
        Position(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "z" * 64),
    ],
)
def test_cursor_round_trips_a_position_exactly_at_millisecond_precision(
    position: Position,
) -> None:
    assert decode_cursor(encode_cursor(position)) == position


def test_decoded_cursor_time_is_utc_aware() -> None:
    position = Position(datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC), "e1")
    decoded = decode_cursor(encode_cursor(position))
    assert decoded.created_at.utcoffset() is not None
    assert decoded.created_at.microsecond == 123000


def test_cursor_is_url_safe_text_without_padding() -> None:
    cursor = encode_cursor(Position(datetime(2026, 1, 15, tzinfo=UTC), "e1"))
    assert cursor.isascii()
    assert not set(cursor) & set("+/= ")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!!",
        "not a cursor",
        "é",
        "日本",
        "a",
        b64(b"foo"),
        b64(b"123"),
        b64(b"123:"),
        b64(b":abc"),
        b64(b"12.5:abc"),
        b64(b"abc:def"),
        b64(b"123:abc\n"),
        b64(b"123:a.b"),
        b64(b"123:" + b"a" * 65),
        b64(b"1234567890123456:abc"),
        b64(b"999999999999999:abc"),
        b64(b"-999999999999999:abc"),
        b64("123:é".encode()),
        b64(b"\xff\xfe\xfd"),
    ],
)
def test_anything_but_an_issued_cursor_is_rejected_on_field_after(cursor: str) -> None:
    with pytest.raises(InvalidField) as raised:
        decode_cursor(cursor)
    assert raised.value.field == "after"


def test_cursor_error_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidField) as raised:
        decode_cursor("", "before")
    assert raised.value.field == "before"
