"""Use case: who the caller is, as a client (the portal) needs to know it."""

from dataclasses import dataclass

from application.access.principal import Principal
from application.access.tenancy import account_of
from application.ports import Accounts
from domain.tenancy import Account


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    account: Account | None
    """The key's account with its plan; None for the operator."""


class DescribeViewer:
    def __init__(self, *, accounts: Accounts) -> None:
        self._accounts = accounts

    async def execute(self, principal: Principal) -> Viewer:
        account_id = account_of(principal)
        account = None if account_id is None else await self._accounts.get(account_id)
        return Viewer(principal, account)
