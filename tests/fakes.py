"""Hand-written in-memory fakes of the ports: for use-case tests, and the benchmarks' store
(bench/), which must cost almost nothing so that the service's own cost is what they measure."""

import bisect
import hashlib
import hmac
import itertools
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from application.errors import Conflict, IdempotencyKeyTaken, InvalidExportLink, StoreUnavailable
from application.exporting.grant import ExportGrant
from application.ports import Lease
from application.reading.criteria import EntryCriteria, LogFilter, Order, Position
from application.streams.model import LogStream
from application.streams.ports import Readable, UnreadableStream, read_each
from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.integrity import Seal
from domain.tenancy import Account, ApiKey, Application

STREAM_BATCH = 1_000
"""The batch size the fakes stream in, as the real stores do."""


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class SequentialIds:
    """24 hex digits, increasing: the same shape and text order as ObjectId hex."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_entry_id(self) -> str:
        return f"{next(self._counter):024x}"


class _TimeOrder:
    """Entries in (created_at, id) order, with their keys beside them for bisecting: a time
    range or a keyset position is a bisect away, as an index makes it for a database."""

    def __init__(self) -> None:
        self.keys: list[tuple[datetime, str]] = []
        self.rows: list[AuditEntry] = []

    def insert(self, entry: AuditEntry) -> None:
        at = bisect.bisect_right(self.keys, (entry.created_at, entry.id))
        self.keys.insert(at, (entry.created_at, entry.id))
        self.rows.insert(at, entry)

    def remove(self, entry: AuditEntry) -> None:
        key = (entry.created_at, entry.id)
        at = bisect.bisect_left(self.keys, key)
        while self.rows[at] is not entry:
            at += 1
        del self.keys[at], self.rows[at]

    def span(
        self, wanted: LogFilter, after: Position | None, order: Order = Order.NEWEST_FIRST
    ) -> range:
        """The indexes of rows in the filter's time range and after `after`, in `order`."""
        keys = self.keys
        low = bisect.bisect_left(keys, (wanted.since, "")) if wanted.since else 0
        high = bisect.bisect_left(keys, (wanted.until, "")) if wanted.until else len(keys)
        if order is Order.OLDEST_FIRST:
            if after is not None:
                low = max(low, bisect.bisect_right(keys, (after.created_at, after.entry_id)))
            return range(low, high)
        if after is not None:
            high = min(high, bisect.bisect_left(keys, (after.created_at, after.entry_id)))
        return range(high - 1, low - 1, -1)


class StoredEntries(MutableMapping[str, AuditEntry]):
    """The stored entries by id, kept in time order as a whole and per action (what an index
    on (action, created_at) gives a database, so a filtered page costs the page).

    The port only adds; writing or deleting through this mapping is a test playing someone
    with access to the database, who tampers behind the service's back."""

    def __init__(self) -> None:
        self.by_id: dict[str, AuditEntry] = {}
        self.all = _TimeOrder()
        self.by_action: dict[str, _TimeOrder] = {}
        self.by_key: dict[tuple[str, str], AuditEntry] = {}

    def __getitem__(self, entry_id: str) -> AuditEntry:
        return self.by_id[entry_id]

    def insert(self, entry: AuditEntry) -> None:
        """Store an entry under an id not yet taken (the caller has checked)."""
        self.by_id[entry.id] = entry
        if entry.idempotency_key is not None:
            self.by_key[entry.account, entry.idempotency_key] = entry
        self.all.insert(entry)
        order = self.by_action.get(entry.action)
        if order is None:
            order = self.by_action[entry.action] = _TimeOrder()
        order.insert(entry)

    def __setitem__(self, entry_id: str, entry: AuditEntry) -> None:
        assert entry_id == entry.id, "an entry is stored under its own id"
        if entry_id in self.by_id:
            del self[entry_id]
        self.insert(entry)

    def __delitem__(self, entry_id: str) -> None:
        entry = self.by_id.pop(entry_id)
        if entry.idempotency_key is not None:
            self.by_key.pop((entry.account, entry.idempotency_key), None)
        self.all.remove(entry)
        self.by_action[entry.action].remove(entry)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.by_id

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)


def _first_clash(entries: Sequence[AuditEntry], taken: Mapping[str, AuditEntry]) -> str:
    seen: set[str] = set()
    for entry in entries:
        if entry.id in taken or entry.id in seen:
            return entry.id
        seen.add(entry.id)
    raise AssertionError("no clash")


class InMemoryAuditEntries:
    """Append-only, like the real one: add and read only. Cheap enough to be the benchmarks'
    store too, so a benchmark measures the service's own cost."""

    def __init__(self) -> None:
        self.entries = StoredEntries()

    def __len__(self) -> int:
        return len(self.entries)

    async def add(self, entry: AuditEntry) -> None:
        if entry.id in self.entries:
            raise Conflict("audit entry", entry.id)
        self._check_keys([entry])
        self.entries.insert(entry)

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        stored, taken = self.entries, self.entries.by_id
        if skip_existing:
            fresh = [entry for entry in entries if entry.id not in taken]
            self._check_keys(fresh)
            for entry in fresh:
                stored.insert(entry)
            return
        # All or nothing: a batch naming a stored id, or one id twice, stores none of it.
        ids = {entry.id for entry in entries}
        if len(ids) < len(entries) or not taken.keys().isdisjoint(ids):
            raise Conflict("audit entry", _first_clash(entries, taken))
        self._check_keys(entries)
        for entry in entries:
            stored.insert(entry)

    def _check_keys(self, entries: Sequence[AuditEntry]) -> None:
        """An (account, idempotency key) stored already, or twice in `entries`, is taken."""
        stored, seen = self.entries.by_key, set()
        for entry in entries:
            if entry.idempotency_key is None:
                continue
            pair = (entry.account, entry.idempotency_key)
            if pair in stored or pair in seen:
                raise IdempotencyKeyTaken(*pair)
            seen.add(pair)

    async def holding_keys(self, keys: Sequence[tuple[str, str]]) -> list[AuditEntry]:
        by_key = self.entries.by_key
        return [by_key[pair] for pair in dict.fromkeys(keys) if pair in by_key]

    def _in_order(
        self,
        criteria: EntryCriteria,
        now: datetime,
        after: Position | None,
        order: Order = Order.NEWEST_FIRST,
    ) -> Iterator[AuditEntry]:
        wanted = criteria.filter
        index = self.entries.all
        if wanted.actions is not None and len(wanted.actions) == 1:
            found = self.entries.by_action.get(wanted.actions[0])
            if found is None:
                return
            index = found
        rows, admits = index.rows, criteria.admits
        for at in index.span(wanted, after, order):
            entry = rows[at]
            if entry.is_live(now) and admits(entry):
                yield entry

    async def query(
        self,
        criteria: EntryCriteria,
        *,
        now: datetime,
        after: Position | None,
        limit: int,
        order: Order = Order.NEWEST_FIRST,
    ) -> list[AuditEntry]:
        return list(itertools.islice(self._in_order(criteria, now, after, order), limit))

    async def get(self, entry_id: str, *, now: datetime) -> AuditEntry | None:
        found = self.entries.by_id.get(entry_id)
        return found if found is not None and found.is_live(now) else None

    async def first_created_at(self) -> datetime | None:
        keys = self.entries.all.keys
        return keys[0][0] if keys else None

    async def stream(
        self, criteria: EntryCriteria, *, now: datetime
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        entries = self._in_order(criteria, now, None)
        while batch := list(itertools.islice(entries, STREAM_BATCH)):
            yield batch


class GeneratedEntries:
    """An entry repository whose stream makes `count` entries as it goes (`make(i)`, newest
    first) and keeps none: an export of any size, in the memory of one entry. What is added
    (the service's own audit events) is counted and dropped. With `fail_after`, the stream
    raises StoreUnavailable after yielding that many, as a store going away would."""

    def __init__(
        self, count: int, make: Callable[[int], AuditEntry], *, fail_after: int | None = None
    ) -> None:
        self.count = count
        self.make = make
        self.fail_after = fail_after
        self.dropped = 0

    async def add(self, entry: AuditEntry) -> None:
        self.dropped += 1

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        self.dropped += len(entries)

    async def holding_keys(self, keys: Sequence[tuple[str, str]]) -> list[AuditEntry]:
        return []

    async def query(
        self,
        criteria: EntryCriteria,
        *,
        now: datetime,
        after: Position | None,
        limit: int,
        order: Order = Order.NEWEST_FIRST,
    ) -> list[AuditEntry]:
        return []

    async def get(self, entry_id: str, *, now: datetime) -> AuditEntry | None:
        return None

    async def first_created_at(self) -> datetime | None:
        return None

    async def stream(
        self, criteria: EntryCriteria, *, now: datetime
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        make = self.make
        for start in range(0, self.count, STREAM_BATCH):
            batch: list[AuditEntry] = []
            for i in range(start, min(start + STREAM_BATCH, self.count)):
                if i == self.fail_after:
                    if batch:
                        yield batch
                    raise StoreUnavailable()
                batch.append(make(i))
            yield batch


class InMemoryAccounts:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    async def add(self, account: Account) -> None:
        if account.id in self.accounts:
            raise Conflict("account", account.id)
        self.accounts[account.id] = account

    async def get(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    async def set_plan(self, account_id: str, plan: str) -> Account | None:
        if account_id not in self.accounts:
            return None
        self.accounts[account_id] = replace(self.accounts[account_id], plan=plan)
        return self.accounts[account_id]


class InMemoryApplications:
    def __init__(self) -> None:
        self.applications: dict[str, Application] = {}

    async def add(self, application: Application) -> None:
        if application.id in self.applications:
            raise Conflict("application", application.id)
        self.applications[application.id] = application

    async def get(self, application_id: str) -> Application | None:
        return self.applications.get(application_id)


class InMemoryApiKeys:
    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    async def add(self, key: ApiKey) -> None:
        if key.id in self.keys:
            raise Conflict("API key", key.id)
        self.keys[key.id] = key

    async def get(self, key_id: str) -> ApiKey | None:
        return self.keys.get(key_id)

    async def revoke(self, key_id: str) -> ApiKey | None:
        if key_id not in self.keys:
            return None
        self.keys[key_id] = self.keys[key_id].revoke()
        return self.keys[key_id]


class InMemoryExportLinks:
    """Export grants kept in a dict under random tokens: unforgeable, like signed ones."""

    def __init__(self) -> None:
        self.grants: dict[str, ExportGrant] = {}

    def seal(self, grant: ExportGrant) -> str:
        token = secrets.token_urlsafe(16)
        self.grants[token] = grant
        return token

    def open(self, token: str) -> ExportGrant:
        try:
            return self.grants[token]
        except KeyError:
            raise InvalidExportLink() from None


class InMemorySeals:
    def __init__(self) -> None:
        self.seals: dict[str, Seal] = {}

    async def add(self, seal: Seal) -> bool:
        if seal.id in self.seals:
            return False
        self.seals[seal.id] = seal
        return True

    async def get(self, seal_id: str) -> Seal | None:
        return self.seals.get(seal_id)

    async def latest(self, account: str) -> Seal | None:
        mine = [s for s in self.seals.values() if s.account == account]
        return max(mine, key=lambda s: s.window_start, default=None)

    async def in_range(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Seal]:
        return sorted(
            (
                s
                for s in self.seals.values()
                if s.account == account
                and (since is None or s.window_end > since)
                and (until is None or s.window_start < until)
            ),
            key=lambda s: s.window_start,
        )


class InMemorySealerState:
    def __init__(self) -> None:
        self.holder: str | None = None
        self.until: datetime | None = None
        self.through: datetime | None = None

    async def acquire(self, holder: str, *, now: datetime, until: datetime) -> bool:
        if self.holder not in (None, holder) and self.until is not None and self.until > now:
            return False
        self.holder, self.until = holder, until
        return True

    async def sealed_through(self) -> datetime | None:
        return self.through

    async def advance(self, holder: str, to: datetime) -> None:
        if holder == self.holder:
            self.through = to

    async def lease(self) -> Lease | None:
        if self.holder is None or self.until is None:
            return None
        return Lease(self.holder, self.until)


class InMemoryCheckpoints:
    """Checkpoints by sequence; `now` is the clock expiry is judged by (None: never)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.checkpoints: dict[int, Checkpoint] = {}
        self._now = now

    def _live(self) -> list[Checkpoint]:
        now = None if self._now is None else self._now()
        return sorted(
            (c for c in self.checkpoints.values() if now is None or c.expires_at > now),
            key=lambda c: c.sequence,
        )

    async def add(self, checkpoint: Checkpoint) -> bool:
        if checkpoint.sequence in self.checkpoints:
            return False
        self.checkpoints[checkpoint.sequence] = checkpoint
        return True

    async def latest(self) -> Checkpoint | None:
        live = self._live()
        return live[-1] if live else None

    async def get(self, sequence: int) -> Checkpoint | None:
        return next((c for c in self._live() if c.sequence == sequence), None)

    async def after(self, sequence: int, limit: int) -> list[Checkpoint]:
        return [c for c in self._live() if c.sequence > sequence][:limit]

    async def listing(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Checkpoint]:
        return [
            c
            for c in self._live()
            if any(
                head.account == account
                and (since is None or head.window_start >= since)
                and (until is None or head.window_start < until)
                for head in c.sealed
            )
        ]


class HmacSealKeys:
    """Signs and verifies with an HMAC: a stand-in for Ed25519 in use-case tests."""

    key_id = "test-key"

    def __init__(self, secret: bytes = b"seal-test-secret") -> None:
        self._secret = secret

    def sign(self, message: bytes) -> str:
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, key_id: str, message: bytes, signature: str) -> bool:
        return key_id == self.key_id and hmac.compare_digest(self.sign(message), signature)


class InMemoryLogStreams:
    """Log streams by id, written whole; `replace` compares and sets on `version`."""

    def __init__(self) -> None:
        self.streams: dict[str, LogStream] = {}
        self.replaces = 0
        """How many compare-and-set writes were asked for (what a batch costs the store)."""
        self.damaged: set[str] = set()

    async def add(self, stream: LogStream) -> None:
        if stream.id in self.streams:
            raise Conflict("log stream", stream.id)
        self.streams[stream.id] = stream

    async def get(self, stream_id: str) -> LogStream | None:
        found = self.streams.get(stream_id)
        return None if found is None else self._read(found)

    def damage(self, stream_id: str) -> None:
        """From now on the stream no longer reads back, as a row edited by hand: reading
        it (get, list) raises UnreadableStream; `readable` sets it aside."""
        self.damaged.add(stream_id)

    def _read(self, stream: LogStream) -> LogStream:
        if stream.id in self.damaged:
            raise UnreadableStream(stream.id, ValueError("damaged"))
        return stream

    async def list(self, account: str | None = None) -> list[LogStream]:
        return [
            self._read(s)
            for s in sorted(self.streams.values(), key=lambda s: (s.created_at, s.id))
            if account is None or s.account == account
        ]

    async def readable(self) -> Readable:
        ordered = sorted(self.streams.values(), key=lambda s: (s.created_at, s.id))
        return read_each(ordered, self._read)

    async def replace(self, stream: LogStream, *, expected_version: int) -> bool:
        self.replaces += 1
        stored = self.streams.get(stream.id)
        if stored is None or stored.version != expected_version:
            return False
        self.streams[stream.id] = stream
        return True

    async def delete(self, stream_id: str) -> bool:
        return self.streams.pop(stream_id, None) is not None
