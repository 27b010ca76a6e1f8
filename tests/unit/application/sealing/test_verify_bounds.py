"""The verifier, continued: what a time range checks, a window whose seal expired, a database
clock ahead at a seal's expiry, and writers racing the sealer (moved here from the e2e suite,
which keeps the HTTP contract)."""

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import pytest

from application.access.principal import Principal
from application.integrity.sealing import SealTrail
from application.integrity.verify import VerifyAuditLogs
from domain.entry import AuditEntry
from domain.integrity import INJECTED, MODIFIED, Findings
from tests import builders
from tests.fakes import FakeClock, InMemoryAuditEntries, InMemorySeals
from tests.unit.application.sealing.conftest import (
    CONFIG,
    closes,
    in_window,
    kinds,
    window,
)

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]
Verify = Callable[..., Awaitable[Findings]]
DAY = timedelta(days=1)


async def test_since_and_until_bound_what_is_checked(
    put: Put,
    seal_at: SealAt,
    verifier: VerifyAuditLogs,
    operator: Principal,
    entries: InMemoryAuditEntries,
    tenants: None,
) -> None:
    first = put(in_window(0))
    put(in_window(2))
    put(in_window(4))
    await seal_at(closes(4))
    entries.entries[first.id] = builders.entry(
        account="acme", application="acme-web", created_at=first.created_at,
        entry_id=first.id, reason="edited", digest=first.digest,
    )  # fmt: skip

    before = await verifier.execute(operator, account="acme", until=window(2))
    after = await verifier.execute(operator, account="acme", since=window(2))

    assert kinds(before) == [(MODIFIED, first.id)]
    assert (after.ok, after.windows_checked, after.entries_verified) == (True, 2, 2)


async def test_an_entry_added_where_a_seal_expired_is_injected(
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    clock: FakeClock,
    expire: Callable[[], None],
    seals: InMemorySeals,
    entries: InMemoryAuditEntries,
) -> None:
    put(in_window(0))
    put(in_window(1), retention=DAY)  # its seal expires with it
    put(in_window(2))
    await seal_at(closes(2))
    clock.set(closes(2) + 2 * DAY)
    expire()
    assert len(seals.seals) == 2
    assert (await verify()).ok
    # A 90-day entry in the window whose seal expired: no live seal lists it.
    extra = builders.entry(account="acme", application="acme-web", created_at=in_window(1, 30))
    entries.entries[extra.id] = extra

    assert kinds(await verify()) == [(INJECTED, extra.id)]


async def test_a_seal_removed_by_a_database_clock_slightly_ahead_is_not_flagged(
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    clock: FakeClock,
    expire: Callable[[], None],
    seals: InMemorySeals,
) -> None:
    """The TTL monitor goes by the database's clock: two minutes ahead, it removes a seal
    (and its entries) a minute before the service's clock says it expires."""
    short = put(in_window(0), retention=DAY)
    put(in_window(1))
    await seal_at(closes(1))
    clock.set(short.expires_at + timedelta(minutes=1))
    expire()
    clock.set(short.expires_at - timedelta(minutes=1))
    assert len(seals.seals) == 1
    assert kinds(await verify()) == []


class SlowEntries(InMemoryAuditEntries):
    """Inserts land a while (up to 20 ms) after their entries were stamped."""

    async def add(self, entry: AuditEntry) -> None:
        await asyncio.sleep(random.uniform(0, 0.02))
        await super().add(entry)

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        await asyncio.sleep(random.uniform(0, 0.02))
        await super().add_many(entries, skip_existing=skip_existing)


@pytest.fixture
def entries() -> InMemoryAuditEntries:
    return SlowEntries()


async def test_writers_racing_the_sealer_leave_a_trail_that_verifies(
    entries: InMemoryAuditEntries,
    clock: FakeClock,
    sealer: SealTrail,
    verify: Verify,
) -> None:
    """An entry is stamped, then stored a little later; the sealer moves the clock by a
    eighth of the grace each pass, so no insert takes longer than the grace."""
    step = CONFIG.grace / 8
    ids: list[str] = []
    done = asyncio.Event()

    async def writer(n: int) -> None:
        while not done.is_set():
            batch = [
                builders.entry(account="acme", application="acme-web", created_at=clock.now())
                for _ in range(1 + n % 3)
            ]
            await entries.add_many(batch)
            ids.extend(e.id for e in batch)
            await asyncio.sleep(0)

    async def seal() -> int:
        written = 0
        for _ in range(30):
            clock.advance(seconds=step.total_seconds())
            written += await sealer.run_once()
            await asyncio.sleep(0.005)
        done.set()
        return written

    written_while_writing, *_ = await asyncio.gather(seal(), *(writer(n) for n in range(5)))
    clock.advance(seconds=(CONFIG.window + CONFIG.grace).total_seconds())
    await sealer.run_once()

    findings = await verify()
    assert len(ids) == len(set(ids)) > 30
    assert written_while_writing >= 4
    assert (findings.ok, findings.problems, findings.unsealed_entries) == (True, [], 0)
    assert findings.entries_verified == len(ids)


async def test_a_seal_written_while_a_verification_reads_is_not_reported_injected(
    put: Put,
    seal_at: SealAt,
    sealer: SealTrail,
    seals: InMemorySeals,
    clock: FakeClock,
    verify: Verify,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sealer writes a window's seal and only then moves its watermark: a verification
    that read the seals before that seal must not take the newer watermark as proof that the
    window's entries were left out (it reads the watermark first)."""
    put(in_window(0))
    late = put(in_window(1))
    await seal_at(closes(0))
    clock.set(closes(1))
    read_seals = seals.in_range

    async def sealer_runs_right_after(*args: object, **kwargs: object) -> list[object]:
        found = await read_seals(*args, **kwargs)  # type: ignore[arg-type]
        await sealer.run_once()  # window 1 is sealed between the verifier's reads
        return list(found)

    monkeypatch.setattr(seals, "in_range", sealer_runs_right_after)

    findings = await verify()

    assert kinds(findings) == []
    assert findings.unsealed_entries == 1, f"{late.id} waits for the next verification"
