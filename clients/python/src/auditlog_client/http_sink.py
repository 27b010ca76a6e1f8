"""An interceptor sink that sends batches to the audit log service's `recordAuditEvents`.

    sink = GraphQLHttpSink("https://audit.internal", api_key=os.environ["AUDIT_KEY"])
    emitter = AuditEmitter(sink, EmitterConfig(...))   # every value given

The key needs the RECORD scope. Network failures, timeouts, 429 and 5xx answers and
STORE_UNAVAILABLE, RATE_LIMITED and INTERNAL_SERVER_ERROR are transient (the emitter
retries them); anything else is permanent. Every event carries the idempotency key and
`occurredAt` the emitter stamped it with, the same on every attempt: a retry after a lost
answer stores it once, and a delivery delayed by an outage keeps the moment of the action.
"""

from collections.abc import Sequence

import httpx

from auditlog_client.client import AuditLogClient
from auditlog_client.events import Event
from auditlog_client.sinks import PermanentSinkError, TransientSinkError
from auditlog_client.wire import AuditLogError, as_input

RECORD_MANY = """mutation RecordAuditEvents($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded }
}"""


class GraphQLHttpSink:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = AuditLogClient(
            base_url, api_key=api_key, timeout_seconds=timeout_seconds, transport=transport
        )

    async def send(self, events: Sequence[Event], *, delivery_id: str) -> None:
        # Sent as emitted: stamping here would give each attempt new keys.
        inputs = [as_input(event) for event in events]
        try:
            await self._client.execute(RECORD_MANY, {"inputs": inputs})
        except AuditLogError as exc:
            if exc.transient:
                raise TransientSinkError(exc.code) from None
            raise PermanentSinkError(exc.code) from None

    async def close(self) -> None:
        await self._client.close()
