"""What a verification costs: read tokens in proportion to what it checks, an audit entry
like any read, and the event loop handed back while it works."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from application.access.principal import Operator, Principal
from application.access.rate_limit import Bucket, RateLimiter, RateLimits
from application.errors import RateLimited
from application.integrity.verify import ENTRIES_PER_READ_TOKEN, YIELD_EVERY, VerifyAuditLogs
from application.interceptor import Auditor
from application.ports import NoTelemetry
from application.self_audit import VERIFIED, SelfAudit
from domain.entry import AuditEntry, AuditEvent
from domain.errors import InvalidField
from domain.tenancy import Scope
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySeals,
)
from tests.loop_turns import turns_taken
from tests.unit.application.sealing.conftest import CONFIG, closes, window
from tests.unit.application.support import KeyFactory
from tests.unit.application.test_rate_limit import FakeMonotonic

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]
BURST = 10


class Events:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> bool:
        self.events.append(event)
        return True


class Metered:
    """A verifier with a read bucket of BURST tokens that refill only when told."""

    def __init__(self, build: Callable[[RateLimiter, SelfAudit], VerifyAuditLogs]) -> None:
        self.clock = FakeMonotonic()
        self.events = Events()
        self.limiter = RateLimiter(
            RateLimits(
                read=Bucket(0.001, BURST),
                record=Bucket(1.0, 1_000),
                enabled=True,
                limit_operator=False,
            ),
            telemetry=NoTelemetry(),
            now=self.clock,
        )
        self.verifier = build(
            self.limiter, SelfAudit(Auditor(self.events), telemetry=NoTelemetry())
        )

    def tokens_left(self, key: Principal) -> int:
        spent = 0
        while True:
            try:
                self.limiter.take(key, "read")
            except RateLimited:
                return spent
            spent += 1


@pytest.fixture
def metered(
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    accounts: InMemoryAccounts,
    clock: FakeClock,
) -> Metered:
    def build(limiter: RateLimiter, audit: SelfAudit) -> VerifyAuditLogs:
        return VerifyAuditLogs(
            entries=entries, seals=seals, checkpoints=checkpoints, keys=seal_keys,
            accounts=accounts, clock=clock, limiter=limiter, self_audit=audit,
            expiry_tolerance=CONFIG.expiry_tolerance,
        )  # fmt: skip

    return Metered(build)


def fill_window(put: Put, k: int, count: int) -> None:
    for n in range(count):
        put(window(k) + timedelta(milliseconds=n + 1))


async def test_a_verification_costs_a_token_per_thousand_sealed_entries(
    put: Put, seal_at: SealAt, metered: Metered, key_for: KeyFactory
) -> None:
    fill_window(put, 0, 2 * ENTRIES_PER_READ_TOKEN + 10)
    await seal_at(closes(0))
    key = await key_for("acme", scopes=(Scope.READ,))

    findings = await metered.verifier.execute(key, account=None)

    assert findings.ok
    assert findings.entries_verified == 2 * ENTRIES_PER_READ_TOKEN + 10
    # 3 for 2,010 entries and 1 seal, the first of them the request's own.
    assert metered.tokens_left(key) == BURST - 3


async def test_an_empty_bucket_refuses_a_verification_before_it_reads(
    put: Put, seal_at: SealAt, metered: Metered, key_for: KeyFactory
) -> None:
    put(window(0) + timedelta(seconds=1))
    await seal_at(closes(0))
    key = await key_for("acme", scopes=(Scope.READ,))
    for _ in range(BURST):
        await metered.verifier.execute(key, account=None)

    with pytest.raises(RateLimited):
        await metered.verifier.execute(key, account=None)
    # Refused before the audit scope, as for reads: a flood of refusals writes nothing.
    assert [e.action for e in metered.events.events] == [VERIFIED] * BURST


async def test_unsealed_entries_past_what_was_paid_for_are_paid_as_they_come(
    put: Put, metered: Metered, key_for: KeyFactory
) -> None:
    fill_window(put, 0, 2 * ENTRIES_PER_READ_TOKEN + 1)  # never sealed
    key = await key_for("acme", scopes=(Scope.READ,))

    findings = await metered.verifier.execute(key, account=None)

    assert findings.unsealed_entries == 2 * ENTRIES_PER_READ_TOKEN + 1
    assert metered.tokens_left(key) == BURST - 3


async def test_a_range_larger_than_the_bucket_can_pay_for_is_refused_naming_until(
    put: Put, seal_at: SealAt, metered: Metered, key_for: KeyFactory
) -> None:
    fill_window(put, 0, BURST * ENTRIES_PER_READ_TOKEN)  # with its seal: one more than paid for
    await seal_at(closes(0))
    key = await key_for("acme", scopes=(Scope.READ,))

    with pytest.raises(InvalidField) as raised:
        await metered.verifier.execute(key, account=None)

    assert raised.value.field == "until"
    assert "shorter range" in raised.value.problem


async def test_until_before_since_is_refused(metered: Metered, key_for: KeyFactory) -> None:
    key = await key_for("acme", scopes=(Scope.READ,))
    for since, until in ((window(2), window(1)), (window(1), window(1))):
        with pytest.raises(InvalidField) as raised:
            await metered.verifier.execute(key, account=None, since=since, until=until)
        assert raised.value.field == "until"


async def test_a_keys_verification_is_recorded_like_a_read_refused_ones_too(
    metered: Metered, key_for: KeyFactory
) -> None:
    key = await key_for("acme", scopes=(Scope.READ,))
    await metered.verifier.execute(key, account=None)
    with pytest.raises(InvalidField):
        await metered.verifier.execute(key, account=None, since=window(2), until=window(1))

    recorded = [(e.action, e.application, e.success) for e in metered.events.events]
    assert recorded == [(VERIFIED, "_acme", True), (VERIFIED, "_acme", False)]


async def test_the_operators_verification_is_not_recorded(metered: Metered, tenants: None) -> None:
    await metered.verifier.execute(Operator(), account="acme")
    assert metered.events.events == []


async def test_a_long_verification_hands_the_event_loop_back_as_it_goes(
    put: Put, seal_at: SealAt, verifier: VerifyAuditLogs, tenants: None
) -> None:
    # Fakes never wait: without explicit yields the ticker below could not run at all.
    count = 20 * YIELD_EVERY
    fill_window(put, 0, count // 2)
    fill_window(put, 1, count // 2)
    await seal_at(closes(1))
    async with turns_taken() as turns:
        findings = await verifier.execute(Operator(), account="acme")

    assert findings.entries_verified == count
    assert turns.count >= count // YIELD_EVERY
