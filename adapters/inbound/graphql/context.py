"""The per-request GraphQL context: the use cases and the caller, authenticated on first use."""

from application.access.origin import Origin
from application.access.principal import Principal
from application.errors import RateLimited, Unauthenticated
from application.services import Services


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, or None."""
    if not authorization:
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


class Context:
    def __init__(self, services: Services, authorization: str | None, origin: Origin) -> None:
        self.services = services
        self._secret = bearer_secret(authorization)
        self._origin = origin
        self._principal: Principal | None = None
        self._refused: Unauthenticated | RateLimited | None = None

    async def principal(self) -> Principal:
        """The authenticated caller; raises `Unauthenticated`.

        Decided once per request, refusal included (a throttled address too), so a request
        with several fields is looked up, counted and audited once."""
        if self._refused is not None:
            raise self._refused
        if self._principal is None:
            try:
                self._principal = await self.services.access.authenticate.execute(
                    self._secret, self._origin
                )
            except (Unauthenticated, RateLimited) as refused:
                self._refused = refused
                raise
        return self._principal
