"""Driver errors become the one storage error the application understands."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

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
    except BulkWriteError as exc:
        if only_duplicate_keys(exc):
            raise Conflict(kind, ident) from None
        log.warning("storage operation failed: %s", type(exc).__name__)
        raise StoreUnavailable() from None
    except PyMongoError as exc:
        log.warning("storage operation failed: %s", type(exc).__name__)
        raise StoreUnavailable() from None


_DUPLICATE_KEY = 11000


def only_duplicate_keys(error: BulkWriteError) -> bool:
    """Whether every write that failed did so because its id was already taken."""
    write_errors = error.details.get("writeErrors") or []
    return bool(write_errors) and all(e.get("code") == _DUPLICATE_KEY for e in write_errors)


class StoreCalls:
    """What every store call goes through: driver errors translated, and a bound on time.

    The bound holds whatever the driver does (a stuck socket, a primary being elected), so
    a caller hears STORE_UNAVAILABLE within it and the service keeps answering."""

    def __init__(self, timeout_seconds: float | None = 10.0) -> None:
        self._timeout = timeout_seconds

    @asynccontextmanager
    async def __call__(self, kind: str = "", ident: str = "") -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout):
                with translated_errors(kind, ident):
                    yield
        except TimeoutError:
            log.warning("storage operation timed out after %s s", self._timeout)
            raise StoreUnavailable() from None
