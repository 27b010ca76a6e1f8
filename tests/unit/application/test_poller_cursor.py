"""The oldest-first cursor is complete for pollers: following `endCursor` while writers
commit late (stamped at ingestion, stored up to a while later) sees every entry exactly once,
in ingestion order, because only entries older than the settle delay are served."""

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from adapters.outbound.clock import SystemClock
from application.access.principal import Principal
from application.reading.criteria import LogFilter, Order
from application.services import Services
from domain.entry import AuditEntry, AuditEvent
from domain.errors import InvalidField
from tests.fakes import FakeClock, InMemoryAuditEntries

SETTLE = timedelta(milliseconds=400)
LONGEST_COMMIT = 0.3  # seconds from stamping to commit: under SETTLE, as the settings demand


class LateCommits(InMemoryAuditEntries):
    """Entries become readable a random while after they were stamped, as an insert that
    waits on a lock or a slow disk would make them."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._random = random.Random(seed)

    async def add(self, entry: AuditEntry) -> None:
        await asyncio.sleep(self._random.uniform(0, LONGEST_COMMIT))
        await super().add(entry)

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        await asyncio.sleep(self._random.uniform(0, LONGEST_COMMIT))
        await super().add_many(entries, skip_existing=skip_existing)


@pytest.fixture(params=[1, 2, 3])
def entries(request: pytest.FixtureRequest) -> InMemoryAuditEntries:
    return LateCommits(seed=request.param)


@pytest.fixture
def clock() -> SystemClock:  # type: ignore[override]
    return SystemClock()


@pytest.fixture
def settle() -> timedelta:
    return SETTLE


async def test_a_poller_following_end_cursor_sees_every_entry_exactly_once_in_order(
    services: Services, operator: Principal, tenants: None
) -> None:
    recorded: list[AuditEntry] = []

    async def writer(seed: int) -> None:
        pace = random.Random(seed)
        for i in range(25):
            event = AuditEvent(application="acme-web", action="auth.login", success=True)
            if i % 5 == 0:
                batch = [event] * pace.randint(2, 6)
                recorded.extend(await services.recording.record_many.execute(operator, batch))
            else:
                recorded.append(await services.recording.record.execute(operator, event))
            await asyncio.sleep(pace.uniform(0, 0.02))

    seen: list[AuditEntry] = []
    after: str | None = None
    writers = asyncio.gather(*(writer(seed) for seed in range(6)))
    deadline: datetime | None = None
    while deadline is None or datetime.now(UTC) < deadline:
        page = await services.reading.query.execute(
            operator, LogFilter(), first=7, after=after, order=Order.OLDEST_FIRST
        )
        seen += page.entries
        if page.entries:
            after = page.cursor_of(page.entries[-1])
        if not page.has_next_page:
            await asyncio.sleep(0.01)
        if writers.done() and deadline is None:
            deadline = datetime.now(UTC) + SETTLE * 2  # then everything has settled
    await writers

    assert len(recorded) > 150
    assert [e.id for e in seen] == [
        e.id for e in sorted(recorded, key=lambda e: (e.created_at, e.id))
    ]


async def test_an_entry_is_served_oldest_first_only_once_it_has_settled(
    services: Services, operator: Principal, tenants: None
) -> None:
    event = AuditEvent(application="acme-web", action="auth.login", success=True)
    entry = await services.recording.record.execute(operator, event)

    fresh = await services.reading.query.execute(
        operator, LogFilter(), first=10, after=None, order=Order.OLDEST_FIRST
    )
    newest = await services.reading.query.execute(operator, LogFilter(), first=10, after=None)
    await asyncio.sleep(SETTLE.total_seconds() + 0.05)
    settled = await services.reading.query.execute(
        operator, LogFilter(), first=10, after=None, order=Order.OLDEST_FIRST
    )

    assert fresh.entries == []
    assert entry in newest.entries  # newest first serves it at once, as it always has
    assert settled.entries == [entry]


class TestWithAStillClock:
    @pytest.fixture
    def entries(self) -> InMemoryAuditEntries:
        return InMemoryAuditEntries()

    @pytest.fixture
    def clock(self) -> FakeClock:  # type: ignore[override]
        return FakeClock()

    @pytest.fixture
    def settle(self) -> timedelta:
        return timedelta(seconds=30)

    async def test_a_cursor_of_one_order_is_refused_in_the_other(
        self, services: Services, operator: Principal, tenants: None, clock: FakeClock
    ) -> None:
        event = AuditEvent(application="acme-web", action="auth.login", success=True)
        for _ in range(3):
            await services.recording.record.execute(operator, event)
            clock.advance(seconds=1)
        clock.advance(seconds=60)
        query = services.reading.query
        oldest = await query.execute(
            operator, LogFilter(), first=1, after=None, order=Order.OLDEST_FIRST
        )
        newest = await query.execute(operator, LogFilter(), first=1, after=None)

        with pytest.raises(InvalidField, match="OLDEST_FIRST") as raised:
            await query.execute(
                operator, LogFilter(), first=1, after=oldest.cursor_of(oldest.entries[0])
            )
        with pytest.raises(InvalidField, match="NEWEST_FIRST"):
            await query.execute(
                operator,
                LogFilter(),
                first=1,
                after=newest.cursor_of(newest.entries[0]),
                order=Order.OLDEST_FIRST,
            )
        assert raised.value.field == "after"

    async def test_until_and_since_narrow_the_settled_entries_and_a_future_since_is_empty(
        self, services: Services, operator: Principal, tenants: None, clock: FakeClock
    ) -> None:
        event = AuditEvent(application="acme-web", action="auth.login", success=True)
        stamped = []
        for _ in range(4):
            stamped.append(await services.recording.record.execute(operator, event))
            clock.advance(seconds=10)
        # Now the entries are 40, 30, 20 and 10 s old: with a 30 s delay two have settled.
        query = services.reading.query

        async def oldest(**narrowing: datetime) -> list[str]:
            page = await query.execute(
                operator, LogFilter(**narrowing), first=10, after=None, order=Order.OLDEST_FIRST
            )
            return [e.id for e in page.entries]

        assert await oldest() == [e.id for e in stamped[:2]]
        assert await oldest(until=stamped[1].created_at) == [stamped[0].id]
        assert await oldest(since=stamped[3].created_at) == []
        assert await oldest(since=clock.now() + timedelta(hours=1)) == []
