"""The service's own sink: events from its interceptor, recorded in process.

An interceptor event (`auditlog_client.Event`) becomes a domain event here, which checks
every field: one it refuses is a permanent failure, as it would be over HTTP."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditlog_client import Event, Party, PermanentSinkError, TransientSinkError

from application.access.principal import System
from application.errors import ApplicationError, BatchItemError, StoreUnavailable
from domain import event_parts
from domain.entry import AuditEvent
from domain.errors import DomainError

if TYPE_CHECKING:
    from application.recording import RecordAuditEvents


def _party(party: Party) -> event_parts.Party:
    return event_parts.Party(id=party.id, type=party.type, name=party.name)


def domain_event(event: Event) -> AuditEvent:
    """The event as the domain takes it; InvalidField naming the field it refuses."""
    return AuditEvent(
        application=event.application,
        action=event.action,
        success=event.success,
        email=event.email,
        reason=event.reason,
        ip=event.ip,
        user_agent=event.user_agent,
        request_id=event.request_id,
        occurred_at=event.occurred_at,
        idempotency_key=event.idempotency_key,
        actor=None if event.actor is None else _party(event.actor),
        targets=tuple(_party(target) for target in event.targets),
        metadata=None if event.metadata is None else dict(event.metadata),
    )


class RecordingSink:
    """In process: the batch record use case, as the service itself (operator rights)."""

    def __init__(self, record_many: "RecordAuditEvents") -> None:
        self._record_many = record_many
        self._principal = System()

    async def send(self, events: Sequence[Event], *, delivery_id: str) -> None:
        try:
            batch = [domain_event(event) for event in events]
            await self._record_many.execute(self._principal, batch, delivery_id=delivery_id)
        except StoreUnavailable as exc:
            raise TransientSinkError(type(exc).__name__) from exc
        except BatchItemError as exc:
            raise PermanentSinkError(type(exc.cause).__name__) from exc
        except (ApplicationError, DomainError) as exc:
            raise PermanentSinkError(type(exc).__name__) from exc
