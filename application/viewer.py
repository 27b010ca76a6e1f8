"""Use case: who the caller is, as a client (the portal) needs to know it."""

from dataclasses import dataclass

from application.ports import Accounts
from application.principal import KeyHolder, Principal
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
        account = None
        if isinstance(principal, KeyHolder):
            account = await self._accounts.get(principal.account)
        return Viewer(principal, account)
