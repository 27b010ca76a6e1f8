"""Who owns entries (accounts and their applications) and who may use them (API keys)."""

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from datetime import datetime

from domain import validation

API_KEY_PREFIX = "alk_"
ACCOUNT_APPLICATION_PREFIX = "_"
_API_KEY = re.compile(r"alk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class Scope(enum.Enum):
    RECORD = "RECORD"
    READ = "READ"
    EXPORT = "EXPORT"
    STREAM = "STREAM"
    """Manage the account's log streams (issue 17)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    id: str
    name: str
    plan: str

    def __post_init__(self) -> None:
        validation.identifier(self.id, "id")
        object.__setattr__(self, "name", validation.name(self.name))


@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    """An application belongs to exactly one account; its id is unique across accounts.

    Every account also has a reserved application, `_<account id>`, for events that concern
    the account as a whole. It exists as long as the account does and is never stored.
    """

    id: str
    account: str
    name: str

    def __post_init__(self) -> None:
        validation.application_id(self.id, "id")
        validation.identifier(self.account, "account")
        object.__setattr__(self, "name", validation.name(self.name))

    @classmethod
    def account_level(cls, account_id: str) -> "Application":
        return cls(
            id=account_application_id(account_id), account=account_id, name="Account-level events"
        )


def account_application_id(account_id: str) -> str:
    return ACCOUNT_APPLICATION_PREFIX + account_id


def home_application(account_id: str, application_id: str | None) -> str:
    """Where a key's own events go: its application, else its account's reserved one."""
    return application_id or account_application_id(account_id)


def reserved_application_owner(application_id: str) -> str | None:
    """The account whose reserved application this is, or None for an ordinary application."""
    if application_id.startswith(ACCOUNT_APPLICATION_PREFIX):
        return application_id.removeprefix(ACCOUNT_APPLICATION_PREFIX)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """A credential bound to one account (and optionally one application).

    Only a hash of the secret is kept. The secret carries 256 random bits, so a fast hash
    is enough: there is nothing to brute-force that a slow KDF would protect.
    """

    id: str
    account: str
    application: str | None
    scopes: frozenset[Scope]
    secret_hash: str
    revoked: bool
    created_at: datetime

    @property
    def home_application(self) -> str:
        """Where this key's own events go: its application, else its account's reserved one."""
        return home_application(self.account, self.application)

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)

    def revoke(self) -> "ApiKey":
        return replace(self, revoked=True)


def compose_secret(key_id: str, token: str) -> str:
    """`alk_<key id>_<token>`: the id lets the key be found without searching by secret."""
    return f"{API_KEY_PREFIX}{key_id}_{token}"


def key_id_of(secret: str) -> str | None:
    match = _API_KEY.fullmatch(secret)
    return match.group(1) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
