"""Use-case wiring on the in-memory fakes, with two tenants and helpers to act as them.

Tenants (created by the `tenants` fixture through the operator's own use cases):
- account `acme` on plan `pro` (90 days) owns `acme-web` and `acme-mobile`;
- account `globex` on plan `free` (7 days) owns `globex-web`.
"""

from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

import pytest

from adapters.outbound.secret_box import FernetSecretBox
from application.access.principal import KeyHolder, Operator, Principal
from application.access.tenancy import Directory
from application.services import Ports, Services
from application.streams.admin import StreamRules
from application.streams.delivery import DeliveryConfig, StreamDelivery
from application.streams.service import StreamServices, StreamWiring
from domain.entry import AuditEntry, AuditEvent
from domain.plan import DEFAULT_PLANS, PlanCatalog
from domain.streams import StreamKind
from domain.tenancy import Scope
from tests import configs
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemoryExportLinks,
    InMemoryLogStreams,
    InMemorySealerState,
    InMemorySeals,
    SequentialIds,
)
from tests.telemetry import RecordingTelemetry
from tests.unit.application.streams_support import RecordingSender
from tests.unit.application.support import OPERATOR_TOKEN, Audited, KeyFactory, Recorder


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def entries() -> InMemoryAuditEntries:
    return InMemoryAuditEntries()


@pytest.fixture
def accounts() -> InMemoryAccounts:
    return InMemoryAccounts()


@pytest.fixture
def applications() -> InMemoryApplications:
    return InMemoryApplications()


@pytest.fixture
def keys() -> InMemoryApiKeys:
    return InMemoryApiKeys()


@pytest.fixture
def telemetry() -> RecordingTelemetry:
    return RecordingTelemetry()


@pytest.fixture
def settle() -> timedelta:
    """How old an entry must be for an oldest-first page to serve it."""
    return configs.event_timing().settle


@pytest.fixture
def log_streams() -> InMemoryLogStreams:
    return InMemoryLogStreams()


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


def stream_wiring(
    log_streams: InMemoryLogStreams, sender: RecordingSender, settle: timedelta, owner: str
) -> StreamWiring:
    return StreamWiring(
        store=log_streams,
        box=FernetSecretBox("the-use-case-tests-stream-key"),
        senders=dict.fromkeys(StreamKind, sender),
        rules=StreamRules(allowed_private_hosts=frozenset({"127.0.0.1"})),
        delivery=DeliveryConfig(settle=settle, batch_size=10),
        owner=owner,
    )


@pytest.fixture
def second_delivery(
    services: Services,
    log_streams: InMemoryLogStreams,
    sender: RecordingSender,
    settle: timedelta,
    clock: FakeClock,
    entries: InMemoryAuditEntries,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
) -> StreamDelivery:
    """Another instance's delivery worker over the same stores."""
    return StreamServices.build(
        stream_wiring(log_streams, sender, settle, "instance-b"),
        entries=entries,
        directory=Directory(accounts, applications),
        plans=PlanCatalog(DEFAULT_PLANS),
        audit=services.self_audit,
        signer=HmacSealKeys(),
        clock=clock,
    ).delivery


@pytest.fixture
def services(
    telemetry: RecordingTelemetry,
    clock: FakeClock,
    entries: InMemoryAuditEntries,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    keys: InMemoryApiKeys,
    settle: timedelta,
    log_streams: InMemoryLogStreams,
    sender: RecordingSender,
) -> Services:
    ports = Ports(
        entries=entries,
        accounts=accounts,
        applications=applications,
        keys=keys,
        seals=InMemorySeals(),
        sealer_state=InMemorySealerState(),
        checkpoints=InMemoryCheckpoints(),
        clock=clock,
        ids=SequentialIds(),
    )
    return Services.build(
        ports,
        plans=PlanCatalog(DEFAULT_PLANS),
        operator_token=OPERATOR_TOKEN,
        export_links=InMemoryExportLinks(),
        seal_keys=HmacSealKeys(),
        telemetry=telemetry,
        sealing=configs.sealing_config(),
        export_link_ttl=configs.export_link_ttl(),
        interceptor=configs.emitter_config(),
        # Off: these tests are about the use cases; test_rate_limit.py and
        # test_failed_authentication.py are about the limits.
        rate_limits=configs.rate_limits(enabled=False),
        auth_failure_limits=configs.auth_failure_limits(enabled=False),
        **configs.event_timing_kwargs(settle=settle),
        streams=stream_wiring(log_streams, sender, settle, "instance-a"),
    )


@pytest.fixture
def operator() -> Principal:
    return Operator()


@pytest.fixture
async def tenants(services: Services, operator: Principal) -> None:
    for account_id, plan in (("acme", "pro"), ("globex", "free")):
        await services.administration.create_account.execute(
            operator, account_id=account_id, name=account_id.title(), plan=plan
        )
    for account_id, application_id in (
        ("acme", "acme-web"),
        ("acme", "acme-mobile"),
        ("globex", "globex-web"),
    ):
        await services.administration.create_application.execute(
            operator, account_id=account_id, application_id=application_id, name=application_id
        )


@pytest.fixture
def key_for(services: Services, operator: Principal, tenants: None) -> KeyFactory:
    """Issue a real key through the operator and return the principal it authenticates as."""

    async def issue(
        account: str,
        application: str | None = None,
        scopes: Iterable[Scope] = (Scope.RECORD, Scope.READ),
    ) -> KeyHolder:
        issued = await services.administration.issue_api_key.execute(
            operator, account_id=account, application_id=application, scopes=frozenset(scopes)
        )
        principal = await services.access.authenticate.execute(issued.secret)
        assert isinstance(principal, KeyHolder)
        return principal

    return issue


@pytest.fixture
def record(services: Services) -> Recorder:
    """Record one event; `success` defaults to True and `action` to auth.login."""

    async def record_one(
        principal: Principal,
        application: str,
        action: str = "auth.login",
        success: bool = True,
        **fields: str,
    ) -> AuditEntry:
        event = AuditEvent(application=application, action=action, success=success, **fields)
        return await services.recording.record.execute(principal, event)

    return record_one


@pytest.fixture
async def audited(services: Services, entries: InMemoryAuditEntries) -> AsyncIterator[Audited]:
    """The entries of one action once every event emitted so far is stored, in the order
    they were stored (the clock stands still, and ids come from delivery ids)."""
    services.emitter.start()

    async def of(action: str) -> list[AuditEntry]:
        await services.emitter.drain()
        return [e for e in entries.entries.values() if e.action == action]

    yield of
    await services.emitter.stop()
