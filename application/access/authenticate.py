"""Use case: turn a bearer secret into a principal."""

import hmac

from application.access.origin import Origin
from application.access.principal import KeyHolder, Operator, Principal
from application.access.rate_limit import FailedAuthentications
from application.errors import Unauthenticated
from application.ports import ApiKeys
from application.self_audit import SelfAudit
from domain.tenancy import key_id_of


class Authenticate:
    """The operator token, or a live API key; anything else is UNAUTHENTICATED.

    A revoked key that is still presented is recorded in its account's trail; a secret that
    matches no key has no tenant to record under and is only counted. Whoever keeps failing
    is throttled (`FailedAuthentications`): RATE_LIMITED, before any lookup for an address.
    """

    def __init__(
        self,
        *,
        keys: ApiKeys,
        operator_token: str,
        self_audit: SelfAudit,
        failures: FailedAuthentications,
    ) -> None:
        self._keys = keys
        self._operator_token = operator_token.encode()
        self._self_audit = self_audit
        self._failures = failures

    async def execute(self, secret: str | None, origin: Origin | None = None) -> Principal:
        origin = origin or Origin()
        if not secret:
            raise Unauthenticated()
        address = origin.ip
        self._failures.check_address(address)
        if hmac.compare_digest(secret.encode(), self._operator_token):
            return Operator(origin=origin)
        key_id = key_id_of(secret)
        key = None if key_id is None else await self._keys.get(key_id)
        if key is not None and key.matches(secret) and not key.revoked:
            return KeyHolder.of(key, origin)
        if key is not None:
            # A real key id with a wrong secret, or a revoked key: throttled per id as well.
            self._failures.check_key(key.id)
        self._failures.failed(
            "revoked" if key is not None and key.revoked else "unknown",
            address,
            None if key is None else key.id,
        )
        if key is None or not key.matches(secret):
            self._self_audit.unknown_secret()
        else:
            self._self_audit.key_rejected(key, origin)
        raise Unauthenticated()
