"""Where emitted events go, and how a sink says whether a failure is worth retrying."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from application.access.principal import System
from application.errors import ApplicationError, BatchItemError, StoreUnavailable
from domain.entry import AuditEvent
from domain.errors import DomainError

if TYPE_CHECKING:
    from application.recording import RecordAuditEvents


class TransientSinkError(Exception):
    """The events may go through if sent again later (timeouts, unavailable store, 5xx).

    Its text, like PermanentSinkError's code, is a short name of the cause (an exception
    class, an HTTP status), never a message: the interceptor may log it."""


class PermanentSinkError(Exception):
    """Sending these events again will fail the same way (forbidden, unknown application)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AuditSink(Protocol):
    """Persists a batch of events, all or nothing; raises one of the two errors above.

    `delivery_id` is the same for every attempt at one batch: a sink that can use it makes
    a retry after a partial write store nothing twice."""

    async def send(self, events: Sequence[AuditEvent], *, delivery_id: str) -> None:
        """Persist every event, or raise TransientSinkError / PermanentSinkError."""


class RecordingSink:
    """In process: the batch record use case, as the service itself (operator rights)."""

    def __init__(self, record_many: "RecordAuditEvents") -> None:
        self._record_many = record_many
        self._principal = System()

    async def send(self, events: Sequence[AuditEvent], *, delivery_id: str) -> None:
        try:
            await self._record_many.execute(self._principal, events, delivery_id=delivery_id)
        except StoreUnavailable as exc:
            raise TransientSinkError(type(exc).__name__) from exc
        except BatchItemError as exc:
            raise PermanentSinkError(type(exc.cause).__name__) from exc
        except (ApplicationError, DomainError) as exc:
            raise PermanentSinkError(type(exc).__name__) from exc
