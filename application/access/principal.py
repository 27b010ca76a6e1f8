"""Who is calling: the operator, an API key with its tenant and scopes, or the service itself."""

from dataclasses import dataclass, field
from typing import TypeAlias

from application.access.origin import Origin
from domain.tenancy import ApiKey, Scope, home_application

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
