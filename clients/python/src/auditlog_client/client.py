"""A small typed client of the audit log service's GraphQL API: record events, read pages.

    async with AuditLogClient("https://audit.internal", api_key=key) as audit:
        entry = await audit.record(Event(application="portal", action="auth.login", success=True))
        async for page in audit.pages(LogFilter(actions=["auth.login"]), order="OLDEST_FIRST"):
            for entry in page.entries: ...
            cursor = page.end_cursor   # keep it: `pages(after=cursor)` goes on from there

Every failure is an `AuditLogError` carrying the service's code, reason and field.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from auditlog_client.events import Event
from auditlog_client.wire import (
    ENTRY_SELECTION,
    UNKNOWN,
    AuditLogError,
    Entry,
    LogFilter,
    Order,
    as_input,
    entry_of,
    error_of,
)

RECORD_ONE = f"""mutation RecordAuditEvent($input: AuditEventInput!) {{
  recordAuditEvent(input: $input) {{ {ENTRY_SELECTION} }}
}}"""
RECORD_MANY = f"""mutation RecordAuditEvents($inputs: [AuditEventInput!]!) {{
  recordAuditEvents(inputs: $inputs) {{ recorded entries {{ {ENTRY_SELECTION} }} }}
}}"""
AUDIT_LOGS = f"""query AuditLogs(
  $filter: AuditLogFilter, $first: Int, $after: String, $order: AuditLogOrder
) {{
  auditLogs(filter: $filter, first: $first, after: $after, order: $order) {{
    edges {{ node {{ {ENTRY_SELECTION} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    end_cursor: str | None
    """Where the next page starts (`after`); None on an empty page."""
    has_next_page: bool


class AuditLogClient:
    """One connection pool to the service, with an API key (RECORD scope to record, READ
    to page). Close it (`close`, or `async with`) when done."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_seconds,
            transport=transport,
        )

    async def record(self, event: Event) -> Entry:
        """Record one event, stamped now if it has no time or key (`Event.stamped`): sending
        the same stamped event again returns the entry it made and stores nothing."""
        data = await self.execute(RECORD_ONE, {"input": as_input(event.stamped())})
        return entry_of(data["recordAuditEvent"])

    async def record_many(self, events: Sequence[Event]) -> list[Entry]:
        """Record 1 to 1000 events, all or nothing (an error's `index` names the refused one)."""
        inputs = [as_input(event.stamped()) for event in events]
        data = await self.execute(RECORD_MANY, {"inputs": inputs})
        return [entry_of(node) for node in data["recordAuditEvents"]["entries"]]

    async def pages(
        self,
        filter: LogFilter | None = None,
        *,
        order: Order = "NEWEST_FIRST",
        first: int = 100,
        after: str | None = None,
    ) -> AsyncIterator[Page]:
        """Every page of `auditLogs`, following `end_cursor` until there is no next page."""
        variables: dict[str, Any] = {
            "filter": None if filter is None else as_input(filter),
            "first": first,
            "order": order,
        }
        while True:
            data = await self.execute(AUDIT_LOGS, {**variables, "after": after})
            connection = data["auditLogs"]
            info = connection["pageInfo"]
            page = Page(
                entries=[entry_of(edge["node"]) for edge in connection["edges"]],
                end_cursor=info["endCursor"],
                has_next_page=info["hasNextPage"],
            )
            yield page
            if not page.has_next_page or page.end_cursor is None:
                return
            after = page.end_cursor

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """POST one GraphQL request; its `data`, or AuditLogError."""
        try:
            response = await self._http.post(
                "/graphql", json={"query": query, "variables": variables}
            )
        except httpx.TransportError as exc:
            raise AuditLogError(type(exc).__name__, transient=True) from None
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            error = error_of(errors)
            if error.code != UNKNOWN or status == 200:
                raise error
        if status != 200:
            raise AuditLogError(f"HTTP {status}", transient=status == 429 or status >= 500)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            # A proxy's page, a cut answer: the request may not have been seen at all.
            raise AuditLogError("unreadable response", transient=True)
        data: dict[str, Any] = body["data"]
        return data

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AuditLogClient":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
