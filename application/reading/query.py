"""Use case: read a page of audit entries, newest first or, for pollers, oldest first.

Oldest first serves only settled entries: those created at least `settle` ago. An entry is
stamped `created_at` before it is committed, so for a moment a later-stamped entry can be
readable while an earlier-stamped one is still on its way; a poller that had moved past it
would never see it. `settle` is longer than any insert may take (the store's operation
timeout), so by the time an entry is served nothing stamped before it is still to commit,
and following `endCursor` sees every entry exactly once.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.access.principal import Principal
from application.access.rate_limit import RateLimiter
from application.access.tenancy import Directory, criteria_for_reading, require_scope
from application.ports import AuditEntryRepository, Clock
from application.reading.criteria import EntryCriteria, LogFilter, Order, Position
from application.reading.cursor import decode_cursor, encode_cursor
from application.self_audit import SelfAudit
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.tenancy import Scope

MAX_PAGE_SIZE = 500
DEFAULT_SETTLE = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[AuditEntry]
    has_next_page: bool
    order: Order = Order.NEWEST_FIRST

    def cursor_of(self, entry: AuditEntry) -> str:
        return encode_cursor(Position(entry.created_at, entry.id), self.order)


class QueryAuditLogs:
    """Keyset pagination on (created_at, id), descending or ascending; expired entries are
    never returned."""

    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        directory: Directory,
        clock: Clock,
        self_audit: SelfAudit,
        limiter: RateLimiter,
        settle: timedelta = DEFAULT_SETTLE,
    ) -> None:
        self._settle = settle
        self._limiter = limiter
        self._entries = entries
        self._directory = directory
        self._clock = clock
        self._self_audit = self_audit

    async def execute(
        self,
        principal: Principal,
        wanted: LogFilter,
        *,
        first: int,
        after: str | None,
        order: Order = Order.NEWEST_FIRST,
    ) -> Page:
        # Before the audit scope: a flood of refused reads must not become a flood of entries.
        self._limiter.take(principal, "read")
        with self._self_audit.viewed(principal):
            require_scope(principal, Scope.READ)
            if not 1 <= first <= MAX_PAGE_SIZE:
                raise InvalidField("first", f"must be between 1 and {MAX_PAGE_SIZE}")
            position = None if after is None else decode_cursor(after, order=order)
            criteria = await criteria_for_reading(principal, wanted, self._directory)
            now = self._clock.now()
            if order is Order.OLDEST_FIRST:
                settled = _settled(criteria, now - self._settle)
                if settled is None:
                    return Page(entries=[], has_next_page=False, order=order)
                criteria = settled
            rows = await self._entries.query(
                criteria, now=now, after=position, limit=first + 1, order=order
            )
            return Page(entries=rows[:first], has_next_page=len(rows) > first, order=order)


def _settled(criteria: EntryCriteria, horizon: datetime) -> EntryCriteria | None:
    """The criteria narrowed to entries created before `horizon`; None if none can be."""
    wanted = criteria.filter
    if wanted.until is not None and wanted.until <= horizon:
        return criteria
    if wanted.since is not None and wanted.since >= horizon:
        return None
    return EntryCriteria(dataclasses.replace(wanted, until=horizon))
