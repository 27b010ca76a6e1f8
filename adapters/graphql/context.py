"""The per-request GraphQL context: the use cases and the caller, authenticated on first use."""

from strawberry.fastapi import BaseContext

from application.principal import Principal
from application.services import Services


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, or None."""
    if not authorization:
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


class Context(BaseContext):
    def __init__(self, services: Services, authorization: str | None) -> None:
        super().__init__()
        self.services = services
        self._secret = bearer_secret(authorization)
        self._principal: Principal | None = None

    async def principal(self) -> Principal:
        """The authenticated caller; raises `Unauthenticated`. Looked up once per request."""
        if self._principal is None:
            self._principal = await self.services.authenticate.execute(self._secret)
        return self._principal
