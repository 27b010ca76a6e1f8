"""Opaque page cursors.

A cursor is only a position in the newest-first order, so it needs no signature: the
caller's tenant scope always comes from the principal, and a forged cursor can only move
the caller within what it may already see. Unsigned cursors also survive restarts and
work on every instance.
"""

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

from application.criteria import Position
from domain.errors import InvalidField

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_PAYLOAD = re.compile(r"(-?[0-9]{1,15}):([0-9A-Za-z_-]{1,64})")


def encode_cursor(position: Position) -> str:
    # Integer arithmetic: a float timestamp can round 123 ms down to 122.
    millis = (position.created_at - _EPOCH) // _MILLISECOND
    raw = f"{millis}:{position.entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after") -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = _PAYLOAD.fullmatch(raw)
        if match is None:
            raise ValueError(cursor)
        created_at = _EPOCH + int(match.group(1)) * _MILLISECOND
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise InvalidField(field, "is not a cursor this service issued") from None
    return Position(created_at=created_at, entry_id=match.group(2))
