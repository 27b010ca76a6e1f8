"""Use case: read a page of audit entries, newest first."""

from dataclasses import dataclass

from application.access.principal import Principal
from application.access.rate_limit import RateLimiter
from application.access.tenancy import Directory, criteria_for_reading, require_scope
from application.ports import AuditEntryRepository, Clock
from application.reading.criteria import LogFilter, Position
from application.reading.cursor import decode_cursor, encode_cursor
from application.self_audit import SelfAudit
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.tenancy import Scope

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[AuditEntry]
    has_next_page: bool

    @staticmethod
    def cursor_of(entry: AuditEntry) -> str:
        return encode_cursor(Position(entry.created_at, entry.id))


class QueryAuditLogs:
    """Keyset pagination on (created_at desc, id desc); expired entries are never returned."""

    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        directory: Directory,
        clock: Clock,
        self_audit: SelfAudit,
        limiter: RateLimiter,
    ) -> None:
        self._limiter = limiter
        self._entries = entries
        self._directory = directory
        self._clock = clock
        self._self_audit = self_audit

    async def execute(
        self, principal: Principal, wanted: LogFilter, *, first: int, after: str | None
    ) -> Page:
        # Before the audit scope: a flood of refused reads must not become a flood of entries.
        self._limiter.take(principal, "read")
        with self._self_audit.viewed(principal):
            require_scope(principal, Scope.READ)
            if not 1 <= first <= MAX_PAGE_SIZE:
                raise InvalidField("first", f"must be between 1 and {MAX_PAGE_SIZE}")
            position = None if after is None else decode_cursor(after)
            criteria = await criteria_for_reading(principal, wanted, self._directory)
            rows = await self._entries.query(
                criteria, now=self._clock.now(), after=position, limit=first + 1
            )
            return Page(entries=rows[:first], has_next_page=len(rows) > first)
