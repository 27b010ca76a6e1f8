"""Failed authentication is throttled per source address and per key id, and a revoked key
presented in a loop writes one trail entry per minute, counting the attempts it stands for."""

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from application.access.authenticate import Authenticate
from application.access.origin import Origin
from application.access.rate_limit import (
    MAX_TRACKED_NAMES,
    AuthFailureLimits,
    Bucket,
    FailedAuthentications,
)
from application.errors import RateLimited, Unauthenticated
from application.interceptor import Auditor
from application.self_audit import KEY_REJECTED, SelfAudit
from domain.entry import AuditEvent
from domain.tenancy import ApiKey, Scope, compose_secret, hash_secret
from tests.fakes import InMemoryApiKeys
from tests.telemetry import RecordingTelemetry
from tests.unit.application.test_rate_limit import FakeMonotonic

OPERATOR = "operator-token-for-unit-tests-0123456789"
BURST = 3
LIVE_ID, REVOKED_ID = "0123456789abcdef", "fedcba9876543210"
TOKEN = "A" * 43


class Events:
    """An emitter that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> bool:
        self.events.append(event)
        return True

    def rejected(self) -> list[str | None]:
        return [e.reason for e in self.events if e.action == KEY_REJECTED]


def origin(ip: str = "203.0.113.7") -> Origin:
    return Origin(ip=ip)


class World:
    def __init__(self, *, interval: float = 60.0, enabled: bool = True) -> None:
        self.clock = FakeMonotonic()
        self.events = Events()
        self.keys = InMemoryApiKeys()
        self.telemetry = RecordingTelemetry()
        self.failures = FailedAuthentications(
            AuthFailureLimits(failures=Bucket(1.0, BURST), enabled=enabled),
            telemetry=self.telemetry,
            now=self.clock,
        )
        self.audit = SelfAudit(
            Auditor(self.events),
            telemetry=self.telemetry,
            rejection_interval=interval,
            now=self.clock,
        )
        self.authenticate = Authenticate(
            keys=self.keys, operator_token=OPERATOR, self_audit=self.audit, failures=self.failures
        )

    async def add_keys(self) -> None:
        for key_id, revoked in ((LIVE_ID, False), (REVOKED_ID, True)):
            await self.keys.add(
                ApiKey(
                    id=key_id,
                    account="acme",
                    application=None,
                    scopes=frozenset({Scope.READ}),
                    secret_hash=hash_secret(compose_secret(key_id, TOKEN)),
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    revoked=revoked,
                )
            )

    async def outcome(self, secret: str, ip: str = "203.0.113.7") -> str:
        try:
            await self.authenticate.execute(secret, origin(ip))
        except Unauthenticated:
            return "UNAUTHENTICATED"
        except RateLimited:
            return "RATE_LIMITED"
        return "ok"


@pytest.fixture
async def world() -> World:
    made = World()
    await made.add_keys()
    return made


async def test_an_address_that_keeps_failing_is_refused_before_its_credentials_are_read(
    world: World,
) -> None:
    outcomes = [await world.outcome("wrong-secret") for _ in range(BURST + 2)]

    assert outcomes == ["UNAUTHENTICATED"] * BURST + ["RATE_LIMITED"] * 2
    # Even the right secret waits until the address's bucket refills...
    assert await world.outcome(OPERATOR) == "RATE_LIMITED"
    # ...while other addresses are not affected...
    assert await world.outcome(OPERATOR, ip="198.51.100.1") == "ok"
    # ...and it refills at the configured rate.
    world.clock.advance(1.0)
    assert await world.outcome(OPERATOR) == "ok"
    assert world.telemetry.refused["auth"] == 3
    assert world.telemetry.failures == Counter(unknown=BURST)


async def test_ipv6_addresses_of_one_network_share_a_bucket(world: World) -> None:
    for host in range(BURST):
        assert await world.outcome("wrong", ip=f"2001:db8:1:2::{host + 1}") == "UNAUTHENTICATED"

    assert await world.outcome(OPERATOR, ip="2001:db8:1:2:ffff::9") == "RATE_LIMITED"
    assert await world.outcome(OPERATOR, ip="2001:db8:1:3::1") == "ok"


async def test_a_revoked_key_presented_from_many_addresses_is_throttled_by_its_id(
    world: World,
) -> None:
    revoked = compose_secret(REVOKED_ID, TOKEN)
    outcomes = [await world.outcome(revoked, ip=f"198.51.100.{n}") for n in range(BURST + 2)]

    assert outcomes == ["UNAUTHENTICATED"] * BURST + ["RATE_LIMITED"] * 2
    assert world.telemetry.failures["revoked"] == BURST


async def test_wrong_secrets_for_a_key_id_do_not_lock_the_real_key_out(world: World) -> None:
    forged = compose_secret(LIVE_ID, "B" * 43)
    for n in range(BURST + 2):
        await world.outcome(forged, ip=f"198.51.100.{n}")

    assert await world.outcome(forged, ip="192.0.2.1") == "RATE_LIMITED"
    assert await world.outcome(compose_secret(LIVE_ID, TOKEN), ip="192.0.2.1") == "ok"


async def test_invented_key_ids_do_not_grow_the_state(world: World) -> None:
    for n in range(50):
        await world.outcome(compose_secret(f"{n:016x}", TOKEN), ip=f"10.0.{n}.1")

    assert world.failures.tracked_key_ids == 0


def test_addresses_that_have_refilled_are_forgotten_past_the_bound() -> None:
    clock = FakeMonotonic()
    failures = FailedAuthentications(
        AuthFailureLimits(failures=Bucket(1.0, 2), enabled=True),
        telemetry=RecordingTelemetry(),
        now=clock,
    )
    for n in range(MAX_TRACKED_NAMES):
        failures.failed("unknown", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", None)
    clock.advance(10)

    failures.failed("unknown", "192.0.2.1", None)

    assert failures.tracked_addresses == 1


async def test_the_limit_off_counts_failures_but_refuses_nothing() -> None:
    world = World(enabled=False)
    outcomes = {await world.outcome("wrong") for _ in range(BURST * 3)}

    assert outcomes == {"UNAUTHENTICATED"}
    assert world.telemetry.failures["unknown"] == BURST * 3
    assert world.telemetry.refused["auth"] == 0


async def test_a_revoked_key_writes_one_entry_per_interval_with_the_count() -> None:
    world = World(interval=0.05, enabled=False)
    await world.add_keys()
    revoked = compose_secret(REVOKED_ID, TOKEN)

    for _ in range(40):
        await world.outcome(revoked)
    assert world.events.rejected() == ["revoked"]

    await asyncio.sleep(0.2)  # the interval passes: the folded attempts are written once
    assert world.events.rejected() == [
        "revoked",
        "revoked, presented 39 times since the last entry",
    ]
    assert world.telemetry.rejections_folded == 39


async def test_a_revoked_key_presented_again_after_a_quiet_interval_is_recorded_at_once() -> None:
    world = World(interval=60.0, enabled=False)
    await world.add_keys()
    revoked = compose_secret(REVOKED_ID, TOKEN)

    await world.outcome(revoked)
    world.clock.advance(61)
    await world.outcome(revoked)

    assert world.events.rejected() == ["revoked", "revoked"]


async def test_attempts_still_being_counted_are_written_at_shutdown() -> None:
    world = World(interval=60.0, enabled=False)
    await world.add_keys()
    revoked = compose_secret(REVOKED_ID, TOKEN)
    for _ in range(5):
        await world.outcome(revoked)

    world.audit.flush_rejections()

    assert world.events.rejected() == ["revoked", "revoked, presented 4 times since the last entry"]
