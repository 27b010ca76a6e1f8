"""Who is calling (the operator, an API key with its tenant and scopes, or the service itself),
and from where."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

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


_EVERY_SCOPE = frozenset(Scope)


@dataclass(frozen=True, slots=True, kw_only=True)
class Operator:
    """Whoever holds the operator secret: every scope, every tenant, administration."""

    origin: Origin = field(default_factory=Origin)

    @property
    def scopes(self) -> frozenset[Scope]:
        return _EVERY_SCOPE


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyHolder:
    """An API key's holder: its account, the one application it may be bound to, its scopes."""

    key_id: str
    account: str
    application: str | None = None
    scopes: frozenset[Scope]
    origin: Origin = field(default_factory=Origin)

    @classmethod
    def of(cls, key: ApiKey, origin: Origin | None = None) -> "KeyHolder":
        return cls(
            key_id=key.id,
            account=key.account,
            application=key.application,
            scopes=key.scopes,
            origin=origin or Origin(),
        )

    @property
    def home_application(self) -> str:
        """Where this key's own events go: its application, else its account's reserved one."""
        return home_application(self.account, self.application)


_NOWHERE = Origin()


@dataclass(frozen=True, slots=True)
class System:
    """The service itself, recording its own audit events (the interceptor's sink).

    It has the operator's rights (every scope, any tenant; application/access/tenancy.py says so
    where it decides), is never rate-limited, and is no request's: its origin is empty."""

    @property
    def origin(self) -> Origin:
        return _NOWHERE

    @property
    def scopes(self) -> frozenset[Scope]:
        return _EVERY_SCOPE


Principal: TypeAlias = Operator | KeyHolder | System
"""Who is calling: a closed set, so a `match` over it that forgets a case fails mypy."""
