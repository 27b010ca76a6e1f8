"""A cursor is accepted only as the exact text the service issued for its position."""

import base64
from datetime import UTC, datetime

import pytest

from application.reading.criteria import Position
from application.reading.cursor import decode_cursor, encode_cursor
from domain.errors import InvalidField

POSITION = Position(datetime(2026, 1, 31, 12, 0, 0, 123000, tzinfo=UTC), "65b1f0c2a1b2c3d4e5f60718")
ISSUED = encode_cursor(POSITION)


def raw(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def test_an_issued_cursor_decodes_to_its_position() -> None:
    assert decode_cursor(ISSUED) == POSITION


def last_bits_flipped(cursor: str) -> str:
    """The same bytes, with the unused low bits of the last character set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(cursor[-1])
    return cursor[:-1] + alphabet[index | 0b11]


@pytest.mark.parametrize(
    "cursor",
    [
        ISSUED + "=" * (-len(ISSUED) % 4 or 4),  # padded
        ISSUED[:10] + "!!" + ISSUED[10:],  # characters outside the alphabet, skipped by b64decode
        ISSUED[:10] + "\n" + ISSUED[10:],
        ISSUED.replace("-", "+").replace("_", "/")
        if ("-" in ISSUED or "_" in ISSUED)
        else ISSUED + "+",
        last_bits_flipped(ISSUED),
        raw(f"0{(POSITION.created_at - datetime(1970, 1, 1, tzinfo=UTC)) // 1000}:x"),
        raw("-0:abc"),
        raw("007:abc"),
        raw("1:abc\n"),
        "A" * 109,
        "",
    ],
    ids=[
        "padded",
        "junk",
        "newline",
        "std-alphabet",
        "last-bits",
        "lead-zero-1",
        "minus-zero",
        "lead-zero-2",
        "trailing-newline",
        "too-long",
        "empty",
    ],
)
def test_any_other_spelling_is_refused_naming_the_field(cursor: str) -> None:
    with pytest.raises(InvalidField) as raised:
        decode_cursor(cursor)
    assert raised.value.field == "after"
    assert cursor == "" or cursor not in str(raised.value)
