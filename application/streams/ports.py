"""What log streams need from the outside: a store for streams, a box for their secrets,
and a sender per kind of destination."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from application.streams.model import LogStream, SealedSecret
from domain.entry import AuditEntry
from domain.streams import StreamKind

_Row = TypeVar("_Row")


class LogStreamStore(Protocol):
    """Streams, written whole and compared-and-set on `version`, so two instances never
    both advance one stream. Raises `StoreUnavailable` when the store does not answer, and
    `UnreadableStream` when a stored stream does not read back."""

    async def add(self, stream: LogStream) -> None:
        """Insert; `Conflict` if the id is taken."""

    async def get(self, stream_id: str) -> LogStream | None: ...

    async def list(self, account: str | None = None) -> list[LogStream]:
        """The account's streams (every account's for None), oldest first."""
        ...

    async def readable(self) -> "Readable":
        """Every account's streams that read back, oldest first, and the ids of those that
        do not: the delivery worker sends the others (one damaged row stops no one else's
        stream) and says which it cannot read."""
        ...

    async def replace(self, stream: LogStream, *, expected_version: int) -> bool:
        """Write `stream` (with `version` = expected_version + 1) if the stored one is still
        at `expected_version`; False (and nothing written) if not, or if it is gone."""
        ...

    async def delete(self, stream_id: str) -> bool:
        """Remove; False if there was none."""
        ...


class UnreadableStream(ValueError):
    """A stored log stream that does not read back as one (altered by hand, corrupt, or
    written by a newer version): every store raises it, naming the stream but no value;
    failing loudly beats delivering to garbage."""

    def __init__(self, stream_id: str, cause: BaseException) -> None:
        super().__init__(
            f"the stored log stream {stream_id} cannot be read ({type(cause).__name__})"
        )
        self.stream_id = stream_id


@dataclass(frozen=True, slots=True)
class Readable:
    streams: list[LogStream]
    unreadable: list[str]
    """The ids of stored streams that did not read back (`UnreadableStream`)."""


def read_each(stored: Iterable[_Row], read: Callable[[_Row], LogStream]) -> Readable:
    """`read` applied to each stored row, those raising `UnreadableStream` set aside."""
    streams: list[LogStream] = []
    unreadable: list[str] = []
    for row in stored:
        try:
            streams.append(read(row))
        except UnreadableStream as damaged:
            unreadable.append(damaged.stream_id)
    return Readable(streams, unreadable)


class SecretBox(Protocol):
    """Encrypts stream secrets with a key from settings: a database dump alone reveals none."""

    def seal(self, secret: str) -> SealedSecret: ...

    def open(self, sealed: SealedSecret) -> str:
        """The secret; `SecretUnreadable` if the key cannot open it (another key, altered)."""
        ...


class SecretUnreadable(Exception):
    """A stored secret the configured key does not open."""


@dataclass(frozen=True, slots=True)
class Batch:
    """What one delivery carries: entries in ingestion order (sent as export lines, with
    their digests) and the signed header that lets a receiver check them
    (domain.stream_batch)."""

    stream_id: str
    sequence: int
    entries: Sequence[AuditEntry]
    header: dict[str, Any]
    """The signed header as JSON values: its fields, `key_id` and `signature`."""

    @property
    def delivery_id(self) -> str:
        """The same for every attempt at this batch (Standard Webhooks' webhook-id)."""
        return f"{self.stream_id}.{self.sequence}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A stream's secrets, opened for one delivery: never logged, never stored like this."""

    secrets: tuple[str, ...] = ()
    """WEBHOOK: the current secret first, then the previous during a rotation."""
    token: str | None = None
    """SPLUNK_HEC."""

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


@dataclass(frozen=True, slots=True)
class Sent:
    """The receiver took the batch (2xx, or the syslog connection took every byte)."""


@dataclass(frozen=True, slots=True)
class NotSent:
    """The receiver did not take the batch: `code` says why (CONNECT_FAILED, DNS_FAILED,
    ADDRESS_NOT_ALLOWED, TLS_FAILED, TIMEOUT, REDIRECT_REFUSED, HTTP_<status>), with the
    wait it asked for (Retry-After, seconds), and whether it is gone for good (HTTP 410)."""

    code: str
    retry_after: float | None = None
    gone: bool = False


SendResult = Sent | NotSent


class Sender(Protocol):
    """Delivers batches to one kind of destination; never raises for the receiver's
    failures (they are `NotSent`), and gives up within its timeouts."""

    kind: StreamKind

    async def send(
        self, stream: LogStream, batch: Batch, credentials: Credentials
    ) -> SendResult: ...
