"""Use case: record one audit event."""

from application.errors import NotFound, PlanNotConfigured
from application.ports import Accounts, Applications, AuditEntryRepository, Clock, IdGenerator
from application.principal import Principal
from application.tenancy import application_for_recording
from domain.entry import AuditEntry, AuditEvent
from domain.errors import UnknownPlan
from domain.plan import PlanCatalog
from domain.tenancy import Scope


class RecordAuditEvent:
    """Authorise, resolve the account and its plan now, stamp, fix retention, insert."""

    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        accounts: Accounts,
        applications: Applications,
        plans: PlanCatalog,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._entries = entries
        self._accounts = accounts
        self._applications = applications
        self._plans = plans
        self._clock = clock
        self._ids = ids

    async def execute(self, principal: Principal, event: AuditEvent) -> AuditEntry:
        principal.require(Scope.RECORD)
        application = await application_for_recording(
            principal, event.application, self._applications
        )
        # The account is derived from the application, never taken from the caller.
        account = await self._accounts.get(application.account)
        if account is None:
            raise NotFound("account", application.account)
        try:
            plan = self._plans.get(account.plan)
        except UnknownPlan:
            raise PlanNotConfigured(account.plan) from None
        entry = AuditEntry.ingest(
            event,
            entry_id=self._ids.new_entry_id(),
            account=account.id,
            now=self._clock.now(),
            retention=plan.auditlog.retention,
        )
        await self._entries.add(entry)
        return entry
