"""Use cases: request an export link, and download through it.

Download is enforced here, not only in a UI: a link needs the EXPORT scope (or the
operator) and an account whose *current* plan allows download, and both are checked again
when the link is used, so a plan downgrade or a revoked key closes links already handed out.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from application.criteria import EntryCriteria, LogFilter
from application.errors import Forbidden
from application.export_grant import ExportFormat, ExportGrant, InvalidExportLink
from application.ports import ApiKeys, AuditEntryRepository, Clock, ExportLinks, Seals
from application.principal import Origin, Principal
from application.rate_limit import RateLimiter
from application.self_audit import SelfAudit
from application.tenancy import Directory, criteria_for_reading, plan_of
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.integrity import Seal
from domain.plan import PlanCatalog
from domain.tenancy import Scope

EXPORT_NOT_IN_PLAN = "EXPORT_NOT_IN_PLAN"


@dataclass(frozen=True, slots=True)
class ExportLink:
    token: str
    format: ExportFormat
    expires_at: datetime


@dataclass(slots=True)
class Export:
    account: str
    format: ExportFormat
    entries: AsyncGenerator[AuditEntry, None]
    """Newest first, live entries only, read from the store in batches."""
    seals: Callable[[], AsyncIterator[Seal]]
    """Once the entries are read: the seals of the windows they came from, oldest first,
    so a verifier can check the file offline."""


class _Gate:
    """The checks both use cases share: scope, tenancy and the plan, as of now."""

    def __init__(self, *, directory: Directory, plans: PlanCatalog) -> None:
        self._directory = directory
        self._plans = plans

    async def criteria(self, principal: Principal, wanted: LogFilter) -> EntryCriteria:
        principal.require(Scope.EXPORT)  # the operator holds every scope
        criteria = await criteria_for_reading(principal, wanted, self._directory)
        if criteria.account is None:
            criteria = await self._account_of_application(criteria)
        await self._require_download(criteria.account)
        return criteria

    async def _account_of_application(self, criteria: EntryCriteria) -> EntryCriteria:
        """The operator may name only an application; an export is always of one account."""
        application = (
            None
            if criteria.application is None
            else await self._directory.application(criteria.application)
        )
        if application is None:
            raise InvalidField("filter.account", "name the account to export")
        return replace(criteria, account=application.account)

    async def _require_download(self, account_id: str | None) -> None:
        account = None if account_id is None else await self._directory.account(account_id)
        if account is None:
            raise Forbidden("the account cannot be exported")
        plan = plan_of(account, self._plans)
        if not plan.auditlog.can_download:
            raise Forbidden(
                f"the {plan.name} plan does not include audit log download",
                reason=EXPORT_NOT_IN_PLAN,
            )


def _as_filter(criteria: EntryCriteria) -> LogFilter:
    return LogFilter(
        account=criteria.account,
        application=criteria.application,
        actions=criteria.actions,
        email=criteria.email,
        success=criteria.success,
        since=criteria.since,
        until=criteria.until,
    )


class RequestExport:
    def __init__(
        self,
        *,
        directory: Directory,
        plans: PlanCatalog,
        clock: Clock,
        links: ExportLinks,
        self_audit: SelfAudit,
        link_ttl: timedelta,
        limiter: RateLimiter,
    ) -> None:
        self._limiter = limiter
        self._gate = _Gate(directory=directory, plans=plans)
        self._clock = clock
        self._links = links
        self._self_audit = self_audit
        self._ttl = link_ttl

    async def execute(
        self, principal: Principal, wanted: LogFilter, export_format: ExportFormat
    ) -> ExportLink:
        self._limiter.take(principal, "read")
        with self._self_audit.exported(principal, account=wanted.account) as record:
            criteria = await self._gate.criteria(principal, wanted)
            assert criteria.account is not None
            record.account = criteria.account
            grant = ExportGrant(
                key_id=principal.key_id,
                account=criteria.account,
                filter=_as_filter(criteria),
                format=export_format,
                expires_at=self._clock.now() + self._ttl,
            )
            record.reason = f"link created for {export_format.value}"
            return ExportLink(self._links.seal(grant), export_format, grant.expires_at)


class DownloadExport:
    def __init__(
        self,
        *,
        directory: Directory,
        plans: PlanCatalog,
        keys: ApiKeys,
        entries: AuditEntryRepository,
        seals: Seals,
        clock: Clock,
        links: ExportLinks,
        self_audit: SelfAudit,
        limiter: RateLimiter,
    ) -> None:
        self._seals = seals
        self._limiter = limiter
        self.rows_streamed = 0
        """Rows handed to downloads so far (for metrics)."""
        self._gate = _Gate(directory=directory, plans=plans)
        self._keys = keys
        self._entries = entries
        self._clock = clock
        self._links = links
        self._self_audit = self_audit

    async def execute(self, token: str, origin: Origin | None = None) -> Export:
        grant = self._links.open(token)
        if grant.expires_at <= self._clock.now():
            raise InvalidExportLink("this export link has expired")
        principal = await self._principal(grant, origin or Origin())
        self._limiter.take(principal, "read")
        with self._self_audit.exported(principal, account=grant.account, only_failures=True):
            criteria = await self._gate.criteria(principal, grant.filter)
        span = _Span()
        return Export(
            account=grant.account,
            format=grant.format,
            entries=self._stream(principal, criteria, grant.format, span),
            seals=lambda: self._covering(grant.account, span),
        )

    async def _principal(self, grant: ExportGrant, origin: Origin) -> Principal:
        if grant.key_id is None:
            return Principal.operator(origin)
        key = await self._keys.get(grant.key_id)
        if key is not None and key.revoked:
            self._self_audit.key_rejected(key, origin)
        if key is None or key.revoked or key.account != grant.account:
            raise Forbidden("the API key that made this link is no longer valid")
        return Principal.of_key(key, origin)

    async def _stream(
        self,
        principal: Principal,
        criteria: EntryCriteria,
        export_format: ExportFormat,
        span: "_Span",
    ) -> AsyncGenerator[AuditEntry, None]:
        rows = 0
        with self._self_audit.exported(principal, account=criteria.account) as record:
            async for entry in self._entries.stream(criteria, now=self._clock.now()):
                rows += 1
                self.rows_streamed += 1
                span.include(entry.created_at)
                yield entry
            record.reason = f"downloaded {rows} entries as {export_format.value}"

    async def _covering(self, account: str, span: "_Span") -> AsyncIterator[Seal]:
        if span.oldest is None or span.newest is None:
            return
        for seal in await self._seals.in_range(account, span.oldest, span.newest + _MS):
            yield seal


_MS = timedelta(milliseconds=1)


class _Span:
    """The oldest and newest creation time seen in a stream."""

    def __init__(self) -> None:
        self.oldest: datetime | None = None
        self.newest: datetime | None = None

    def include(self, moment: datetime) -> None:
        self.oldest = moment if self.oldest is None else min(self.oldest, moment)
        self.newest = moment if self.newest is None else max(self.newest, moment)
