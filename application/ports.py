"""The ports the use cases need, each shaped by what a use case does with it."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from application.exporting.grant import ExportGrant
from application.reading.criteria import EntryCriteria, Order, Position
from application.streams.ports import LogStreamStore
from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.integrity import Seal
from domain.tenancy import Account, ApiKey, Application


class AuditEntryRepository(Protocol):
    """Append-only store of entries: it can add and read, and has no way to update or delete."""

    async def add(self, entry: AuditEntry) -> None:
        """Insert one entry; raises `StoreUnavailable` if the store does not answer, `Conflict`
        if its id is taken, `IdempotencyKeyTaken` if its (account, idempotency key) is."""

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        """Insert entries in one round trip, all or nothing. With `skip_existing`, an id
        already stored (by an earlier attempt at the same delivery) is left as it is instead
        of being a conflict. An (account, idempotency key) held by a stored entry (live or
        expired but not yet removed) raises `IdempotencyKeyTaken` and stores nothing."""

    async def holding_keys(self, keys: Sequence[tuple[str, str]]) -> list[AuditEntry]:
        """The stored entries holding any of these (account, idempotency key) pairs, expired
        ones not yet removed included: a key stays taken until its entry is deleted."""

    async def query(
        self,
        criteria: EntryCriteria,
        *,
        now: datetime,
        after: Position | None,
        limit: int,
        order: Order = Order.NEWEST_FIRST,
    ) -> list[AuditEntry]:
        """Up to `limit` live entries (expires_at > now) in `order` on (created_at, id),
        strictly after `after` in that order."""

    def stream(
        self, criteria: EntryCriteria, *, now: datetime
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        """Every live entry matching `criteria`, newest first, in the non-empty batches it is
        read in: a caller handles a batch at a time (an export of a million rows pays per
        batch, not per row, for each layer it goes through)."""
        ...

    async def get(self, entry_id: str, *, now: datetime) -> AuditEntry | None:
        """The entry with that id if it is live at `now`, else None."""

    async def first_created_at(self) -> datetime | None:
        """When the oldest stored entry was created, or None if there is none."""


class Accounts(Protocol):
    """Accounts and the plan each is on."""

    async def add(self, account: Account) -> None:
        """Insert; raises `Conflict` if the id is taken."""

    async def get(self, account_id: str) -> Account | None:
        """The account, or None."""

    async def set_plan(self, account_id: str, plan: str) -> Account | None:
        """Move an account to another plan; None if there is no such account."""


class Applications(Protocol):
    """Applications, each owned by one account."""

    async def add(self, application: Application) -> None:
        """Insert; raises `Conflict` if the id is taken."""

    async def get(self, application_id: str) -> Application | None:
        """The application, or None."""


class ApiKeys(Protocol):
    """API keys, stored with the hash of their secret only."""

    async def add(self, key: ApiKey) -> None:
        """Insert a new key."""

    async def get(self, key_id: str) -> ApiKey | None:
        """The key, or None."""

    async def revoke(self, key_id: str) -> ApiKey | None:
        """Mark a key revoked (idempotent); None if there is no such key."""


class ExportLinks(Protocol):
    """Seals an export grant into a URL-safe token and opens it again."""

    def seal(self, grant: ExportGrant) -> str:
        """A token only this deployment's signing key could have made."""
        ...

    def open(self, token: str) -> ExportGrant:
        """The grant, or `InvalidExportLink` if the token was not sealed with our key."""
        ...


class Seals(Protocol):
    """Signed seals over windows of each account's trail: added and read, never changed."""

    async def add(self, seal: Seal) -> bool:
        """Store a seal; False if its window is sealed already (another sealer was first)."""

    async def get(self, seal_id: str) -> Seal | None:
        """The seal, or None (never written, expired, or removed)."""

    async def latest(self, account: str) -> Seal | None:
        """The account's seal with the latest window."""

    async def in_range(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Seal]:
        """The account's seals whose windows overlap [since, until), oldest first."""


@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    until: datetime


class SealerState(Protocol):
    """A lease so one instance seals at a time, and how far the trail is sealed."""

    async def acquire(self, holder: str, *, now: datetime, until: datetime) -> bool:
        """Take or extend the lease; False while another holder's lease runs."""

    async def sealed_through(self) -> datetime | None:
        """Every window that ends at or before this moment has been sealed."""

    async def advance(self, holder: str, to: datetime) -> None:
        """Record that windows up to `to` are sealed."""

    async def lease(self) -> Lease | None:
        """Who holds the lease and until when, or None if nobody ever took it."""


class Checkpoints(Protocol):
    """The sealer's signed checkpoints (`domain.checkpoint`): added and read, never changed;
    each kept until its `expires_at`."""

    async def add(self, checkpoint: Checkpoint) -> bool:
        """Store a checkpoint; False if its sequence is taken (another sealer was first)."""

    async def latest(self) -> Checkpoint | None:
        """The checkpoint with the highest sequence."""

    async def get(self, sequence: int) -> Checkpoint | None:
        """The checkpoint of that sequence, or None (never written, expired, or removed)."""

    async def after(self, sequence: int, limit: int) -> list[Checkpoint]:
        """Up to `limit` checkpoints with a higher sequence, in sequence order."""

    async def listing(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Checkpoint]:
        """The checkpoints that list a seal of `account` whose window starts in [since,
        until), in sequence order."""


class DatabaseClock(Protocol):
    async def database_now(self) -> datetime | None:
        """The time by the clock the store's own expiry goes by (MongoDB's TTL monitor runs
        on the server's), where it can be read; None where that clock is this service's
        (the embedded stores expire by this machine's clock) or cannot be read."""


class StorePorts(Protocol):
    """A store adapter's ports, under these names: what every store offers the service."""

    @property
    def entries(self) -> AuditEntryRepository: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def applications(self) -> Applications: ...
    @property
    def keys(self) -> ApiKeys: ...
    @property
    def seals(self) -> Seals: ...
    @property
    def sealer_state(self) -> SealerState: ...
    @property
    def checkpoints(self) -> Checkpoints: ...
    @property
    def log_streams(self) -> LogStreamStore: ...


class SealSigner(Protocol):
    """Signs seal bodies with the current key."""

    @property
    def key_id(self) -> str:
        """The id of the signing key."""
        ...

    def sign(self, message: bytes) -> str:
        """The signature, base64."""
        ...


class SealKeys(Protocol):
    """The public keys a seal may be signed with, current and retired."""

    def verify(self, key_id: str, message: bytes, signature: str) -> bool:
        """Whether `signature` over `message` is valid for the key `key_id`."""
        ...


class SealKeyPair(SealSigner, SealKeys, Protocol):
    """Signs with the current key and verifies with the current and retired ones."""


class Clock(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


class IdGenerator(Protocol):
    """New entry ids: unique, fixed-width, sortable as text in creation order."""

    def new_entry_id(self) -> str:
        """A fresh id."""
        ...


RateLimitKind = Literal["record", "read", "auth"]
"""Which limit refused a request: recording, reading, or too many failed authentications."""
AuthFailureReason = Literal["unknown", "revoked"]
"""Why an authentication failed: no such key or a wrong secret, or a revoked key."""
InterceptorResult = Literal["queued", "sent", "retried", "dropped", "failed", "invalid"]
"""What became of the service's own audit events (`invalid`: the event could not be built)."""


class Telemetry(Protocol):
    """Counts what the service does as it does it: each call is an event, nothing is read back."""

    def entries_recorded(self, count: int) -> None:
        """`count` entries were handed to the repository and stored."""

    def export_rows(self, count: int) -> None:
        """`count` rows went out to a download."""

    def rate_limited(self, kind: RateLimitKind) -> None:
        """A request was refused by the `kind` limit."""

    def auth_failed(self, reason: AuthFailureReason) -> None:
        """An authentication failed."""

    def unknown_credential(self) -> None:
        """A bearer secret matched no key: there is no tenant to record it under."""

    def rejection_folded(self) -> None:
        """A revoked key's attempt was counted into a later entry rather than recorded alone."""

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        """`count` of the service's own audit events came to `result`."""

    def sealing_checked(self, lag_seconds: float, *, lease_suspect: bool) -> None:
        """A sealing check found the trail sealed `lag_seconds` behind the horizon, and the
        lease suspect or not (`application.integrity.sealing_health`): levels, not counts."""


class NoTelemetry:
    """Counts nothing: for an interceptor or use case built without metrics (a platform
    service's own flows, a test that does not look). The service always wires the real one."""

    def entries_recorded(self, count: int) -> None:
        pass

    def export_rows(self, count: int) -> None:
        pass

    def rate_limited(self, kind: RateLimitKind) -> None:
        pass

    def auth_failed(self, reason: AuthFailureReason) -> None:
        pass

    def unknown_credential(self) -> None:
        pass

    def rejection_folded(self) -> None:
        pass

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        pass

    def sealing_checked(self, lag_seconds: float, *, lease_suspect: bool) -> None:
        pass
