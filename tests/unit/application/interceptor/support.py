"""Fakes and helpers for the interceptor tests (fixtures live in conftest.py)."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

from application.interceptor import AuditEmitter, PermanentSinkError, TransientSinkError
from domain.entry import AuditEvent

WAIT = 5.0
"""Upper bound for anything the tests wait on; reached only when a rule is broken."""


def event(index: int = 0, **fields: Any) -> AuditEvent:
    """A valid event; `request_id` says which one it is, so order can be checked."""
    values: dict[str, Any] = {
        "application": "portal",
        "action": "auth.login",
        "success": True,
        "request_id": f"req-{index}",
    }
    values.update(fields)
    return AuditEvent(**values)


def events(count: int, **fields: Any) -> list[AuditEvent]:
    return [event(index, **fields) for index in range(count)]


def request_ids(batch: list[AuditEvent]) -> list[str | None]:
    return [e.request_id for e in batch]


class FakeSink:
    """Records every batch it is given and every batch it accepts.

    Behaviour, all optional and combinable:
    - `block()`: every send waits on an asyncio.Event until `release()`;
    - `fail_transiently(n)`: the next n sends raise TransientSinkError;
    - `refuse_when(predicate)`: a send raises PermanentSinkError if any event matches;
    - `explode(n)`: the next n sends raise an unexpected RuntimeError.
    """

    def __init__(self) -> None:
        self.attempts: list[list[AuditEvent]] = []
        self.delivery_ids: list[str] = []
        self._cancel_from_within = 0
        self.batches: list[list[AuditEvent]] = []
        self.finished = 0
        self.started = asyncio.Event()
        self._gate: asyncio.Event | None = None
        self._transient = 0
        self._unexpected = 0
        self._refuse: Callable[[AuditEvent], bool] | None = None

    def block(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()

    def fail_transiently(self, times: int) -> None:
        self._transient = times

    def refuse_when(self, predicate: Callable[[AuditEvent], bool]) -> None:
        self._refuse = predicate

    def explode(self, times: int) -> None:
        self._unexpected = times

    def cancel_from_within(self, times: int) -> None:
        """The next n sends raise CancelledError themselves (a sink bug, not a stop)."""
        self._cancel_from_within = times

    @property
    def delivered(self) -> list[AuditEvent]:
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
        self.events: list[AuditEvent] = []
        self.accept = True

    def emit(self, event: AuditEvent) -> bool:
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


def field_values(audit_event: AuditEvent) -> Iterator[str]:
    for name in AuditEvent.__dataclass_fields__:
        yield str(getattr(audit_event, name))
