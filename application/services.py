"""The use cases, wired to one set of ports: what the entrypoints hand to the adapters."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from application.access.authenticate import Authenticate
from application.access.rate_limit import (
    AuthFailureLimits,
    FailedAuthentications,
    RateLimiter,
    RateLimits,
)
from application.access.tenancy import Directory
from application.administration import (
    ChangeAccountPlan,
    CreateAccount,
    CreateApplication,
    IssueApiKey,
    RevokeApiKey,
)
from application.exporting.export import DownloadExport, RequestExport
from application.integrity.proving import ProveEntry
from application.integrity.sealing import SealingConfig, SealTrail
from application.integrity.verify import VerifyAuditLogs, WitnessView
from application.interceptor import AuditEmitter, Auditor, EmitterConfig, RecordingSink
from application.ports import (
    Accounts,
    ApiKeys,
    Applications,
    AuditEntryRepository,
    Checkpoints,
    Clock,
    DatabaseClock,
    ExportLinks,
    IdGenerator,
    SealerState,
    SealKeyPair,
    Seals,
    Telemetry,
)
from application.reading.query import QueryAuditLogs
from application.reading.viewer import DescribeViewer
from application.recording import Ingestion, RecordAuditEvent, RecordAuditEvents
from application.self_audit import SelfAudit
from application.streams.service import StreamServices, StreamWiring
from domain.credentials import KnownSecrets
from domain.entry import OccurrenceWindow
from domain.plan import PlanCatalog


@dataclass(frozen=True, slots=True, kw_only=True)
class Ports:
    entries: AuditEntryRepository
    accounts: Accounts
    applications: Applications
    keys: ApiKeys
    seals: Seals
    sealer_state: SealerState
    checkpoints: Checkpoints
    clock: Clock
    ids: IdGenerator
    witnesses: Sequence[WitnessView] = ()
    """The witnesses the verifier checks the store against (AUDITLOG_WITNESS_URLS)."""
    database_clock: DatabaseClock | None = None
    """Where the store's own expiry clock can be read (a real MongoDB): what the verifier
    judges expiry by. None: `clock`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """Storing entries: one event, or a batch all or nothing."""

    record: RecordAuditEvent
    record_many: RecordAuditEvents


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """Reading the trail: pages of entries, who the caller is, whether the trail is intact,
    and a receipt for one entry."""

    query: QueryAuditLogs
    describe_viewer: DescribeViewer
    verify: VerifyAuditLogs
    prove: ProveEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class Exporting:
    """Downloads: a signed link asked for, then the download it allows."""

    request: RequestExport
    download: DownloadExport


@dataclass(frozen=True, slots=True, kw_only=True)
class Administration:
    """The operator's changes to tenants: accounts and their plans, applications, API keys."""

    create_account: CreateAccount
    change_account_plan: ChangeAccountPlan
    create_application: CreateApplication
    issue_api_key: IssueApiKey
    revoke_api_key: RevokeApiKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Access:
    """Who is calling: a bearer secret turned into a principal, repeated failures throttled."""

    authenticate: Authenticate


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """The use cases by capability, as the inbound adapters call them; then what they all
    share, and the parts the entrypoint runs beside the requests."""

    recording: Recording
    reading: Reading
    export: Exporting
    administration: Administration
    access: Access
    plans: PlanCatalog
    """What the adapters show of the plans (GraphQL `plans`, an account's plan)."""
    limiter: RateLimiter
    """One per service, not per capability: recording, reading, export and verification
    spend from the same buckets."""
    emitter: AuditEmitter
    """Carries the service's own audit events; the entrypoint starts and stops it."""
    auditor: Auditor
    """Declares the service's own flows audited, over `emitter`."""
    self_audit: SelfAudit
    """The service's own events; the entrypoint flushes the rejections it holds at shutdown."""
    seal_trail: SealTrail
    """The sealing pass the entrypoint's sealer loop repeats."""
    streams: StreamServices | None = None
    """Log streams, when the store has a place for them (every store the service runs on;
    use-case tests that do not need them leave them out)."""

    @classmethod
    def build(
        cls,
        ports: Ports,
        *,
        plans: PlanCatalog,
        operator_token: str,
        export_links: ExportLinks,
        seal_keys: SealKeyPair,
        telemetry: Telemetry,
        # Configuration: every value from the settings (entrypoints/config.py), none defaulted.
        sealing: SealingConfig,
        export_link_ttl: timedelta,
        interceptor: EmitterConfig,
        rate_limits: RateLimits,
        auth_failure_limits: AuthFailureLimits,
        occurrence: OccurrenceWindow,
        settle: timedelta,
        sealer_id: str = "sealer",
        known_secrets: KnownSecrets | None = None,
        streams: StreamWiring | None = None,
    ) -> "Services":
        # Text that holds one of these is never stored; the operator token at the least.
        known = known_secrets or KnownSecrets(operator_token)
        directory = Directory(ports.accounts, ports.applications)
        limiter = RateLimiter(rate_limits, telemetry=telemetry)
        ingestion = Ingestion(
            directory=directory,
            plans=plans,
            clock=ports.clock,
            ids=ports.ids,
            limiter=limiter,
            known_secrets=known,
            occurrence=occurrence,
        )
        record_many = RecordAuditEvents(
            entries=ports.entries, ingestion=ingestion, telemetry=telemetry
        )
        # The service records its own events through the same interceptor it offers.
        emitter = AuditEmitter(
            RecordingSink(record_many), interceptor, telemetry=telemetry, now=ports.clock.now
        )
        auditor = Auditor(emitter, telemetry=telemetry)
        audit = SelfAudit(auditor, telemetry=telemetry)
        failures = FailedAuthentications(auth_failure_limits, telemetry=telemetry)
        streaming = (
            None
            if streams is None
            else StreamServices.build(
                streams,
                entries=ports.entries,
                directory=directory,
                plans=plans,
                audit=audit,
                signer=seal_keys,
                clock=ports.clock,
            )
        )
        return cls(
            recording=Recording(
                record=RecordAuditEvent(
                    entries=ports.entries, ingestion=ingestion, telemetry=telemetry
                ),
                record_many=record_many,
            ),
            reading=Reading(
                query=QueryAuditLogs(
                    entries=ports.entries,
                    directory=directory,
                    clock=ports.clock,
                    self_audit=audit,
                    limiter=limiter,
                    settle=settle,
                ),
                describe_viewer=DescribeViewer(accounts=ports.accounts),
                verify=VerifyAuditLogs(
                    entries=ports.entries,
                    seals=ports.seals,
                    checkpoints=ports.checkpoints,
                    keys=seal_keys,
                    accounts=ports.accounts,
                    clock=ports.clock,
                    limiter=limiter,
                    self_audit=audit,
                    expiry_tolerance=sealing.expiry_tolerance,
                    database_clock=ports.database_clock,
                    witnesses=ports.witnesses,
                ),
                prove=ProveEntry(
                    entries=ports.entries,
                    seals=ports.seals,
                    checkpoints=ports.checkpoints,
                    directory=directory,
                    clock=ports.clock,
                    limiter=limiter,
                    self_audit=audit,
                ),
            ),
            export=Exporting(
                request=RequestExport(
                    directory=directory,
                    plans=plans,
                    clock=ports.clock,
                    links=export_links,
                    self_audit=audit,
                    link_ttl=export_link_ttl,
                    limiter=limiter,
                ),
                download=DownloadExport(
                    directory=directory,
                    plans=plans,
                    keys=ports.keys,
                    entries=ports.entries,
                    seals=ports.seals,
                    checkpoints=ports.checkpoints,
                    signer=seal_keys,
                    clock=ports.clock,
                    links=export_links,
                    self_audit=audit,
                    limiter=limiter,
                    telemetry=telemetry,
                ),
            ),
            administration=Administration(
                create_account=CreateAccount(
                    accounts=ports.accounts, plans=plans, audit=audit, known_secrets=known
                ),
                change_account_plan=ChangeAccountPlan(
                    accounts=ports.accounts,
                    plans=plans,
                    audit=audit,
                    # A downgrade pauses the account's streams.
                    after_change=None if streaming is None else streaming.admin.pause_for_plan,
                ),
                create_application=CreateApplication(
                    accounts=ports.accounts,
                    applications=ports.applications,
                    audit=audit,
                    known_secrets=known,
                ),
                issue_api_key=IssueApiKey(
                    accounts=ports.accounts,
                    applications=ports.applications,
                    keys=ports.keys,
                    clock=ports.clock,
                    audit=audit,
                ),
                revoke_api_key=RevokeApiKey(keys=ports.keys, audit=audit),
            ),
            access=Access(
                authenticate=Authenticate(
                    keys=ports.keys,
                    operator_token=operator_token,
                    self_audit=audit,
                    failures=failures,
                ),
            ),
            plans=plans,
            limiter=limiter,
            emitter=emitter,
            auditor=auditor,
            self_audit=audit,
            seal_trail=SealTrail(
                entries=ports.entries,
                seals=ports.seals,
                state=ports.sealer_state,
                checkpoints=ports.checkpoints,
                signer=seal_keys,
                clock=ports.clock,
                holder=sealer_id,
                config=sealing,
            ),
            streams=streaming,
        )
