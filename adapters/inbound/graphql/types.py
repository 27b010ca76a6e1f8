"""GraphQL output types and their mapping from domain objects."""

import enum
import json
from dataclasses import fields
from datetime import datetime
from typing import assert_never

import strawberry

from adapters.inbound.graphql.scalars import JsonValue
from application.access.plans import plan_of
from application.access.principal import KeyHolder, Operator, System
from application.administration import IssuedKey
from application.exporting.export import ExportLink
from application.exporting.grant import ExportFormat
from application.integrity.proving import Receipt
from application.reading.query import Page
from application.reading.viewer import Viewer
from domain.entry import AuditEntry
from domain.integrity import Findings
from domain.plan import Plan, PlanCatalog
from domain.tenancy import Account, ApiKey, Application, Scope

_SHOWN_OTHERWISE = frozenset({"occurred_at", "actor", "targets"})
_PLAIN_FIELDS = tuple(f.name for f in fields(AuditEntry) if f.name not in _SHOWN_OTHERWISE)


@strawberry.enum(name="Scope")
class ScopeEnum(enum.Enum):
    RECORD = "RECORD"
    READ = "READ"
    EXPORT = "EXPORT"
    STREAM = strawberry.enum_value("STREAM", description="Manage the account's log streams.")

    def to_domain(self) -> Scope:
        return Scope(self.value)


@strawberry.enum(name="ExportFormat")
class ExportFormatEnum(enum.Enum):
    CSV = "CSV"
    NDJSON = "NDJSON"

    def to_application(self) -> ExportFormat:
        return ExportFormat[self.value]


@strawberry.type(name="AuditLogExport")
class AuditLogExport:
    url: str = strawberry.field(description="Relative to this service; valid until expiresAt.")
    format: ExportFormatEnum
    expires_at: datetime

    @classmethod
    def of(cls, link: ExportLink) -> "AuditLogExport":
        return cls(
            url=f"/exports/{link.token}",
            format=ExportFormatEnum[link.format.name],
            expires_at=link.expires_at,
        )


@strawberry.type(name="Actor")
class ActorType:
    id: str
    type: str
    name: str | None


@strawberry.type(name="Target")
class TargetType:
    id: str
    type: str
    name: str | None


@strawberry.type(name="AuditLogEntry")
class AuditLogEntryType:
    id: strawberry.ID
    action: str
    email: str | None
    success: bool
    reason: str | None
    application: str
    account: str
    created_at: datetime = strawberry.field(
        description="When the entry was recorded: the order of the trail, and what since, "
        "until and retention go by."
    )
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    request_id: str | None
    occurred_at: datetime = strawberry.field(
        description="When the action happened, as the caller said (else when recorded)."
    )
    idempotency_key: str | None
    actor: ActorType | None
    targets: list[TargetType]
    metadata: JsonValue | None
    digest: str = strawberry.field(
        description="SHA-256 of the entry at ingestion: a receipt its seal will list."
    )

    @classmethod
    def of(cls, entry: AuditEntry) -> "AuditLogEntryType":
        # Every entry field is shown under its own name (strawberry writes it in camelCase).
        shown = {name: getattr(entry, name) for name in _PLAIN_FIELDS}
        actor = entry.actor
        return cls(
            **shown,
            occurred_at=entry.happened_at,
            actor=None
            if actor is None
            else ActorType(id=actor.id, type=actor.type, name=actor.name),
            targets=[TargetType(id=t.id, type=t.type, name=t.name) for t in entry.targets],
        )


@strawberry.type(name="IntegrityProblem")
class IntegrityProblemType:
    kind: str = strawberry.field(
        description="MODIFIED, MISSING, INJECTED, SEAL_MISSING, SEAL_INVALID, "
        "CHECKPOINT_INVALID or WITNESS_UNAVAILABLE."
    )
    entry_id: strawberry.ID | None
    window: datetime | None
    detail: str


@strawberry.type(name="IntegrityReport")
class IntegrityReportType:
    ok: bool
    windows_checked: int
    entries_verified: int
    unsealed_entries: int = strawberry.field(
        description="Entries in windows the sealer has not closed yet; not a problem."
    )
    problems: list[IntegrityProblemType]
    clock: str = strawberry.field(
        description="Whose clock expiry was judged by: database (a MongoDB server's, which "
        "its TTL monitor goes by) or service (this one's, which the embedded stores expire by)."
    )
    checked_at: datetime | None = strawberry.field(
        description="The moment on that clock; a missing entry or seal counts as expired if "
        "its expiresAt is before it plus AUDITLOG_SEAL_EXPIRY_TOLERANCE_SECONDS."
    )

    @classmethod
    def of(cls, findings: Findings) -> "IntegrityReportType":
        return cls(
            clock=findings.clock,
            checked_at=findings.checked_at,
            ok=findings.ok,
            windows_checked=findings.windows_checked,
            entries_verified=findings.entries_verified,
            unsealed_entries=findings.unsealed_entries,
            problems=[
                IntegrityProblemType(
                    kind=p.kind,
                    entry_id=None if p.entry_id is None else strawberry.ID(p.entry_id),
                    window=p.window,
                    detail=p.detail,
                )
                for p in findings.problems
            ],
        )


@strawberry.type(name="AuditLogProof")
class AuditLogProofType:
    entry: AuditLogEntryType
    leaf_index: int = strawberry.field(description="The entry's leaf among its seal's leaves.")
    leaf_count: int
    siblings: list[str] = strawberry.field(
        description="The sibling hashes (hex) from the entry's leaf up to the seal's Merkle "
        "root, leaf level first; a level where the node has no sibling adds none."
    )
    seal_id: str
    merkle_root: str
    checkpoint_sequence: int = strawberry.field(
        description="The signed checkpoint that lists the seal."
    )
    document: str = strawberry.field(
        description="The whole receipt as JSON (the seal's signed header, the checkpoint, "
        "the path): save it and check it alone with `auditlog-verify --proof`."
    )

    @classmethod
    def of(cls, receipt: Receipt) -> "AuditLogProofType":
        proof = receipt.proof
        return cls(
            entry=AuditLogEntryType.of(receipt.entry),
            leaf_index=proof.leaf_index,
            leaf_count=proof.leaf_count,
            siblings=list(proof.siblings),
            seal_id=proof.seal["id"],
            merkle_root=proof.seal["merkle_root"],
            checkpoint_sequence=proof.checkpoint["sequence"],
            document=json.dumps(proof.document(), sort_keys=True, separators=(",", ":")),
        )


@strawberry.type(name="RecordAuditEventsResult")
class RecordAuditEventsResult:
    recorded: int
    stored: strawberry.Private[list[AuditEntry]]

    @strawberry.field
    def entries(self) -> list[AuditLogEntryType]:
        # Built when asked for: most batch writers select only `recorded`.
        return [AuditLogEntryType.of(e) for e in self.stored]

    @classmethod
    def of(cls, entries: list[AuditEntry]) -> "RecordAuditEventsResult":
        return cls(recorded=len(entries), stored=entries)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(name="AuditLogEdge")
class AuditLogEdge:
    cursor: str
    node: AuditLogEntryType


@strawberry.type(name="AuditLogConnection")
class AuditLogConnection:
    edges: list[AuditLogEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page) -> "AuditLogConnection":
        edges = [
            AuditLogEdge(cursor=page.cursor_of(e), node=AuditLogEntryType.of(e))
            for e in page.entries
        ]
        end_cursor = edges[-1].cursor if edges else None
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end_cursor),
        )


@strawberry.type(name="Plan")
class PlanType:
    name: str
    retention_days: int
    can_download: bool
    can_stream: bool = strawberry.field(description="Whether accounts may have log streams.")

    @classmethod
    def of(cls, plan: Plan) -> "PlanType":
        return cls(
            name=plan.name,
            retention_days=plan.auditlog.retention.days,
            can_download=plan.auditlog.can_download,
            can_stream=plan.auditlog.can_stream,
        )


@strawberry.type(name="Account")
class AccountType:
    id: strawberry.ID
    name: str
    plan: PlanType

    @classmethod
    def of(cls, account: Account, plans: PlanCatalog) -> "AccountType":
        plan = PlanType.of(plan_of(account, plans))
        return cls(id=strawberry.ID(account.id), name=account.name, plan=plan)


@strawberry.type(name="Application")
class ApplicationType:
    id: strawberry.ID
    account: str
    name: str

    @classmethod
    def of(cls, application: Application) -> "ApplicationType":
        return cls(
            id=strawberry.ID(application.id), account=application.account, name=application.name
        )


@strawberry.type(name="ApiKey")
class ApiKeyType:
    id: strawberry.ID
    account: str
    application: str | None
    scopes: list[ScopeEnum]
    revoked: bool

    @classmethod
    def of(cls, key: ApiKey) -> "ApiKeyType":
        return cls(
            id=strawberry.ID(key.id),
            account=key.account,
            application=key.application,
            scopes=[ScopeEnum(s.value) for s in sorted(key.scopes, key=lambda s: s.value)],
            revoked=key.revoked,
        )


@strawberry.type(name="IssuedApiKey")
class IssuedApiKeyType:
    api_key: ApiKeyType
    secret: str = strawberry.field(description="Shown once; only its hash is stored.")

    @classmethod
    def of(cls, issued: IssuedKey) -> "IssuedApiKeyType":
        return cls(api_key=ApiKeyType.of(issued.key), secret=issued.secret)


@strawberry.type(name="Viewer")
class ViewerType:
    is_operator: bool
    account: AccountType | None
    application: str | None
    scopes: list[ScopeEnum]

    @classmethod
    def of(cls, viewer: Viewer, plans: PlanCatalog) -> "ViewerType":
        principal = viewer.principal
        match principal:
            case KeyHolder():
                is_operator, application = False, principal.application
            case Operator() | System():  # the service would be shown with the operator's rights
                is_operator, application = True, None
            case _:
                assert_never(principal)
        return cls(
            is_operator=is_operator,
            account=None if viewer.account is None else AccountType.of(viewer.account, plans),
            application=application,
            scopes=[ScopeEnum(s.value) for s in sorted(principal.scopes, key=lambda s: s.value)],
        )
