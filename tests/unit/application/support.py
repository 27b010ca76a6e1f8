"""Constants and helpers shared by the use-case tests (fixtures live in conftest.py)."""

from collections.abc import Awaitable, Callable

from application.access.principal import KeyHolder, Principal
from application.reading.criteria import LogFilter
from application.reading.query import Page
from application.services import Services
from domain.entry import AuditEntry

OPERATOR_TOKEN = "operator-token-for-unit-tests-0123456789"

# issue(account, application=None, scopes=(RECORD, READ)) -> the key's principal
KeyFactory = Callable[..., Awaitable[KeyHolder]]
# record(principal, application, action="auth.login", success=True, **fields) -> entry
Recorder = Callable[..., Awaitable[AuditEntry]]


async def read_page(
    services: Services,
    principal: Principal,
    wanted: LogFilter | None = None,
    *,
    first: int = 500,
    after: str | None = None,
) -> Page:
    return await services.reading.query.execute(
        principal, wanted or LogFilter(), first=first, after=after
    )


async def read_ids(
    services: Services, principal: Principal, wanted: LogFilter | None = None
) -> list[str]:
    """Ids of every entry one page of 500 shows, in the order returned."""
    page = await read_page(services, principal, wanted)
    return [entry.id for entry in page.entries]


async def walk_all_pages(
    services: Services, principal: Principal, first: int, wanted: LogFilter | None = None
) -> list[AuditEntry]:
    """Follow cursors from the first page to the last, collecting every entry seen."""
    seen: list[AuditEntry] = []
    after: str | None = None
    for _ in range(1000):
        page = await read_page(services, principal, wanted, first=first, after=after)
        assert len(page.entries) <= first
        seen.extend(page.entries)
        if not page.has_next_page:
            return seen
        assert page.entries, "a page that promises more must not be empty"
        after = page.cursor_of(page.entries[-1])
    raise AssertionError("pagination never ended")


Audited = Callable[[str], Awaitable[list[AuditEntry]]]
"""The `audited` fixture: the entries of one action once the service's events are stored."""
