"""Use cases of the operator: accounts, applications and API keys. Each success is audited."""

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from auditlog_client import Party

from application import self_audit as actions
from application.access.principal import Principal
from application.access.tenancy import require_binding, require_operator
from application.errors import NotFound
from application.ports import Accounts, ApiKeys, Applications, Clock
from application.self_audit import (
    SelfAudit,
    account_party,
    application_party,
    key_party,
)
from domain import validation
from domain.credentials import KnownSecrets
from domain.errors import InvalidField, UnknownPlan
from domain.plan import PlanCatalog
from domain.tenancy import (
    Account,
    ApiKey,
    Application,
    Scope,
    account_application_id,
    compose_secret,
    hash_secret,
)


def _known_plan(plans: PlanCatalog, name: str) -> str:
    try:
        return plans.get(name).name
    except UnknownPlan:
        raise InvalidField("plan", "is not a plan this deployment offers") from None


class CreateAccount:
    def __init__(
        self,
        *,
        accounts: Accounts,
        plans: PlanCatalog,
        audit: SelfAudit,
        known_secrets: KnownSecrets | None = None,
    ) -> None:
        self._accounts = accounts
        self._plans = plans
        self._audit = audit
        self._known_secrets = known_secrets or KnownSecrets()

    async def execute(
        self, principal: Principal, *, account_id: str, name: str, plan: str
    ) -> Account:
        require_operator(principal)
        account = Account(id=account_id, name=name, plan=_known_plan(self._plans, plan))
        # Shown to the account's keys (viewer) and in its trail: never one of our secrets.
        validation.without_known_secrets(self._known_secrets, id=account.id, name=account.name)
        with self._audit.administered(
            actions.ACCOUNT_CREATED, principal, application=account_application_id(account.id)
        ) as record:
            await self._accounts.add(account)
            record.reason = f"plan {account.plan}"
            record.targets = [account_party(account.id)]
            record.metadata = {"plan": account.plan}
        return account


class ChangeAccountPlan:
    """Moves an account to another plan. Existing entries keep their `expires_at`; the
    account's log streams pause if the new plan has none (`after_change`)."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        plans: PlanCatalog,
        audit: SelfAudit,
        after_change: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self._accounts = accounts
        self._plans = plans
        self._audit = audit
        self._after_change = after_change

    async def execute(self, principal: Principal, *, account_id: str, plan: str) -> Account:
        require_operator(principal)
        validation.identifier(account_id, "account")
        new_plan = _known_plan(self._plans, plan)
        with self._audit.administered(
            actions.PLAN_CHANGED, principal, application=account_application_id(account_id)
        ) as record:
            before = await self._accounts.get(account_id)
            account = await self._accounts.set_plan(account_id, new_plan)
            if before is None or account is None:
                raise NotFound("account", account_id)
            record.reason = f"{before.plan} → {account.plan}"
            record.targets = [account_party(account.id)]
            record.metadata = {"from_plan": before.plan, "to_plan": account.plan}
        if self._after_change is not None:
            await self._after_change(account.id)
        return account


class CreateApplication:
    def __init__(
        self,
        *,
        accounts: Accounts,
        applications: Applications,
        audit: SelfAudit,
        known_secrets: KnownSecrets | None = None,
    ) -> None:
        self._accounts = accounts
        self._applications = applications
        self._audit = audit
        self._known_secrets = known_secrets or KnownSecrets()

    async def execute(
        self, principal: Principal, *, account_id: str, application_id: str, name: str
    ) -> Application:
        require_operator(principal)
        # Ids starting with `_` are reserved for each account's own application.
        validation.identifier(application_id, "id")
        application = Application(id=application_id, account=account_id, name=name)
        validation.without_known_secrets(
            self._known_secrets, id=application.id, name=application.name
        )
        if await self._accounts.get(account_id) is None:
            raise NotFound("account", account_id)
        with self._audit.administered(
            actions.APPLICATION_CREATED, principal, application=application.id
        ) as record:
            await self._applications.add(application)
            record.targets = [application_party(application.id), account_party(account_id)]
        return application


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str


class IssueApiKey:
    """Issues a key; the secret is returned once and only its hash is stored."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        applications: Applications,
        keys: ApiKeys,
        clock: Clock,
        audit: SelfAudit,
    ) -> None:
        self._accounts = accounts
        self._applications = applications
        self._keys = keys
        self._clock = clock
        self._audit = audit

    async def execute(
        self,
        principal: Principal,
        *,
        account_id: str,
        application_id: str | None,
        scopes: frozenset[Scope],
    ) -> IssuedKey:
        require_operator(principal)
        validation.identifier(account_id, "account")
        if application_id is not None:
            validation.identifier(application_id, "application")
        if not scopes:
            raise InvalidField("scopes", "must name at least one scope")
        if await self._accounts.get(account_id) is None:
            raise NotFound("account", account_id)
        await require_binding(account_id, application_id, self._applications)
        key_id = secrets.token_hex(8)
        secret = compose_secret(key_id, secrets.token_urlsafe(32))
        key = ApiKey(
            id=key_id,
            account=account_id,
            application=application_id,
            scopes=scopes,
            secret_hash=hash_secret(secret),
            revoked=False,
            created_at=self._clock.now(),
        )
        with self._audit.administered(
            actions.KEY_ISSUED, principal, application=key.home_application
        ) as record:
            await self._keys.add(key)
            listed = ",".join(sorted(s.value for s in scopes))
            record.reason = f"key {key.id} scopes {listed}"
            record.targets = _key_targets(key)
            record.metadata = {"scopes": listed}
        return IssuedKey(key=key, secret=secret)


class RevokeApiKey:
    def __init__(self, *, keys: ApiKeys, audit: SelfAudit) -> None:
        self._keys = keys
        self._audit = audit

    async def execute(self, principal: Principal, *, key_id: str) -> ApiKey:
        require_operator(principal)
        validation.key_id(key_id)
        with self._audit.administered(actions.KEY_REVOKED, principal) as record:
            key = await self._keys.revoke(key_id)
            if key is None:
                raise NotFound("API key", key_id)
            record.application = key.home_application
            record.reason = f"key {key.id}"
            record.targets = _key_targets(key)
        return key


def _key_targets(key: ApiKey) -> list[Party]:
    """The key, its account, and the application it is bound to if it is."""
    bound = [] if key.application is None else [application_party(key.application)]
    return [key_party(key.id), account_party(key.account), *bound]
