"""The use cases, wired to one set of ports: what the entrypoints hand to the adapters."""

from dataclasses import dataclass

from application.admin import (
    ChangeAccountPlan,
    CreateAccount,
    CreateApplication,
    IssueApiKey,
    RevokeApiKey,
)
from application.authenticate import Authenticate
from application.ports import (
    Accounts,
    ApiKeys,
    Applications,
    AuditEntryRepository,
    Clock,
    IdGenerator,
)
from application.query import QueryAuditLogs
from application.record import RecordAuditEvent
from domain.plan import PlanCatalog


@dataclass(frozen=True, slots=True, kw_only=True)
class Ports:
    entries: AuditEntryRepository
    accounts: Accounts
    applications: Applications
    keys: ApiKeys
    clock: Clock
    ids: IdGenerator


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    plans: PlanCatalog
    authenticate: Authenticate
    record: RecordAuditEvent
    query: QueryAuditLogs
    create_account: CreateAccount
    change_account_plan: ChangeAccountPlan
    create_application: CreateApplication
    issue_api_key: IssueApiKey
    revoke_api_key: RevokeApiKey

    @classmethod
    def build(cls, ports: Ports, *, plans: PlanCatalog, operator_token: str) -> "Services":
        return cls(
            plans=plans,
            authenticate=Authenticate(keys=ports.keys, operator_token=operator_token),
            record=RecordAuditEvent(
                entries=ports.entries,
                accounts=ports.accounts,
                applications=ports.applications,
                plans=plans,
                clock=ports.clock,
                ids=ports.ids,
            ),
            query=QueryAuditLogs(
                entries=ports.entries,
                accounts=ports.accounts,
                applications=ports.applications,
                clock=ports.clock,
            ),
            create_account=CreateAccount(accounts=ports.accounts, plans=plans),
            change_account_plan=ChangeAccountPlan(accounts=ports.accounts, plans=plans),
            create_application=CreateApplication(
                accounts=ports.accounts, applications=ports.applications
            ),
            issue_api_key=IssueApiKey(
                accounts=ports.accounts,
                applications=ports.applications,
                keys=ports.keys,
                clock=ports.clock,
            ),
            revoke_api_key=RevokeApiKey(keys=ports.keys),
        )
