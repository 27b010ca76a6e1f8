"""A bounded queue in front of a sink, drained in batches by a background sender.

`emit` never waits and never does I/O: it enqueues or, when the queue is full, drops the
newest event. The sender batches (up to `batch_size`, waiting at most `linger_seconds` for
a batch to fill), retries transient failures with exponential backoff and full jitter
(AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), and splits a batch that
is refused outright so one bad event does not take the others down with it.

Each event is stamped as it is emitted (`Event.stamped`): its time and idempotency key are
then the same on every attempt, so a retry after a lost answer stores it once and a
delivery delayed by an outage keeps the moment of the action.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from auditlog_client.events import Event
from auditlog_client.sinks import AuditSink, PermanentSinkError, TransientSinkError
from auditlog_client.telemetry import NoTelemetry, Telemetry

log = logging.getLogger("auditlog.interceptor")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitterConfig:
    """Every value is given (the audit log service's own defaults are its settings',
    AUDITLOG_INTERCEPTOR_*): how many events wait at most, how many go in one request, how
    long a batch may wait to fill, how often and how far apart a batch is tried, and how
    long `stop` may take to flush."""

    capacity: int
    batch_size: int
    linger_seconds: float
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    shutdown_grace_seconds: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("capacity, batch_size and max_attempts must be at least 1")
        if min(self.linger_seconds, self.backoff_base_seconds, self.shutdown_grace_seconds) < 0:
            raise ValueError("durations must not be negative")


class AuditEmitter:
    def __init__(
        self,
        sink: AuditSink,
        config: EmitterConfig,
        *,
        telemetry: Telemetry | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        stamp: bool = True,
    ) -> None:
        """`stamp=False` leaves events as they are emitted: for a sink in the service's own
        process, which stores at once and makes retries idempotent by `delivery_id`."""
        self._sink = sink
        self._stamp = stamp
        self._config = config
        self._sleep = sleep
        self._jitter = jitter
        self._queue: asyncio.Queue[Event] = asyncio.Queue(self._config.capacity)
        self._in_flight = 0
        self._closed = False
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Events accepted into the queue, persisted, sent again, dropped when full, given up.
        self._telemetry: Telemetry = NoTelemetry() if telemetry is None else telemetry

    @property
    def pending(self) -> int:
        """Events queued or being sent."""
        return self._queue.qsize() + self._in_flight

    def emit(self, event: Event) -> bool:
        """Stamp and enqueue without waiting; False if the event was dropped."""
        if not self._closed:
            try:
                self._queue.put_nowait(event.stamped() if self._stamp else event)
            except asyncio.QueueFull:
                pass
            else:
                self._telemetry.interceptor_events("queued")
                return True
        self._telemetry.interceptor_events("dropped")
        # Action and application only: the email and reason may be personal data.
        log.warning(
            "audit event dropped (%s): action=%s application=%s",
            "shutting down" if self._closed else "queue full",
            event.action,
            event.application,
        )
        return False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-emitter")

    async def drain(self) -> None:
        """Wait until every event emitted so far has been delivered or given up."""
        await self._queue.join()

    async def stop(self) -> int:
        """Stop accepting, flush within the grace period; return how many were left unsent."""
        self._closed = True
        self._closing.set()  # a sender lingering for a fuller batch sends what it has
        if self._task is None:
            unsent = self.pending
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), self._config.shutdown_grace_seconds)
            unsent = self.pending
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if unsent:
            log.error("audit emitter stopped with %d events unsent", unsent)
        else:
            log.info("audit emitter stopped with every event delivered")
        return unsent

    async def _run(self) -> None:
        while True:
            batch: list[Event] = []
            try:
                await self._fill(batch)
                await self._deliver(batch)
            finally:
                self._in_flight = 0
                for _ in batch:
                    self._queue.task_done()

    async def _fill(self, batch: list[Event]) -> None:
        """Take events into `batch` (counted as in flight): up to batch_size, waiting at most
        the linger time after the first, and not at all once stopping."""
        self._take(batch, await self._queue.get())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.linger_seconds
        while len(batch) < self._config.batch_size:
            if not self._queue.empty():
                self._take(batch, self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closed:
                return
            getter = asyncio.ensure_future(self._queue.get())
            closing = asyncio.ensure_future(self._closing.wait())
            try:
                done, _ = await asyncio.wait(
                    {getter, closing}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                closing.cancel()
                if not getter.done():
                    # asyncio.Queue.get takes an item only once it resumes: nothing is lost.
                    getter.cancel()
            if getter not in done:
                return
            self._take(batch, getter.result())

    def _take(self, batch: list[Event], event: Event) -> None:
        batch.append(event)
        self._in_flight = len(batch)

    async def _deliver(self, batch: Sequence[Event]) -> None:
        try:
            await self._send_with_retries(batch, uuid.uuid4().hex)
        except PermanentSinkError as exc:
            if len(batch) > 1:
                # Find the refused event(s) and deliver the rest.
                for event in batch:
                    await self._deliver([event])
                return
            self._telemetry.interceptor_events("failed")
            log.error(
                "audit event refused by the sink (%s): action=%s application=%s",
                exc.code,
                batch[0].action,
                batch[0].application,
            )
        except TransientSinkError:
            self._telemetry.interceptor_events("failed", len(batch))
            log.error(
                "audit events given up after %d attempts: %d events",
                self._config.max_attempts,
                len(batch),
            )
        except asyncio.CancelledError:
            if _being_cancelled():
                raise
            # The sink raised CancelledError of its own: a sink bug, not a stop.
            self._telemetry.interceptor_events("failed", len(batch))
            log.error("audit sink was cancelled from within; %d events given up", len(batch))
        except Exception:
            self._telemetry.interceptor_events("failed", len(batch))
            log.exception("audit sink failed unexpectedly; %d events given up", len(batch))
        else:
            self._telemetry.interceptor_events("sent", len(batch))

    async def _send_with_retries(self, batch: Sequence[Event], delivery_id: str) -> None:
        config = self._config
        for attempt in range(config.max_attempts):
            try:
                await self._sink.send(batch, delivery_id=delivery_id)
                return
            except TransientSinkError:
                if attempt + 1 == config.max_attempts:
                    raise
            ceiling = min(config.backoff_max_seconds, config.backoff_base_seconds * 2**attempt)
            self._telemetry.interceptor_events("retried", len(batch))
            await self._sleep(self._jitter(0, ceiling))


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
