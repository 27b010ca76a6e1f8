"""Driver errors become the one storage error the application understands."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import DuplicateKeyError, PyMongoError

from application.errors import Conflict, StoreUnavailable

log = logging.getLogger(__name__)


@contextmanager
def translated_errors(kind: str = "", ident: str = "") -> Iterator[None]:
    """Raise `Conflict` for a duplicate id, `StoreUnavailable` for any other driver error.

    Only the exception class is logged: driver messages can carry hosts and query values.
    """
    try:
        yield
    except DuplicateKeyError:
        raise Conflict(kind, ident) from None
    except PyMongoError as exc:
        log.warning("storage operation failed: %s", type(exc).__name__)
        raise StoreUnavailable() from None
