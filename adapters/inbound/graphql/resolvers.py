"""Query and Mutation: parse the arguments, call one use case, map the result."""

import asyncio
from datetime import datetime

import strawberry

from adapters.inbound.graphql.context import Context
from adapters.inbound.graphql.inputs import (
    AuditEventInput,
    AuditLogFilterInput,
    AuditLogOrderEnum,
    parse_batch,
)
from adapters.inbound.graphql.scalars import moment
from adapters.inbound.graphql.streams import StreamMutations, StreamQueries
from adapters.inbound.graphql.types import (
    AccountType,
    ApiKeyType,
    ApplicationType,
    AuditLogConnection,
    AuditLogEntryType,
    AuditLogExport,
    AuditLogProofType,
    ExportFormatEnum,
    IntegrityReportType,
    IssuedApiKeyType,
    PlanType,
    RecordAuditEventsResult,
    ScopeEnum,
    ViewerType,
)
from application.reading.criteria import LogFilter

Info = strawberry.Info[Context, None]
DEFAULT_PAGE_SIZE = 50
# Validating an event is tens of microseconds of CPU (credential patterns, IDNA): a batch
# larger than this is validated in a worker thread, so a full batch of 1000 does not hold
# the event loop (and every other request) for the time it takes.
INLINE_BATCH = 100


@strawberry.type
class Query(StreamQueries):
    @strawberry.field(
        description="Live entries, newest first (createdAt desc, id desc), or oldest first "
        "for pollers (settled entries only)."
    )
    async def audit_logs(
        self,
        info: Info,
        filter: AuditLogFilterInput | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        order: AuditLogOrderEnum | None = AuditLogOrderEnum.NEWEST_FIRST,
    ) -> AuditLogConnection:
        principal = await info.context.principal()
        wanted = LogFilter() if filter is None else filter.to_filter()
        page = await info.context.services.reading.query.execute(
            principal,
            wanted,
            first=DEFAULT_PAGE_SIZE if first is None else first,
            after=after,
            order=(order or AuditLogOrderEnum.NEWEST_FIRST).to_application(),
        )
        return AuditLogConnection.of(page)

    @strawberry.field(
        description="A short-lived link to download the filtered entries, newest first. "
        "Needs the EXPORT scope and a plan with download."
    )
    async def export_audit_logs(
        self,
        info: Info,
        filter: AuditLogFilterInput | None = None,
        format: ExportFormatEnum = ExportFormatEnum.NDJSON,
    ) -> AuditLogExport:
        principal = await info.context.principal()
        wanted = LogFilter() if filter is None else filter.to_filter()
        link = await info.context.services.export.request.execute(
            principal, wanted, format.to_application()
        )
        return AuditLogExport.of(link)

    @strawberry.field(description="Who the credentials belong to: the account, its plan, scopes.")
    async def viewer(self, info: Info) -> ViewerType:
        services = info.context.services
        viewer = await services.reading.describe_viewer.execute(await info.context.principal())
        return ViewerType.of(viewer, services.plans)

    @strawberry.field(
        description="Check an account's trail against its signed seals: READ for a key's own "
        "account, the operator for any (naming it)."
    )
    async def verify_audit_logs(
        self,
        info: Info,
        account: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> IntegrityReportType:
        findings = await info.context.services.reading.verify.execute(
            await info.context.principal(),
            account=None if account is None else str(account),
            since=moment(since, "since"),
            until=moment(until, "until"),
        )
        return IntegrityReportType.of(findings)

    @strawberry.field(
        description="A receipt for one sealed entry that anyone can check alone against the "
        "published keys: READ on the entry (a key bound to one application may have one for "
        "its own entries); BAD_USER_INPUT on `id` while the entry is not sealed yet."
    )
    async def audit_log_proof(self, info: Info, id: strawberry.ID) -> AuditLogProofType:
        receipt = await info.context.services.reading.prove.execute(
            await info.context.principal(), str(id)
        )
        return AuditLogProofType.of(receipt)

    @strawberry.field(description="The plans this deployment offers.")
    async def plans(self, info: Info) -> list[PlanType]:
        await info.context.principal()
        return [PlanType.of(plan) for plan in info.context.services.plans.all()]


@strawberry.type
class Mutation(StreamMutations):
    # The inputs arrive as EventInputValue (inputs.py), read into events after authentication.
    @strawberry.mutation(description="Append one entry. Its account is its application's.")
    async def record_audit_event(self, info: Info, input: AuditEventInput) -> AuditLogEntryType:
        principal = await info.context.principal()
        entry = await info.context.services.recording.record.execute(principal, input.to_event())
        return AuditLogEntryType.of(entry)

    @strawberry.mutation(
        description="Append 1 to 1000 entries, all or nothing, in one insert. An error about "
        "one input names it in extensions.index."
    )
    async def record_audit_events(
        self, info: Info, inputs: list[AuditEventInput]
    ) -> RecordAuditEventsResult:
        principal = await info.context.principal()
        events = (
            parse_batch(inputs)
            if len(inputs) <= INLINE_BATCH
            else await asyncio.to_thread(parse_batch, inputs)
        )
        entries = await info.context.services.recording.record_many.execute(principal, events)
        return RecordAuditEventsResult.of(entries)

    @strawberry.mutation(description="Operator only.")
    async def create_account(
        self,
        info: Info,
        id: strawberry.ID,
        name: str,
        plan: str,
    ) -> AccountType:
        services = info.context.services
        account = await services.administration.create_account.execute(
            await info.context.principal(), account_id=str(id), name=name, plan=plan
        )
        return AccountType.of(account, services.plans)

    @strawberry.mutation(description="Operator only. Existing entries keep their expiresAt.")
    async def change_account_plan(
        self, info: Info, account: strawberry.ID, plan: str
    ) -> AccountType:
        services = info.context.services
        updated = await services.administration.change_account_plan.execute(
            await info.context.principal(), account_id=str(account), plan=plan
        )
        return AccountType.of(updated, services.plans)

    @strawberry.mutation(description="Operator only.")
    async def create_application(
        self,
        info: Info,
        account: strawberry.ID,
        id: strawberry.ID,
        name: str,
    ) -> ApplicationType:
        application = await info.context.services.administration.create_application.execute(
            await info.context.principal(),
            account_id=str(account),
            application_id=str(id),
            name=name,
        )
        return ApplicationType.of(application)

    @strawberry.mutation(description="Operator only. The secret is returned once.")
    async def issue_api_key(
        self,
        info: Info,
        account: strawberry.ID,
        application: strawberry.ID | None = None,
        *,
        scopes: list[ScopeEnum],
    ) -> IssuedApiKeyType:
        issued = await info.context.services.administration.issue_api_key.execute(
            await info.context.principal(),
            account_id=str(account),
            application_id=None if application is None else str(application),
            scopes=frozenset(scope.to_domain() for scope in scopes),
        )
        return IssuedApiKeyType.of(issued)

    @strawberry.mutation(description="Operator only. A revoked key is refused at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyType:
        key = await info.context.services.administration.revoke_api_key.execute(
            await info.context.principal(), key_id=str(id)
        )
        return ApiKeyType.of(key)
