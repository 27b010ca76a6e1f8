"""Tenancy rules: which applications a principal may record for, and what it may read."""

from application.criteria import EntryCriteria, LogFilter
from application.errors import Forbidden, NotFound
from application.ports import Accounts, Applications
from application.principal import Principal
from domain.tenancy import Application

_NOT_YOURS = "this API key may not use application {!r}"


async def application_for_recording(
    principal: Principal, application_id: str, applications: Applications
) -> Application:
    """The application an entry is recorded for, if the principal may record for it.

    A key is told FORBIDDEN for an application that does not exist too, so it cannot
    learn which ids exist in other accounts.
    """
    application = await applications.get(application_id)
    if principal.is_operator:
        if application is None:
            raise NotFound("application", application_id)
        return application
    if (
        application is None
        or application.account != principal.account
        or (principal.application is not None and principal.application != application.id)
    ):
        raise Forbidden(_NOT_YOURS.format(application_id))
    return application


async def criteria_for_reading(
    principal: Principal,
    wanted: LogFilter,
    accounts: Accounts,
    applications: Applications,
) -> EntryCriteria:
    """Narrow a filter to the principal's tenant; asking for another tenant is FORBIDDEN."""
    if principal.is_operator:
        account, application = await _operator_scope(wanted, accounts, applications)
    else:
        account, application = await _key_scope(principal, wanted, applications)
    return EntryCriteria(
        account=account,
        application=application,
        actions=wanted.actions,
        email=wanted.email,
        success=wanted.success,
        since=wanted.since,
        until=wanted.until,
    )


async def _operator_scope(
    wanted: LogFilter, accounts: Accounts, applications: Applications
) -> tuple[str | None, str | None]:
    if wanted.account is not None and await accounts.get(wanted.account) is None:
        raise NotFound("account", wanted.account)
    if wanted.application is not None and await applications.get(wanted.application) is None:
        raise NotFound("application", wanted.application)
    return wanted.account, wanted.application


async def _key_scope(
    principal: Principal, wanted: LogFilter, applications: Applications
) -> tuple[str, str | None]:
    assert principal.account is not None
    if wanted.account is not None and wanted.account != principal.account:
        raise Forbidden(f"this API key may not read account {wanted.account!r}")
    if principal.application is not None:
        if wanted.application not in (None, principal.application):
            raise Forbidden(_NOT_YOURS.format(wanted.application))
        return principal.account, principal.application
    if wanted.application is not None:
        application = await applications.get(wanted.application)
        if application is None or application.account != principal.account:
            raise Forbidden(_NOT_YOURS.format(wanted.application))
    return principal.account, wanted.application
