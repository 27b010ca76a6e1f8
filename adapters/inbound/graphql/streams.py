"""Log streams in GraphQL: the types, and the fields Query and Mutation take from here."""

import enum
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from adapters.inbound.graphql.context import Context
from adapters.inbound.graphql.inputs import AuditLogFilterInput
from adapters.inbound.graphql.scalars import moment
from application.access.principal import Principal
from application.reading.criteria import LogFilter
from application.streams.admin import CreatedStream, StreamAdmin
from application.streams.delivery import lag_seconds
from application.streams.model import LogStream
from application.streams.service import StreamServices
from domain.errors import InvalidField
from domain.streams import StreamKind, StreamState

Info = strawberry.Info[Context, None]


@strawberry.enum(name="LogStreamKind")
class LogStreamKindEnum(enum.Enum):
    WEBHOOK = strawberry.enum_value(
        "WEBHOOK", description="HTTPS POST signed as Standard Webhooks says."
    )
    SPLUNK_HEC = strawberry.enum_value(
        "SPLUNK_HEC", description="Splunk HTTP Event Collector JSON, with the token given."
    )
    SYSLOG = strawberry.enum_value(
        "SYSLOG",
        description="RFC 5424 over TCP, octet-counted (RFC 6587); syslog+tls:// for RFC 5425.",
    )


@strawberry.enum(name="LogStreamState")
class LogStreamStateEnum(enum.Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    FAILING = strawberry.enum_value(
        "FAILING", description="The last attempt failed; retried with backoff (lastError)."
    )
    DISABLED = strawberry.enum_value(
        "DISABLED", description="The receiver answered 410 Gone; resume it to try again."
    )


@strawberry.input(name="LogStreamInput")
class LogStreamInput:
    name: str
    kind: LogStreamKindEnum
    url: str = strawberry.field(
        description="https://... (WEBHOOK, SPLUNK_HEC); syslog://host:port or "
        "syslog+tls://host:port (SYSLOG)."
    )
    token: str | None = strawberry.field(
        default=None, description="SPLUNK_HEC: the HEC token (never shown again)."
    )
    filter: AuditLogFilterInput | None = strawberry.field(
        default=None, description="Which of the account's entries to send; default all."
    )


@strawberry.type(name="LogStream")
class LogStreamType:
    id: strawberry.ID
    account: str
    name: str
    kind: LogStreamKindEnum
    url: str
    state: LogStreamStateEnum
    delivered_through: datetime | None = strawberry.field(
        description="The createdAt of the last entry delivered."
    )
    lag_seconds: float | None = strawberry.field(
        description="How far behind now delivery is complete (at least the settle delay)."
    )
    delivered: int = strawberry.field(description="Entries delivered (replays count again).")
    expired_undelivered: int = strawberry.field(
        description="Entries this stream could not send because they expired (their "
        "retention ended) first; counted, never sent."
    )
    failed_attempts: int = strawberry.field(description="Consecutive failed attempts.")
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed: a code, e.g. CONNECT_FAILED, TIMEOUT, HTTP_503."
    )
    created_at: datetime
    paused_reason: str | None = strawberry.field(
        description="REQUESTED, PLAN (a downgrade) or FAILING_TOO_LONG."
    )
    next_attempt_at: datetime | None = strawberry.field(description="When a failing one retries.")
    batches_delivered: int = strawberry.field(
        description="The sequence number of the last batch delivered (see the README)."
    )

    @classmethod
    def of(cls, stream: LogStream, now: datetime) -> "LogStreamType":
        position = stream.progress.position
        return cls(
            id=strawberry.ID(stream.id),
            account=stream.account,
            name=stream.name,
            kind=LogStreamKindEnum[stream.kind.name],
            url=stream.destination.url,
            state=LogStreamStateEnum[stream.state.name],
            delivered_through=None if position is None else position.created_at,
            lag_seconds=lag_seconds(stream, now),
            delivered=stream.progress.delivered,
            expired_undelivered=stream.progress.missed,
            failed_attempts=stream.failure.attempts,
            last_error=stream.failure.last_error,
            created_at=stream.created_at,
            paused_reason=None if stream.paused is None else stream.paused.value,
            next_attempt_at=stream.failure.retry_at
            if stream.state is StreamState.FAILING
            else None,
            batches_delivered=stream.progress.sequence,
        )


@strawberry.type(name="CreatedLogStream")
class CreatedLogStreamType:
    log_stream: LogStreamType
    signing_secret: str | None = strawberry.field(
        description="WEBHOOK: the whsec_ secret receivers verify signatures with, shown once."
    )

    @classmethod
    def of(cls, created: CreatedStream, now: datetime) -> "CreatedLogStreamType":
        return cls(
            log_stream=LogStreamType.of(created.stream, now), signing_secret=created.signing_secret
        )


def _streams(info: Info) -> StreamServices:
    found = info.context.services.streams
    if found is None:
        raise RuntimeError("log streams are not wired into this service")
    return found


@strawberry.type
class StreamQueries:
    @strawberry.field(
        description="The account's log streams: a key's own (STREAM scope), or the operator's "
        "for one account or all."
    )
    async def log_streams(
        self, info: Info, account: strawberry.ID | None = None
    ) -> list[LogStreamType]:
        streams = _streams(info)
        found = await streams.admin.list(
            await info.context.principal(), None if account is None else str(account)
        )
        now = streams.clock.now()
        return [LogStreamType.of(stream, now) for stream in found]


@strawberry.type
class StreamMutations:
    @strawberry.mutation(
        description="Push the account's entries to a SIEM: the operator, or a key with STREAM; "
        "FORBIDDEN (reason STREAMS_NOT_IN_PLAN) on a plan without streams."
    )
    async def create_log_stream(
        self, info: Info, account: strawberry.ID, input: LogStreamInput
    ) -> CreatedLogStreamType:
        streams = _streams(info)
        created = await streams.admin.create(
            await info.context.principal(),
            account_id=str(account),
            name=input.name,
            kind=StreamKind[input.kind.name],
            url=input.url,
            token=input.token,
            wanted=None if input.filter is None else _prefixed(input.filter),
        )
        return CreatedLogStreamType.of(created, streams.clock.now())

    @strawberry.mutation(description="Stop delivering; entries wait (until they expire).")
    async def pause_log_stream(self, info: Info, id: strawberry.ID) -> LogStreamType:
        return await _changed(info, StreamAdmin.pause, str(id))

    @strawberry.mutation(description="Deliver again from where it stopped.")
    async def resume_log_stream(self, info: Info, id: strawberry.ID) -> LogStreamType:
        return await _changed(info, StreamAdmin.resume, str(id))

    @strawberry.mutation(description="Remove the stream; its entries stay.")
    async def delete_log_stream(self, info: Info, id: strawberry.ID) -> LogStreamType:
        return await _changed(info, StreamAdmin.delete, str(id))

    @strawberry.mutation(
        description="Send again every live entry created since then (later batch numbers)."
    )
    async def replay_log_stream(
        self, info: Info, id: strawberry.ID, since: datetime
    ) -> LogStreamType:
        streams = _streams(info)
        checked = moment(since, "since")
        assert checked is not None  # non-null in the schema
        stream = await streams.admin.replay(await info.context.principal(), str(id), checked)
        return LogStreamType.of(stream, streams.clock.now())

    @strawberry.mutation(
        description="A new webhook secret, shown once; the old one also signs for 24 hours."
    )
    async def rotate_log_stream_secret(self, info: Info, id: strawberry.ID) -> CreatedLogStreamType:
        streams = _streams(info)
        created = await streams.admin.rotate_secret(await info.context.principal(), str(id))
        return CreatedLogStreamType.of(created, streams.clock.now())


async def _changed(
    info: Info,
    change: Callable[[StreamAdmin, Principal, str], Awaitable[LogStream]],
    stream_id: str,
) -> LogStreamType:
    streams = _streams(info)
    stream = await change(streams.admin, await info.context.principal(), stream_id)
    return LogStreamType.of(stream, streams.clock.now())


def _prefixed(wanted: AuditLogFilterInput) -> LogFilter:
    """The filter, its errors named under `input.` (where the caller wrote it)."""
    try:
        return wanted.to_filter()
    except InvalidField as exc:
        raise InvalidField(f"input.{exc.field}", exc.problem) from None
