"""Who is calling (the operator, or an API key with its tenant and scopes), and from where."""

from collections.abc import Callable
from dataclasses import dataclass, field

from application.errors import Forbidden
from domain import validation
from domain.errors import InvalidField
from domain.tenancy import ApiKey, Scope, account_application_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where a request came from, as far as it can be told; for the service's own audit trail."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, *, ip: str | None, user_agent: str | None, request_id: str | None) -> "Origin":
        """Keep what passes the entry rules and drop the rest: a request's own audit entry
        must not fail because its user agent is odd."""
        return cls(
            ip=_or_none(validation.ip_address, ip),
            user_agent=_or_none(
                lambda v: validation.free_text(v, "user_agent", validation.USER_AGENT_MAX),
                user_agent,
            ),
            request_id=_or_none(
                lambda v: validation.free_text(v, "request_id", validation.REQUEST_ID_MAX),
                request_id,
            ),
        )


def _or_none(check: Callable[[str], str], value: str | None) -> str | None:
    if not value:
        return None
    try:
        return check(value)
    except InvalidField:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    is_operator: bool
    is_system: bool = False
    """The service itself (its own audit events): operator rights, never rate-limited."""
    key_id: str | None = None
    account: str | None = None
    application: str | None = None
    scopes: frozenset[Scope] = frozenset()
    origin: Origin = field(default_factory=Origin)

    @classmethod
    def operator(cls, origin: Origin | None = None) -> "Principal":
        return cls(is_operator=True, scopes=frozenset(Scope), origin=origin or Origin())

    @classmethod
    def system(cls) -> "Principal":
        return cls(is_operator=True, is_system=True, scopes=frozenset(Scope))

    @classmethod
    def of_key(cls, key: ApiKey, origin: Origin | None = None) -> "Principal":
        return cls(
            is_operator=False,
            key_id=key.id,
            account=key.account,
            application=key.application,
            scopes=key.scopes,
            origin=origin or Origin(),
        )

    @property
    def home_application(self) -> str | None:
        """Where this key's own events go: its application, else its account's reserved one."""
        if self.account is None:
            return None
        return self.application or account_application_id(self.account)

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope.value} scope")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("only the operator may do this")
