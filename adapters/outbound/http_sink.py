"""An interceptor sink that sends batches to another instance's `recordAuditEvents`.

For platform services written in Python that audit their flows remotely:

    sink = GraphQLHttpSink("https://audit.internal", api_key=os.environ["AUDIT_KEY"])
    emitter = AuditEmitter(sink, EmitterConfig(...))  # every value given: README, "The interceptor"

The key needs the RECORD scope. Network failures, timeouts, 429 and 5xx answers and
STORE_UNAVAILABLE are transient (the emitter retries them); anything else is permanent.
"""

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import httpx

from adapters.error_codes import INTERNAL_SERVER_ERROR, RATE_LIMITED, STORE_UNAVAILABLE
from application.exporting.lines import row_key
from application.interceptor import PermanentSinkError, TransientSinkError
from domain.entry import AuditEvent

RECORD_MANY = """mutation RecordAuditEvents($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded }
}"""
_TRANSIENT_CODES = {STORE_UNAVAILABLE, RATE_LIMITED, INTERNAL_SERVER_ERROR}


# The GraphQL input names each event field in camelCase, as an export line does.
_INPUT_KEYS = {f.name: row_key(f.name) for f in fields(AuditEvent)}


def as_input(event: AuditEvent) -> dict[str, Any]:
    return {
        key: value
        for name, key in _INPUT_KEYS.items()
        if (value := getattr(event, name)) is not None
    }


class GraphQLHttpSink:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_seconds,
            transport=transport,
        )

    async def send(self, events: Sequence[AuditEvent], *, delivery_id: str) -> None:
        # The GraphQL contract takes no ids, so a retry after a lost answer may store a
        # batch twice: delivery over HTTP is at least once.
        payload = {"query": RECORD_MANY, "variables": {"inputs": [as_input(e) for e in events]}}
        try:
            response = await self._client.post("/graphql", json=payload)
        except httpx.TransportError as exc:
            raise TransientSinkError(type(exc).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSinkError(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise PermanentSinkError(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise TransientSinkError("unreadable response") from None
        errors = body.get("errors") or []
        if errors:
            code = str((errors[0].get("extensions") or {}).get("code", "UNKNOWN"))
            if code in _TRANSIENT_CODES:
                raise TransientSinkError(code)
            raise PermanentSinkError(code)

    async def close(self) -> None:
        await self._client.aclose()
