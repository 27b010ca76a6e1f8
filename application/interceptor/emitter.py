"""The service's own emitter: the client package's, delivering in process.

Its events are not stamped (`auditlog_client.AuditEmitter`, `stamp`): the in-process sink
stores them at once, by the service's own clock, and a retry after a partial write stores
nothing twice by the batch's `delivery_id`; an idempotency key per event would cost a
look-up per batch for nothing.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable

import auditlog_client
from auditlog_client import AuditSink, EmitterConfig, Telemetry


class AuditEmitter(auditlog_client.AuditEmitter):
    def __init__(
        self,
        sink: AuditSink,
        config: EmitterConfig,
        *,
        telemetry: Telemetry | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        super().__init__(sink, config, telemetry=telemetry, sleep=sleep, jitter=jitter, stamp=False)
