"""Use case: turn a bearer secret into a principal."""

import hmac

from application.errors import Unauthenticated
from application.ports import ApiKeys
from application.principal import Principal
from domain.tenancy import key_id_of


class Authenticate:
    """The operator token, or a live API key; anything else is UNAUTHENTICATED."""

    def __init__(self, *, keys: ApiKeys, operator_token: str) -> None:
        self._keys = keys
        self._operator_token = operator_token.encode()

    async def execute(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthenticated()
        if hmac.compare_digest(secret.encode(), self._operator_token):
            return Principal.operator()
        key_id = key_id_of(secret)
        key = None if key_id is None else await self._keys.get(key_id)
        if key is None or key.revoked or not key.matches(secret):
            raise Unauthenticated()
        return Principal.of_key(key)
