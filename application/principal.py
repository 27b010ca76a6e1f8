"""Who is calling: the operator, or an API key with its tenant binding and scopes."""

from dataclasses import dataclass

from application.errors import Forbidden
from domain.tenancy import ApiKey, Scope


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    is_operator: bool
    key_id: str | None = None
    account: str | None = None
    application: str | None = None
    scopes: frozenset[Scope] = frozenset()

    @classmethod
    def operator(cls) -> "Principal":
        return cls(is_operator=True, scopes=frozenset(Scope))

    @classmethod
    def of_key(cls, key: ApiKey) -> "Principal":
        return cls(
            is_operator=False,
            key_id=key.id,
            account=key.account,
            application=key.application,
            scopes=key.scopes,
        )

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope.value} scope")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("only the operator may do this")
