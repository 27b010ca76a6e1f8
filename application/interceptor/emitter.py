"""The service's own emitter: the client package's, delivering in process.

Its events carry the moment they were emitted (`occurred_at`, by the service's clock), so an
event held back by a store outage keeps the time of the action, as a client's does. They get
no idempotency key (`auditlog_client.AuditEmitter`, `stamp`): the in-process sink makes a
retry after a partial write store nothing twice by the batch's `delivery_id`, and a key per
event would cost a look-up per batch for nothing.
"""

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import auditlog_client
from auditlog_client import AuditSink, EmitterConfig, Event, Telemetry
from auditlog_client.events import milliseconds


class AuditEmitter(auditlog_client.AuditEmitter):
    def __init__(
        self,
        sink: AuditSink,
        config: EmitterConfig,
        *,
        telemetry: Telemetry | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(sink, config, telemetry=telemetry, sleep=sleep, jitter=jitter, stamp=False)
        self._now = now

    def emit(self, event: Event) -> bool:
        if event.occurred_at is None:
            event = dataclasses.replace(event, occurred_at=milliseconds(self._now()))
        return super().emit(event)
