"""Delivering streams: settled entries, in ingestion order, in signed batches, at least once.

Each pass looks at every stream; one that is due (delivering, its retry time come, no other
instance's lease on it) is leased by compare-and-set, so one instance at a time delivers it.
The worker then sends batches from the stream's position until it is caught up, its turn is
over, or a send fails. Only entries older than the settle delay are read (the poller cursor
of `auditLogs(order: OLDEST_FIRST)`): an insert that commits late is still ahead of the
position when it becomes visible, so it is never skipped. The position moves only after the
receiver took a batch, so a crash or a restart sends that batch again (the same ids, the
same sequence: a receiver drops what it has).

At most `workers` streams are delivered at once, each send bounded by its sender's
timeouts: a slow or silent receiver holds one worker for one send's deadline at a time.

A stream that is not delivering (paused, or failing and waiting for its retry) loses nothing
until its entries expire; those about to expire (within `expiry_lookahead`) at the front of
what it has to send are given up: counted in `progress.missed`, its position moved past
them, never sent (see `_give_up`).
"""

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from application.access.plans import may_stream
from application.access.tenancy import Directory
from application.errors import StoreUnavailable
from application.ports import AuditEntryRepository, Clock, SealSigner
from application.reading.criteria import EntryCriteria, Order, Position
from application.streams.batches import sign_batch
from application.streams.model import Failure, Lease, LogStream, Progress
from application.streams.ports import (
    Credentials,
    LogStreamStore,
    NotSent,
    SecretBox,
    SecretUnreadable,
    Sender,
    Sent,
)
from domain.entry import AuditEntry
from domain.plan import PlanCatalog
from domain.streams import PauseReason, RetryPolicy, StreamKind, StreamState

log = logging.getLogger("auditlog")


class StreamTelemetry(Protocol):
    """Counters and a gauge, labelled by kind and outcome code only: never by tenant."""

    def stream_delivered(self, kind: str, entries: int) -> None: ...
    def stream_failed(self, kind: str, code: str) -> None: ...
    def stream_lag(self, seconds: float) -> None:
        """The largest lag over the streams this instance delivered in its last pass."""
        ...


class NoStreamTelemetry:
    def stream_delivered(self, kind: str, entries: int) -> None:
        pass

    def stream_failed(self, kind: str, code: str) -> None:
        pass

    def stream_lag(self, seconds: float) -> None:
        pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfig:
    settle: timedelta
    """Only entries created at least this long ago are sent (the poller's settle delay)."""
    batch_size: int = 100
    workers: int = 4
    lease: timedelta = timedelta(seconds=60)
    turn: timedelta = timedelta(seconds=10)
    """How long one lease turn sends batches before letting the next due stream have the
    worker (a stream far behind does not starve the others)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    expiry_lookahead: timedelta = timedelta(seconds=60)
    """A stream not delivering gives up the entries that expire within this: it cannot send
    them before they are gone, and once gone a query no longer finds them to count."""


class StreamDelivery:
    def __init__(
        self,
        *,
        streams: LogStreamStore,
        entries: AuditEntryRepository,
        directory: Directory,
        plans: PlanCatalog,
        senders: Mapping[StreamKind, Sender],
        box: SecretBox,
        signer: SealSigner,
        clock: Clock,
        config: DeliveryConfig,
        owner: str,
        telemetry: StreamTelemetry | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._streams = streams
        self._entries = entries
        self._directory = directory
        self._plans = plans
        self._senders = senders
        self._box = box
        self._signer = signer
        self._clock = clock
        self._config = config
        self._owner = owner
        self._telemetry = telemetry or NoStreamTelemetry()
        self._draw = draw
        self._slots = asyncio.Semaphore(config.workers)
        self._looked: dict[str, datetime] = {}
        self._unreadable: set[str] = set()

    async def pass_once(self) -> int:
        """Deliver every due stream a turn; how many batches were delivered."""
        now = self._clock.now()
        found = await self._streams.readable()
        self._say_unreadable(found.unreadable)
        listed = found.streams
        known = {stream.id for stream in listed}
        self._looked = {id_: at for id_, at in self._looked.items() if id_ in known}
        due = [stream for stream in listed if self._due(stream, now)]
        waiting = [
            stream for stream in listed if self._waiting(stream, now) and self._look(stream, now)
        ]
        results, _ = await asyncio.gather(
            asyncio.gather(*(self._turn(stream) for stream in due)),
            asyncio.gather(*(self._give_up_turn(stream) for stream in waiting)),
        )
        lags = [lag for _, lag in results if lag is not None]
        self._telemetry.stream_lag(max(lags, default=0.0))
        return sum(batches for batches, _ in results)

    def _say_unreadable(self, unreadable: list[str]) -> None:
        """Each stored stream that does not read back, named once until it reads again:
        the others are delivered meanwhile."""
        for stream_id in unreadable:
            if stream_id not in self._unreadable:
                log.error("log stream %s cannot be read: not delivered until fixed", stream_id)
        self._unreadable = set(unreadable)

    def _free(self, stream: LogStream, now: datetime) -> bool:
        lease = stream.lease
        return lease is None or lease.until <= now or lease.owner == self._owner

    def _due(self, stream: LogStream, now: datetime) -> bool:
        if not stream.state.delivers:
            return False
        if stream.failure.retry_at is not None and stream.failure.retry_at > now:
            return False
        return self._free(stream, now)

    def _look(self, stream: LogStream, now: datetime) -> bool:
        """Whether to look for expiring entries of a waiting stream now: a quarter of the
        lookahead after the last look at most (a paused stream costs a read that often,
        not every pass), so what expires within it is still found in time."""
        last = self._looked.get(stream.id)
        if last is not None and now - last < self._config.expiry_lookahead / 4:
            return False
        self._looked[stream.id] = now
        return True

    def _waiting(self, stream: LogStream, now: datetime) -> bool:
        """Not delivering this pass, but not disabled either: paused, or failing and
        waiting for its retry. Such a stream gives up what expires before it could send it."""
        if stream.state is StreamState.DISABLED or self._due(stream, now):
            return False
        return self._free(stream, now)

    async def _turn(self, stream: LogStream) -> tuple[int, float | None]:
        async with self._slots:
            try:
                return await self._deliver(stream)
            except StoreUnavailable:
                log.warning("log stream delivery paused a pass: the store is unavailable")
                return 0, None

    async def _deliver(self, stream: LogStream) -> tuple[int, float | None]:
        leased = await self._lease(stream)
        if leased is None:
            return 0, None  # another instance took it first
        stream = leased
        started = self._clock.now()
        batches = 0
        try:
            account = await self._directory.account(stream.account)  # once a turn
            if account is None or not may_stream(account, self._plans):
                # A downgrade pauses the account's streams (the plan change does it too).
                reason = PauseReason.PLAN
                paused = await self._write(
                    stream, lambda s: s.replace(state=StreamState.PAUSED, paused=reason)
                )
                stream = stream if paused is None else paused
                return 0, None
            while self._clock.now() - started < self._config.turn:
                outcome = await self._one_batch(stream)
                if outcome is None:
                    break
                stream, sent, more = outcome
                batches += sent
                if not more:
                    break
        finally:
            stream = await self._release(stream)
        return batches, lag_seconds(stream, self._clock.now())

    async def _give_up_turn(self, stream: LogStream) -> int:
        async with self._slots:
            try:
                return await self._give_up(stream)
            except StoreUnavailable:
                log.warning("log stream expiry paused a pass: the store is unavailable")
                return 0

    async def _give_up(self, stream: LogStream) -> int:
        """Count and pass over the entries at the front of what `stream` has to send that
        expire within the lookahead; how many. Under the lease, as a delivery, so two
        instances never count the same entries; looked for first without it, so a stream
        with nothing expiring costs a read and no write."""
        if not (await self._expiring(stream))[0]:
            return 0
        leased = await self._lease(stream)
        if leased is None:
            return 0  # another instance took it first
        stream = leased
        started = self._clock.now()
        given_up = 0
        try:
            while self._clock.now() - started < self._config.turn:
                outcome = await self._give_up_batch(stream)
                if outcome is None:
                    break
                stream, count = outcome
                given_up += count
                if count < self._config.batch_size:
                    break
        finally:
            stream = await self._release(stream)
        return given_up

    async def _expiring(self, stream: LogStream) -> tuple[list[AuditEntry], bool]:
        """The leading run (at most a batch) of what `stream` has to send that expires
        within the lookahead, and whether the batch in flight outlasts it."""
        now = self._clock.now()
        found = await self._next_entries(stream, now - self._config.settle, now)
        horizon = now + self._config.expiry_lookahead
        run: list[AuditEntry] = []
        for entry in found:
            if entry.expires_at > horizon:
                break
            run.append(entry)
        pending = stream.progress.pending
        if pending is None:
            return run, False
        # The batch in flight goes again under its number and webhook-id, with those of its
        # entries still live then (as after they expired), so the position may pass its
        # front. It never passes the batch while some of it may still go: the position is
        # where the batch starts, so nothing after it is given up before all of it is.
        end = (pending.created_at, pending.entry_id)
        in_flight = sum(1 for entry in found if (entry.created_at, entry.id) <= end)
        return run, len(run) < in_flight

    async def _give_up_batch(self, stream: LogStream) -> tuple[LogStream, int] | None:
        """Give up what `_expiring` finds; the stream as written and how many, or None when
        there was nothing or the stream is no longer this worker's."""
        run, keeps = await self._expiring(stream)
        if not run:
            return None
        last = run[-1]
        position = Position(last.created_at, last.id)
        read = stream.progress

        def given_up(current: LogStream) -> LogStream:
            # A replay or a delivery meanwhile moved the stream: what it wrote stands. A
            # pause, a resume or a rotation does not move it: the entries are given up still.
            was = current.progress
            if current.start != stream.start or (was.position, was.pending) != (
                read.position,
                read.pending,
            ):
                return current
            # Never what was delivered (the count, the batch number, the chain).
            progress = replace(
                was,
                position=position,
                missed=was.missed + len(run),
                through=max_time(was.through, last.created_at),
                pending=was.pending if keeps else None,
                pending_at=was.pending_at if keeps else None,
            )
            return current.replace(progress=progress)

        changed = await self._write(stream, given_up)
        if changed is None or changed.progress.position != position:
            return None
        log.info("log stream %s: %d entries expired before they could be sent", stream.id, len(run))
        return changed, len(run)

    async def _one_batch(self, stream: LogStream) -> tuple[LogStream, int, bool] | None:
        """Send the next batch; the stream as written after, batches sent, whether there
        may be more. None when the stream is no longer this worker's to deliver."""
        now = self._clock.now()
        edge = now - self._config.settle
        found = await self._next_entries(stream, edge, now)
        pending = stream.progress.pending
        entries = found
        if pending is not None:
            # The batch an earlier attempt sent: the same entries (all settled then, so none
            # has come in between since), signed as then.
            entries = [
                e for e in found if (e.created_at, e.id) <= (pending.created_at, pending.entry_id)
            ]
        if not entries:
            # Caught up; or every entry of the batch in flight expired before it went again,
            # and the ones after it make the next batch.
            through = stream.progress.through if found else max_time(stream.progress.through, edge)
            progress = replace(stream.progress, through=through, pending=None, pending_at=None)
            changed = await self._write(stream, lambda s: _advanced(s, stream, progress))
            return None if changed is None else (changed, 0, bool(found))
        sent_at = stream.progress.pending_at if pending is not None else None
        if sent_at is None:
            # Written before sending: a crash after the receiver took it resends this batch.
            last = entries[-1]
            marked = replace(
                stream.progress, pending=Position(last.created_at, last.id), pending_at=now
            )
            changed = await self._write(stream, lambda s: _advanced(s, stream, marked, sent=False))
            if changed is None or changed.progress.pending != marked.pending:
                return None if changed is None else (changed, 0, False)
            stream, sent_at = changed, now
        batch, signed = sign_batch(stream, entries, self._signer, sent_at)
        try:
            credentials = self._credentials(stream, now)
        except SecretUnreadable:
            return await self._failed(stream, NotSent("SECRET_UNREADABLE"), now)
        result = await self._senders[stream.kind].send(stream, batch, credentials)
        if isinstance(result, NotSent):
            return await self._failed(stream, result, now)
        assert isinstance(result, Sent)
        last = entries[-1]
        progress = Progress(
            position=Position(last.created_at, last.id),
            delivered=stream.progress.delivered + len(entries),
            sequence=batch.sequence,
            chain=signed.hash(),
            missed=stream.progress.missed,
            through=last.created_at,
        )
        # The next batch is marked in the same write as this one's progress: one commit a
        # batch, not two (on the embedded store each is an fsync, behind the server's).
        marked_at = self._clock.now()
        following = await self._next_entries(
            stream.replace(progress=progress), marked_at - self._config.settle, marked_at
        )
        if following:
            end = following[-1]
            progress = replace(
                progress, pending=Position(end.created_at, end.id), pending_at=marked_at
            )
        changed = await self._write(stream, lambda s: _advanced(s, stream, progress))
        self._telemetry.stream_delivered(stream.kind.value, len(entries))
        if changed is None:
            return None
        return changed, 1, bool(following)

    async def _next_entries(
        self, stream: LogStream, edge: datetime, now: datetime
    ) -> list[AuditEntry]:
        wanted = stream.filter
        since = stream.start if wanted.since is None else max(wanted.since, stream.start)
        until = edge if wanted.until is None else min(wanted.until, edge)
        if since >= until:
            return []
        criteria = EntryCriteria(replace(wanted, since=since, until=until))
        return await self._entries.query(
            criteria,
            now=now,
            after=stream.progress.position,
            limit=self._config.batch_size,
            order=Order.OLDEST_FIRST,
        )

    def _credentials(self, stream: LogStream, now: datetime) -> Credentials:
        secrets = []
        if stream.secret is not None:
            secrets.append(self._box.open(stream.secret))
        rotating = stream.rotated_until is not None and stream.rotated_until > now
        if stream.previous_secret is not None and rotating:
            secrets.append(self._box.open(stream.previous_secret))
        token = None if stream.token is None else self._box.open(stream.token)
        return Credentials(tuple(secrets), token)

    async def _failed(
        self, stream: LogStream, result: NotSent, now: datetime
    ) -> tuple[LogStream, int, bool] | None:
        self._telemetry.stream_failed(stream.kind.value, result.code)
        attempts = stream.failure.attempts + 1
        since = stream.failure.since or now
        delay = self._config.retry.delay(attempts, self._draw(), result.retry_after)
        failure = Failure(
            attempts=attempts, since=since, last_error=result.code, retry_at=now + delay
        )
        state, paused = StreamState.FAILING, None
        if result.gone:
            state = StreamState.DISABLED  # the receiver said it is gone for good (HTTP 410)
        elif self._config.retry.gives_up(since, now):
            state, paused = StreamState.PAUSED, PauseReason.FAILING_TOO_LONG
        log.warning(
            "log stream %s: delivery failed (%s), attempt %d", stream.id, result.code, attempts
        )

        def failed(current: LogStream) -> LogStream:
            if current.state is StreamState.PAUSED:
                return current.replace(failure=failure)  # paused meanwhile: it stays paused
            return current.replace(failure=failure, state=state, paused=paused)

        changed = await self._write(stream, failed)
        return None if changed is None else (changed, 0, False)

    async def _lease(self, stream: LogStream) -> LogStream | None:
        until = self._clock.now() + self._config.lease
        leased = stream.replace(
            lease=Lease(owner=self._owner, until=until), version=stream.version + 1
        )
        if await self._streams.replace(leased, expected_version=stream.version):
            return leased
        return None

    async def _release(self, stream: LogStream) -> LogStream:
        changed = await self._write(stream, lambda s: s.replace(lease=None))
        return stream if changed is None else changed

    async def _write(
        self, read: LogStream, change: Callable[[LogStream], LogStream]
    ) -> LogStream | None:
        """`change` applied by compare-and-set; if an administrator wrote in between (a
        pause, a replay, a rotation), applied to what they wrote. None when the stream is
        gone or no longer this worker's."""
        current: LogStream | None = read
        for _ in range(5):
            if current is None:
                return None
            changed = change(current).replace(version=current.version + 1)
            if await self._streams.replace(changed, expected_version=current.version):
                return changed
            current = await self._streams.get(read.id)
            if current is not None and (
                current.lease is None or current.lease.owner != self._owner
            ):
                return None  # another instance holds it now
        raise StoreUnavailable


def _advanced(
    current: LogStream, read: LogStream, progress: Progress, *, sent: bool = True
) -> LogStream:
    """`current` with the progress a batch made (or, not `sent`, the batch about to go),
    unless a replay moved its start meanwhile (then the replay's position stands)."""
    if current.start != read.start or current.progress.position != read.progress.position:
        return current
    if not sent:
        return current.replace(progress=progress)
    state = StreamState.ACTIVE if current.state is StreamState.FAILING else current.state
    return current.replace(progress=progress, failure=Failure(), state=state)


def lag_seconds(stream: LogStream, now: datetime) -> float | None:
    """How far behind now the stream's delivery is complete: None before its first pass."""
    through = stream.progress.through
    return None if through is None else max(0.0, (now - through).total_seconds())


def max_time(first: datetime | None, second: datetime) -> datetime:
    return second if first is None else max(first, second)
