"""A log stream as the application keeps it: the destination, what it sends, and how far
it has got."""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from application.reading.criteria import LogFilter, Position
from domain.streams import Destination, PauseReason, StreamKind, StreamState


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """A secret as stored: encrypted with the key from settings (`SecretBox`), never shown."""

    ciphertext: str

    def __repr__(self) -> str:
        return "SealedSecret(<hidden>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """How far a stream has delivered, in ingestion order (created_at, id)."""

    position: Position | None = None
    """The last entry delivered; None before the first (delivery starts at `start`)."""
    delivered: int = 0
    """Entries delivered since the stream was created (a replay counts them again)."""
    sequence: int = 0
    """Batches delivered: the next one is `sequence + 1`."""
    chain: str = ""
    """SHA-256 of the last delivered batch's header ('' before the first): the next batch
    names it, so a receiver can tell that none is missing between two it got."""
    missed: int = 0
    """Entries that expired before they could be delivered (the stream was paused or
    failing for longer than they lived): given up, never sent (a replay may count them
    again, as `delivered`)."""
    through: datetime | None = None
    """Every matching entry created before this was delivered (or given up, `missed`): the
    last entry sent or given up, or the settled edge the last pass found nothing beyond.
    `lagSeconds` is how far behind now."""
    pending: Position | None = None
    """The last entry of the batch being sent, written before it is sent: an attempt after a
    failure or a crash sends that same batch (the same entries, signed at `pending_at`, so
    the same header), never one that grew under the same batch number."""
    pending_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A run of consecutive failed attempts (none when `attempts` is 0)."""

    attempts: int = 0
    since: datetime | None = None
    last_error: str | None = None
    """A code (CONNECT_FAILED, TIMEOUT, HTTP_503, ...), never a body or a secret."""
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """Which instance delivers the stream, until when: one at a time."""

    owner: str
    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LogStream:
    id: str
    account: str
    name: str
    destination: Destination
    filter: LogFilter
    """The entries it sends, within its account (`filter.account` is the account)."""
    state: StreamState
    created_at: datetime
    start: datetime
    """Entries created from here on are sent (creation time, or a replay's `since`)."""
    paused: PauseReason | None = None
    progress: Progress = field(default_factory=Progress)
    failure: Failure = field(default_factory=Failure)
    lease: Lease | None = None
    secret: SealedSecret | None = None
    """WEBHOOK: the signing secret (whsec_...)."""
    previous_secret: SealedSecret | None = None
    """WEBHOOK, during a rotation: the secret before, also signed with until `rotated_until`."""
    rotated_until: datetime | None = None
    token: SealedSecret | None = None
    """SPLUNK_HEC: the HEC token."""
    version: int = 0
    """Bumped by every write: a write names the version it read (`LogStreamStore.replace`)."""

    @property
    def kind(self) -> StreamKind:
        return self.destination.kind

    def replace(self, **changes: object) -> "LogStream":
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
