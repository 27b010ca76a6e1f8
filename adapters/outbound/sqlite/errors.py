"""Driver errors become the errors the application understands, without the driver's text."""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from application.errors import Conflict, StoreUnavailable

log = logging.getLogger(__name__)

_TAKEN = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})


def is_taken_id(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.IntegrityError) and error.sqlite_errorname in _TAKEN


def unavailable(error: sqlite3.Error) -> StoreUnavailable:
    """Log the failure by its SQLite error name only: messages can quote values."""
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    log.warning("storage operation failed: %s", name)
    return StoreUnavailable()


@contextmanager
def inserting(kind: str, ident: str) -> Iterator[None]:
    """An insert whose id is taken raises `Conflict`; other driver errors propagate."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if is_taken_id(exc):
            raise Conflict(kind, ident) from None
        raise
