"""Tenancy rules: which applications a principal may record for, and what it may read."""

from typing import assert_never

from application.criteria import EntryCriteria, LogFilter
from application.errors import Forbidden, NotFound, PlanNotConfigured
from application.ports import Accounts, Applications
from application.principal import KeyHolder, Operator, Principal, System
from domain.errors import UnknownPlan
from domain.plan import Plan, PlanCatalog
from domain.tenancy import Account, Application, reserved_application_owner

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
    return EntryCriteria(
        account=account,
        application=application,
        actions=wanted.actions,
        email=wanted.email,
        success=wanted.success,
        since=wanted.since,
        until=wanted.until,
    )


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


def plan_of(account: Account, plans: PlanCatalog) -> Plan:
    """The account's plan; PlanNotConfigured if this deployment no longer defines it."""
    try:
        return plans.get(account.plan)
    except UnknownPlan:
        raise PlanNotConfigured(account.plan) from None
