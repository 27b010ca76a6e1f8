"""Access: what each principal may do, and to which account or application.

Every such question the use cases ask is answered here: which scope it holds, whether it
may administer, which application a key may be bound to, which application it may record
for, what it may read, which account it may verify or export (whether the account's plan
allows download is application/access/plans.py's), which key a download acts as, whether a
key sees seals, and which application its own events go to. The use cases keep their flow
and call these; the format of an id (the reserved `_<account id>`) is the domain's.
"""

from dataclasses import replace
from typing import assert_never

from application.access.origin import Origin
from application.access.plans import require_download
from application.access.principal import KeyHolder, Operator, Principal, System
from application.errors import Forbidden, NotFound
from application.exporting.grant import ExportGrant
from application.ports import Accounts, Applications
from application.reading.criteria import EntryCriteria, LogFilter
from domain.errors import InvalidField
from domain.plan import PlanCatalog
from domain.tenancy import (
    Account,
    ApiKey,
    Application,
    Scope,
    account_application_id,
    reserved_application_owner,
)

_NOT_YOURS = "this API key may not use that application"


class Directory:
    """Accounts and applications, including each account's reserved application."""

    def __init__(self, accounts: Accounts, applications: Applications) -> None:
        self.accounts = accounts
        self.applications = applications

    async def account(self, account_id: str) -> Account | None:
        return await self.accounts.get(account_id)

    async def application(self, application_id: str) -> Application | None:
        owner = reserved_application_owner(application_id)
        if owner is None:
            return await self.applications.get(application_id)
        if await self.accounts.get(owner) is None:
            return None
        return Application.account_level(owner)


def require_scope(principal: Principal, scope: Scope) -> None:
    """FORBIDDEN unless the principal holds the scope; the operator and the service hold every
    one."""
    match principal:
        case Operator() | System():
            return
        case KeyHolder():
            if scope not in principal.scopes:
                raise Forbidden(f"this API key lacks the {scope.value} scope")
        case _:
            assert_never(principal)


def require_operator(principal: Principal) -> None:
    """FORBIDDEN unless the operator (or the service, which has the operator's rights)."""
    match principal:
        case Operator() | System():
            return
        case KeyHolder():
            raise Forbidden("only the operator may do this")
        case _:
            assert_never(principal)


async def require_binding(
    account_id: str, application_id: str | None, applications: Applications
) -> None:
    """A key may be bound only to an application of its own account: NOT_FOUND otherwise."""
    if application_id is not None:
        application = await applications.get(application_id)
        if application is None or application.account != account_id:
            raise NotFound("application", f"{application_id} in account {account_id}")


def account_of(principal: Principal) -> str | None:
    """The one account a principal is confined to; None for the operator and the service."""
    match principal:
        case KeyHolder():
            return principal.account
        case Operator() | System():
            return None
        case _:
            assert_never(principal)


def bound_application(principal: Principal) -> str | None:
    """The one application a key is bound to; None for a key of the whole account, or the
    operator."""
    match principal:
        case KeyHolder():
            return principal.application
        case Operator() | System():
            return None
        case _:
            assert_never(principal)


def sees_seals(principal: Principal) -> bool:
    """Seals list every entry of the account's windows (ids and digests of every
    application's entries), which a key bound to one application may not see."""
    return bound_application(principal) is None


def events_application(principal: Principal, *, account: str | None) -> str | None:
    """Where the principal's own audited events go: a key's to its application, else its
    account's reserved one; the operator's (and the service's) to the reserved application
    of the account concerned, or nowhere if none is."""
    match principal:
        case KeyHolder():
            return principal.home_application
        case Operator() | System():
            return account and account_application_id(account)
        case _:
            assert_never(principal)


async def application_for_recording(
    principal: Principal, application_id: str, directory: Directory
) -> Application:
    """The application an entry is recorded for, if the principal may record for it.

    A key is told FORBIDDEN for an application that does not exist too, so it cannot
    learn which ids exist in other accounts.
    """
    application = await directory.application(application_id)
    match principal:
        case Operator() | System():  # the service records its own events as the operator would
            if application is None:
                raise NotFound("application", application_id)
            return application
        case KeyHolder():
            if (
                application is None
                or application.account != principal.account
                or (principal.application is not None and principal.application != application.id)
            ):
                raise Forbidden(_NOT_YOURS)
            return application
        case _:
            assert_never(principal)


async def criteria_for_reading(
    principal: Principal, wanted: LogFilter, directory: Directory
) -> EntryCriteria:
    """Narrow a filter to the principal's tenant; asking for another tenant is FORBIDDEN."""
    account: str | None
    match principal:
        case Operator() | System():  # the service reads as the operator would
            account, application = await _operator_scope(wanted, directory)
        case KeyHolder():
            account, application = await _key_scope(principal, wanted, directory)
        case _:
            assert_never(principal)
    return EntryCriteria(replace(wanted, account=account, application=application))


async def _operator_scope(wanted: LogFilter, directory: Directory) -> tuple[str | None, str | None]:
    if wanted.account is not None and await directory.account(wanted.account) is None:
        raise NotFound("account", wanted.account)
    if wanted.application is not None and await directory.application(wanted.application) is None:
        raise NotFound("application", wanted.application)
    return wanted.account, wanted.application


async def _key_scope(
    principal: KeyHolder, wanted: LogFilter, directory: Directory
) -> tuple[str, str | None]:
    if wanted.account is not None and wanted.account != principal.account:
        raise Forbidden("this API key may not read that account")
    if principal.application is not None:
        if wanted.application not in (None, principal.application):
            raise Forbidden(_NOT_YOURS)
        return principal.account, principal.application
    if wanted.application is not None:
        application = await directory.application(wanted.application)
        if application is None or application.account != principal.account:
            raise Forbidden(_NOT_YOURS)
    return principal.account, wanted.application


async def account_to_verify(principal: Principal, account: str | None, accounts: Accounts) -> str:
    """The account a verification covers: a key's own (it needs READ, and must not be bound
    to one application); the operator names it, and it must exist."""
    match principal:
        case KeyHolder():
            require_scope(principal, Scope.READ)
            if account not in (None, principal.account):
                raise Forbidden("this API key may not verify another account")
            if principal.application is not None:
                # Seals cover the whole account; the report would name other applications'
                # entries, which a key bound to one application may not read.
                raise Forbidden("verifying covers the whole account: use a key not bound "
                                "to one application")  # fmt: skip
            return principal.account
        case Operator() | System():  # the service verifies as the operator would
            if account is None:
                raise InvalidField("account", "name the account to verify")
            if await accounts.get(account) is None:
                raise NotFound("account", account)
            return account
        case _:
            assert_never(principal)


async def criteria_for_export(
    principal: Principal, wanted: LogFilter, directory: Directory, plans: PlanCatalog
) -> EntryCriteria:
    """What an export covers, as of now: it needs EXPORT, reads what the principal may
    read, is always of one account, and that account's current plan must allow download."""
    require_scope(principal, Scope.EXPORT)
    criteria = await criteria_for_reading(principal, wanted, directory)
    if criteria.account is None:
        # The operator may name only an application.
        application = (
            None
            if criteria.application is None
            else await directory.application(criteria.application)
        )
        if application is None:
            raise InvalidField("filter.account", "name the account to export")
        criteria = EntryCriteria(replace(criteria.filter, account=application.account))
    account = None if criteria.account is None else await directory.account(criteria.account)
    if account is None:
        raise Forbidden("the account cannot be exported")
    require_download(account, plans)
    return criteria


def link_holder(grant: ExportGrant, key: ApiKey | None, origin: Origin) -> Principal:
    """Who a download acts as: the operator, or the key that made the link (`key`, as
    stored now), while it is unrevoked and of the link's account."""
    if grant.key_id is None:
        return Operator(origin=origin)
    if key is None or key.revoked or key.account != grant.account:
        raise Forbidden("the API key that made this link is no longer valid")
    return KeyHolder.of(key, origin)
