"""Rate limits per API key: a token bucket for recording and one for reading.

The state lives in this process: with several instances behind a load balancer each keeps
its own buckets, so a key may reach up to (instances x limit). Recording costs one token
per event, so batching does not get around the limit; reading costs one per request.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from application.errors import RateLimited
from application.principal import Principal

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
    record: Bucket = field(default_factory=lambda: Bucket(200.0, 2_000))
    read: Bucket = field(default_factory=lambda: Bucket(10.0, 30))
    enabled: bool = True
    limit_operator: bool = False


class RateLimiter:
    def __init__(
        self, limits: RateLimits | None = None, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = limits or RateLimits()
        self._now = now
        self._buckets: dict[tuple[str, Kind], _State] = {}
        self.refused: dict[Kind, int] = {"record": 0, "read": 0}
        """Requests refused so far, by kind (for metrics)."""

    def take(self, principal: Principal, kind: Kind, cost: int = 1) -> None:
        """Spend `cost` tokens of the principal's bucket, or raise `RateLimited`."""
        if not self._applies_to(principal):
            return
        bucket = self._limits.record if kind == "record" else self._limits.read
        now = self._now()
        who = principal.key_id or "operator"
        state = self._buckets.setdefault((who, kind), _State(bucket.burst, now))
        state.tokens = min(bucket.burst, state.tokens + (now - state.updated) * bucket.per_second)
        state.updated = now
        if state.tokens >= cost:
            state.tokens -= cost
            return
        self.refused[kind] += 1
        wait = (cost - state.tokens) / bucket.per_second
        raise RateLimited(retry_after_seconds=max(1, math.ceil(wait)))

    def _applies_to(self, principal: Principal) -> bool:
        if not self._limits.enabled or principal.is_system:
            return False
        return not principal.is_operator or self._limits.limit_operator
