"""Who is calling (the operator, or an API key with its tenant and scopes), and from where."""

from collections.abc import Callable
from dataclasses import dataclass, field

from application.errors import Forbidden
from domain import validation
from domain.errors import InvalidField
from domain.tenancy import ApiKey, Scope, home_application


class Origin:
    """Where a request came from, as far as it can be told; for the service's own audit trail.

    The values are checked against the entry rules only when first read: most requests
    never need them, and checking a user agent for credentials is not free. What fails the
    rules is dropped, so a request's own audit entry cannot fail because its user agent is odd.
    """

    __slots__ = ("_checked", "_raw")

    def __init__(
        self, ip: str | None = None, user_agent: str | None = None, request_id: str | None = None
    ) -> None:
        self._raw = (ip, user_agent, request_id)
        self._checked: tuple[str | None, str | None, str | None] | None = None

    def _values(self) -> tuple[str | None, str | None, str | None]:
        if self._checked is None:
            ip, user_agent, request_id = self._raw
            self._checked = (
                _or_none(validation.ip_address, ip),
                _or_none(
                    lambda v: validation.free_text(v, "user_agent", validation.USER_AGENT_MAX),
                    user_agent,
                ),
                _or_none(
                    lambda v: validation.free_text(v, "request_id", validation.REQUEST_ID_MAX),
                    request_id,
                ),
            )
        return self._checked

    @property
    def ip(self) -> str | None:
        return self._values()[0]

    @property
    def user_agent(self) -> str | None:
        return self._values()[1]

    @property
    def request_id(self) -> str | None:
        return self._values()[2]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Origin) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        ip, user_agent, request_id = self._values()
        return f"Origin(ip={ip!r}, user_agent={user_agent!r}, request_id={request_id!r})"


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
        return home_application(self.account, self.application)

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope.value} scope")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("only the operator may do this")
