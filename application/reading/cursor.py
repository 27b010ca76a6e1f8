"""Opaque page cursors.

A cursor is only a position in one of the two orders (newest first, or oldest first, whose
cursors are marked so that one is never read as the other), so it needs no signature: the
caller's tenant scope always comes from the principal, and a forged cursor can only move
the caller within what it may already see. Unsigned cursors also survive restarts and
work on every instance.
"""

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

from application.reading.criteria import Order, Position
from domain.errors import InvalidField

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_PAYLOAD = re.compile(r"(>?)(-?[0-9]{1,15}):([0-9A-Za-z_-]{1,64})")
# base64url of the longest payload (82 bytes), unpadded.
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,110}")
# Oldest-first positions are written `>millis:id`; newest-first ones, as before, `millis:id`.
_MARK = {Order.NEWEST_FIRST: "", Order.OLDEST_FIRST: ">"}


def encode_cursor(position: Position, order: Order = Order.NEWEST_FIRST) -> str:
    # Integer arithmetic: a float timestamp can round 123 ms down to 122.
    millis = (position.created_at - _EPOCH) // _MILLISECOND
    raw = f"{_MARK[order]}{millis}:{position.entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after", order: Order = Order.NEWEST_FIRST) -> Position:
    """The position a cursor of `encode_cursor` names; only its exact text is accepted.

    `urlsafe_b64decode` alone is loose: it skips characters outside the alphabet, takes `+`
    and `/` too, and ignores the unused bits of the last character, so many texts would
    name one position. Here the text must be the one this service would issue for it.
    """
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError("not unpadded base64url")
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
        match = _PAYLOAD.fullmatch(raw)
        if match is None:
            raise ValueError("not a position")
        position = Position(
            created_at=_EPOCH + int(match.group(2)) * _MILLISECOND, entry_id=match.group(3)
        )
        written_in = Order.OLDEST_FIRST if match.group(1) else Order.NEWEST_FIRST
        if encode_cursor(position, written_in) != cursor:
            raise ValueError("not in canonical form")
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise InvalidField(field, "is not a cursor this service issued") from None
    if written_in is not order:
        raise InvalidField(field, f"is a cursor of the {written_in.name} order, not {order.name}")
    return position
