"""The sealer and the verifier built directly on the fakes, with a clock the tests move.

The clock starts on a window boundary, T0 = 2026-01-15 12:00 UTC. Windows are one minute
long and close two minutes after they end, so window `k` (starting at T0 + k min) is sealed
by a run at T0 + k + 3 min or later. Tampering is done by editing the fakes' dicts, as a
database user bypassing the service would.

The tenants come from the parent conftest: `acme` on pro (90 days), `globex` on free (7).
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.access.principal import Operator
from application.integrity.sealing import SealingConfig, SealTrail
from application.integrity.verify import VerifyAuditLogs
from application.services import Services
from domain.entry import AuditEntry
from domain.integrity import Findings, Seal
from tests import builders
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySealerState,
    InMemorySeals,
)
from tests.unit.application.sealing.export_files import Exporter, exporter

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=1)
GRACE = timedelta(minutes=2)
LEASE = timedelta(minutes=2)
"""How long a sealer holds the lease (test_sealer.py counts on two minutes)."""
CONFIG = SealingConfig(
    window=WINDOW, grace=GRACE, lease=LEASE, expiry_tolerance=timedelta(minutes=5)
)


def window(k: int) -> datetime:
    """The start of the k-th window after T0."""
    return T0 + k * WINDOW


def closes(k: int) -> datetime:
    """The first moment the sealer may seal window k."""
    return window(k) + WINDOW + GRACE


def in_window(k: int, seconds: float = 10) -> datetime:
    return window(k) + timedelta(seconds=seconds)


def sorted_seals(seals: InMemorySeals, account: str = "acme") -> list[Seal]:
    return sorted(
        (s for s in seals.seals.values() if s.account == account), key=lambda s: s.window_start
    )


def kinds(findings: Findings) -> list[tuple[str, str | None]]:
    return sorted((p.kind, p.entry_id) for p in findings.problems)


# The parent conftest's services use this clock too: entries recorded through the use cases
# are stamped with it.
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def seals() -> InMemorySeals:
    return InMemorySeals()


@pytest.fixture
def sealer_state() -> InMemorySealerState:
    return InMemorySealerState()


@pytest.fixture
def checkpoints(clock: FakeClock) -> InMemoryCheckpoints:
    return InMemoryCheckpoints(clock.now)


@pytest.fixture
def seal_keys() -> HmacSealKeys:
    return HmacSealKeys()


@pytest.fixture
def make_sealer(
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    sealer_state: InMemorySealerState,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    clock: FakeClock,
) -> Callable[[str], SealTrail]:
    """A sealer instance with its own lease holder name, sharing the stores."""

    def make(holder: str) -> SealTrail:
        return SealTrail(
            entries=entries,
            seals=seals,
            state=sealer_state,
            checkpoints=checkpoints,
            signer=seal_keys,
            clock=clock,
            holder=holder,
            config=CONFIG,
        )

    return make


@pytest.fixture
def sealer(make_sealer: Callable[[str], SealTrail]) -> SealTrail:
    return make_sealer("sealer-1")


@pytest.fixture
def seal_at(clock: FakeClock, sealer: SealTrail) -> Callable[[datetime], Awaitable[int]]:
    """Move the clock to a moment and run the sealer once there."""

    async def run(moment: datetime) -> int:
        clock.set(moment)
        return await sealer.run_once()

    return run


@pytest.fixture
def put(entries: InMemoryAuditEntries) -> Callable[..., AuditEntry]:
    """Store a domain entry created at a chosen moment (digest computed as at ingestion)."""

    def put_one(
        created_at: datetime,
        *,
        account: str = "acme",
        retention: timedelta = timedelta(days=90),
        **fields: Any,
    ) -> AuditEntry:
        fields.setdefault("application", f"{account}-web")
        stored = builders.entry(
            account=account, created_at=created_at, retention=retention, **fields
        )
        entries.entries[stored.id] = stored
        return stored

    return put_one


@pytest.fixture
def make_verifier(
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    accounts: InMemoryAccounts,
    clock: FakeClock,
    services: Services,
) -> Callable[..., VerifyAuditLogs]:
    """The verifier over these fakes, with `changes` to its settings (expiry_tolerance,
    database_clock, witnesses)."""

    def make(**changes: Any) -> VerifyAuditLogs:
        settings: dict[str, Any] = {"expiry_tolerance": CONFIG.expiry_tolerance, **changes}
        return VerifyAuditLogs(
            entries=entries,
            seals=seals,
            checkpoints=checkpoints,
            keys=seal_keys,
            accounts=accounts,
            clock=clock,
            limiter=services.limiter,
            self_audit=services.self_audit,
            **settings,
        )

    return make


@pytest.fixture
def verifier(make_verifier: Callable[..., VerifyAuditLogs]) -> VerifyAuditLogs:
    return make_verifier()


@pytest.fixture
def verify(verifier: VerifyAuditLogs, tenants: None) -> Callable[..., Awaitable[Findings]]:
    """Verify an account as the operator."""

    async def run(account: str = "acme") -> Findings:
        return await verifier.execute(Operator(), account=account)

    return run


@pytest.fixture
def expire(
    entries: InMemoryAuditEntries, seals: InMemorySeals, clock: FakeClock
) -> Callable[[], None]:
    """Do what the TTL monitor does at the clock's time: remove what has expired."""

    def run() -> None:
        now = clock.now()
        for seal in [s for s in seals.seals.values() if s.expires_at <= now]:
            del seals.seals[seal.id]
        for stored in [e for e in entries.entries.values() if e.expires_at <= now]:
            del entries.entries[stored.id]

    return run


@pytest.fixture
def make(
    services: Services,
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    clock: FakeClock,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    keys: InMemoryApiKeys,
    tenants: None,
) -> Exporter:
    """The export use case over these fakes, and the verifier over what it writes."""
    return exporter(
        services=services, entries=entries, seals=seals, checkpoints=checkpoints,
        seal_keys=seal_keys, clock=clock, accounts=accounts, applications=applications,
        keys=keys,
    )  # fmt: skip
