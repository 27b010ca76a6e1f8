"""Rate limits: per API key, a token bucket for recording and one for reading; per source
address and per key id, one for failed authentications.

The state lives in this process: with several instances behind a load balancer each keeps
its own buckets, so a key may reach up to (instances x limit). Recording costs one token
per event, so batching does not get around the limit; reading costs one per root field
asked for (aliases included), and a verification one more per thousand entries it checks.
"""

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, assert_never

from application.access.principal import KeyHolder, Operator, Principal, System
from application.errors import RateLimited
from application.ports import AuthFailureReason, Telemetry

Kind = Literal["record", "read"]


@dataclass(frozen=True, slots=True)
class Bucket:
    per_second: float
    burst: int


@dataclass(slots=True)
class _State:
    tokens: float
    updated: float


@dataclass
class RateLimits:
    """Every value comes from the settings (entrypoints/settings.py), where the defaults are."""

    record: Bucket
    read: Bucket
    enabled: bool
    limit_operator: bool


# Past this many names, buckets that have refilled (they hold nothing worth keeping) are
# forgotten: names can be chosen by callers (source addresses), and must not grow memory.
MAX_TRACKED_NAMES = 50_000


class TokenBuckets:
    """One token bucket per name, all of the same size and rate, refilled lazily."""

    def __init__(self, bucket: Bucket, now: Callable[[], float]) -> None:
        self.bucket = bucket
        self._now = now
        self._states: dict[str, _State] = {}

    def __len__(self) -> int:
        return len(self._states)

    def take(self, name: str, cost: int = 1) -> float | None:
        """Spend `cost` tokens of `name`'s bucket: None if they were there, else the seconds
        until they will be (nothing is spent then)."""
        bucket = self.bucket
        now = self._now()
        if name not in self._states and len(self._states) >= MAX_TRACKED_NAMES:
            self._forget_refilled(now)
        state = self._states.setdefault(name, _State(bucket.burst, now))
        state.tokens = min(bucket.burst, state.tokens + (now - state.updated) * bucket.per_second)
        state.updated = now
        if state.tokens >= cost:
            state.tokens -= cost
            return None
        return (cost - state.tokens) / bucket.per_second

    def _forget_refilled(self, now: float) -> None:
        full = self.bucket.burst
        refill = self.bucket.per_second
        self._states = {
            name: state
            for name, state in self._states.items()
            if state.tokens + (now - state.updated) * refill < full
        }

    def empty(self, name: str) -> float | None:
        """Seconds until `name` has a whole token again, or None if it has one now."""
        state = self._states.get(name)
        if state is None:
            return None
        tokens = state.tokens + (self._now() - state.updated) * self.bucket.per_second
        return None if tokens >= 1 else (1 - tokens) / self.bucket.per_second


def retry_after(wait: float) -> RateLimited:
    return RateLimited(retry_after_seconds=max(1, math.ceil(wait)))


class RateLimiter:
    def __init__(
        self,
        limits: RateLimits,
        *,
        telemetry: Telemetry,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._telemetry = telemetry
        self._buckets: dict[Kind, TokenBuckets] = {
            "record": TokenBuckets(self._limits.record, now),
            "read": TokenBuckets(self._limits.read, now),
        }

    def take(self, principal: Principal, kind: Kind, cost: int = 1) -> None:
        """Spend `cost` tokens of the principal's bucket, or raise `RateLimited`."""
        if not self.applies_to(principal):
            return
        wait = self._buckets[kind].take(_bucket_of(principal), cost)
        if wait is None:
            return
        self._telemetry.rate_limited(kind)
        raise retry_after(wait)

    def burst(self, principal: Principal, kind: Kind) -> int | None:
        """The most one request of `kind` can ever spend, or None if it is not limited."""
        return self._buckets[kind].bucket.burst if self.applies_to(principal) else None

    def applies_to(self, principal: Principal) -> bool:
        if not self._limits.enabled:
            return False
        match principal:
            case KeyHolder():
                return True
            case Operator():
                return self._limits.limit_operator
            case System():  # the service's own events are never held back
                return False
            case _:
                assert_never(principal)


def _bucket_of(principal: Principal) -> str:
    match principal:
        case KeyHolder():
            return principal.key_id
        case Operator() | System():  # the service is never limited (applies_to): never reached
            return "operator"
        case _:
            assert_never(principal)


@dataclass(frozen=True, slots=True)
class AuthFailureLimits:
    """Every value comes from the settings (entrypoints/settings.py), where the defaults are."""

    failures: Bucket
    """Failed authentications allowed per source address and per key id."""
    enabled: bool


FailureReason = AuthFailureReason


class FailedAuthentications:
    """Throttles whoever keeps failing to authenticate, per source address and per key id.

    An address that has spent its failures is refused before its credentials are looked at
    (IPv6 addresses count by /64, the smallest network a client is usually given). A key id
    that has spent them (a revoked key still presented, or wrong secrets for a real key id)
    has those failures refused too; a correct secret for a live key always passes, so knowing
    a key's id is not enough to lock it out. Unknown key ids have no bucket of their own: the
    address's bucket covers them, and an attacker cannot make this state grow by inventing ids.
    """

    def __init__(
        self,
        limits: AuthFailureLimits,
        *,
        telemetry: Telemetry,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._addresses = TokenBuckets(self._limits.failures, now)
        self._keys = TokenBuckets(self._limits.failures, now)
        self._telemetry = telemetry

    @property
    def tracked_addresses(self) -> int:
        return len(self._addresses)

    @property
    def tracked_key_ids(self) -> int:
        return len(self._keys)

    def check_address(self, address: str | None) -> None:
        """Raise `RateLimited` if this address has spent its failures."""
        self._refuse_if_empty(self._addresses, _network_of(address))

    def check_key(self, key_id: str) -> None:
        """Raise `RateLimited` if this key id has spent its failures."""
        self._refuse_if_empty(self._keys, key_id)

    def failed(self, reason: FailureReason, address: str | None, key_id: str | None) -> None:
        """Count a failure against the address and, for a key that exists, its id."""
        self._telemetry.auth_failed(reason)
        if not self._limits.enabled:
            return
        network = _network_of(address)
        if network is not None:
            self._addresses.take(network)
        if key_id is not None:
            self._keys.take(key_id)

    def _refuse_if_empty(self, buckets: TokenBuckets, name: str | None) -> None:
        if not self._limits.enabled or name is None:
            return
        wait = buckets.empty(name)
        if wait is not None:
            self._telemetry.rate_limited("auth")
            raise retry_after(wait)


def _network_of(address: str | None) -> str | None:
    if address is None:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
