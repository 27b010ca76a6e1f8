"""Where emitted events go, and how a sink says whether a failure is worth retrying."""

from collections.abc import Sequence
from typing import Protocol

from auditlog_client.events import Event


class TransientSinkError(Exception):
    """The events may go through if sent again later (timeouts, unavailable store, 5xx).

    Its text, like PermanentSinkError's code, is a short name of the cause (an exception
    class, an HTTP status, an error code), never a message: the interceptor may log it."""


class PermanentSinkError(Exception):
    """Sending these events again will fail the same way (forbidden, unknown application)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AuditSink(Protocol):
    """Persists a batch of events, all or nothing; raises one of the two errors above.

    `delivery_id` is the same for every attempt at one batch, as is every event: a sink
    that can use it, or the events' idempotency keys, makes a retry after a partial write or
    a lost answer store nothing twice."""

    async def send(self, events: Sequence[Event], *, delivery_id: str) -> None:
        """Persist every event, or raise TransientSinkError / PermanentSinkError."""
