"""Fakes and helpers for the client's tests (fixtures live in conftest.py). Nothing of the
server: these run where the package is installed alone."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from auditlog_client import (
    AuditEmitter,
    EmitterConfig,
    Event,
    InterceptorResult,
    PermanentSinkError,
    TransientSinkError,
)

DEFAULTS = EmitterConfig(
    # The audit log service's own defaults (its AUDITLOG_INTERCEPTOR_* settings).
    capacity=10_000,
    batch_size=100,
    linger_seconds=0.05,
    max_attempts=8,
    backoff_base_seconds=0.1,
    backoff_max_seconds=10.0,
    shutdown_grace_seconds=10.0,
)


def emitter_config(**changes: Any) -> EmitterConfig:
    return replace(DEFAULTS, **changes)


class CountingTelemetry:
    """Counts what the interceptor reports, by result."""

    def __init__(self) -> None:
        self.counts: Counter[InterceptorResult] = Counter()

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        self.counts[result] += count


OCCURRED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
WAIT = 5.0
"""Upper bound for anything the tests wait on; reached only when a rule is broken."""


def event(index: int = 0, **fields: Any) -> Event:
    """A valid event, stamped already (so it is delivered equal to itself); `request_id`
    says which one it is, so order can be checked."""
    values: dict[str, Any] = {
        "application": "portal",
        "action": "auth.login",
        "success": True,
        "request_id": f"req-{index}",
        "occurred_at": OCCURRED_AT,
        "idempotency_key": f"key-{index}",
    }
    values.update(fields)
    return Event(**values)


def events(count: int, **fields: Any) -> list[Event]:
    return [event(index, **fields) for index in range(count)]


def request_ids(batch: list[Event]) -> list[str | None]:
    return [e.request_id for e in batch]


def node(**changes: Any) -> dict[str, Any]:
    """An `AuditLogEntry` as the service answers it, every field asked for."""
    return {
        "id": "e1", "account": "acme", "application": "portal", "action": "auth.login",
        "success": True, "email": None, "reason": None, "ip": None, "userAgent": None,
        "requestId": None, "occurredAt": "2026-01-15T11:59:00.000Z",
        "createdAt": "2026-01-15T12:00:00.123Z", "expiresAt": "2026-04-15T12:00:00.123Z",
        "idempotencyKey": "evt-1", "actor": {"id": "user_1", "type": "user", "name": None},
        "targets": [{"id": "doc_9", "type": "document", "name": "Q1"}],
        "metadata": {"seats": 3}, "digest": "ab" * 32,
        **changes,
    }  # fmt: skip


class Refused(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is invalid: this message must never be logged")
        self.field = field


def service_rules(event: Event) -> None:
    """A check standing in for the service's (which passes its domain's validation): an
    email without '@', an application or action with a space, is refused."""
    if event.email is not None and "@" not in event.email:
        raise Refused("email")
    for name in ("application", "action"):
        if " " in getattr(event, name):
            raise Refused(name)


class FakeSink:
    """Records every batch it is given and every batch it accepts.

    Behaviour, all optional and combinable:
    - `block()`: every send waits on an asyncio.Event until `release()`;
    - `fail_transiently(n)`: the next n sends raise TransientSinkError;
    - `refuse_when(predicate)`: a send raises PermanentSinkError if any event matches;
    - `explode(n)`: the next n sends raise an unexpected RuntimeError.
    """

    def __init__(self) -> None:
        self.attempts: list[list[Event]] = []
        self.delivery_ids: list[str] = []
        self._cancel_from_within = 0
        self.batches: list[list[Event]] = []
        self.finished = 0
        self.started = asyncio.Event()
        self._gate: asyncio.Event | None = None
        self._transient = 0
        self._unexpected = 0
        self._refuse: Callable[[Event], bool] | None = None

    def block(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()

    def fail_transiently(self, times: int) -> None:
        self._transient = times

    def refuse_when(self, predicate: Callable[[Event], bool]) -> None:
        self._refuse = predicate

    def explode(self, times: int) -> None:
        self._unexpected = times

    def cancel_from_within(self, times: int) -> None:
        """The next n sends raise CancelledError themselves (a sink bug, not a stop)."""
        self._cancel_from_within = times

    @property
    def delivered(self) -> list[Event]:
        return [e for batch in self.batches for e in batch]

    @property
    def sending(self) -> bool:
        """A send has started and has not returned or raised."""
        return len(self.attempts) > self.finished

    async def send(self, batch_in: Any, *, delivery_id: str = "") -> None:
        batch = list(batch_in)
        self.attempts.append(batch)
        self.delivery_ids.append(delivery_id)
        self.started.set()
        try:
            if self._gate is not None:
                await self._gate.wait()
            if self._unexpected:
                self._unexpected -= 1
                raise RuntimeError("sink bug")
            if self._cancel_from_within:
                self._cancel_from_within -= 1
                raise asyncio.CancelledError()
            if self._transient:
                self._transient -= 1
                raise TransientSinkError("TIMEOUT")
            if self._refuse is not None and any(self._refuse(e) for e in batch):
                raise PermanentSinkError("REFUSED")
            self.batches.append(batch)
        finally:
            self.finished += 1


class RecordingEmitter:
    """Takes events synchronously into a list; answers `accept` (True by default)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.accept = True

    def emit(self, event: Event) -> bool:
        self.events.append(event)
        return self.accept


class MakeEmitter(Protocol):
    def __call__(
        self,
        sink: FakeSink,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[float, float], float] | None = None,
        **config: Any,
    ) -> AuditEmitter: ...


async def until_sending(sink: FakeSink) -> None:
    """Wait until the sink has been handed a batch."""
    await asyncio.wait_for(sink.started.wait(), WAIT)


async def delivered(emitter: AuditEmitter) -> None:
    """Wait until every event emitted so far has been delivered or given up."""
    await asyncio.wait_for(emitter.drain(), WAIT)


def field_values(audit_event: Event) -> Iterator[str]:
    for name in Event.__dataclass_fields__:
        yield str(getattr(audit_event, name))
