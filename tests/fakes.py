"""Hand-written in-memory fakes of the ports, for use-case tests (and as the benchmark floor)."""

import hashlib
import hmac
import itertools
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from application.criteria import EntryCriteria, Position
from application.errors import Conflict
from application.export_grant import ExportGrant, InvalidExportLink
from domain.entry import AuditEntry
from domain.integrity import Seal
from domain.tenancy import Account, ApiKey, Application


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


class InMemoryAuditEntries:
    """Append-only, like the real one: add and read only."""

    def __init__(self) -> None:
        self.entries: dict[str, AuditEntry] = {}

    async def add(self, entry: AuditEntry) -> None:
        if entry.id in self.entries:
            raise Conflict("audit entry", entry.id)
        self.entries[entry.id] = entry

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        if not skip_existing:
            clash = next((e.id for e in entries if e.id in self.entries), None)
            if clash is not None:
                raise Conflict("audit entry", clash)
        for entry in entries:
            self.entries.setdefault(entry.id, entry)

    def _live_newest_first(self, criteria: EntryCriteria, now: datetime) -> list[AuditEntry]:
        rows = [e for e in self.entries.values() if e.is_live(now) and criteria.admits(e)]
        return sorted(rows, key=lambda e: (e.created_at, e.id), reverse=True)

    async def query(
        self, criteria: EntryCriteria, *, now: datetime, after: Position | None, limit: int
    ) -> list[AuditEntry]:
        rows = self._live_newest_first(criteria, now)
        if after is not None:
            rows = [e for e in rows if (e.created_at, e.id) < (after.created_at, after.entry_id)]
        return rows[:limit]

    async def first_created_at(self) -> datetime | None:
        return min((e.created_at for e in self.entries.values()), default=None)

    async def stream(self, criteria: EntryCriteria, *, now: datetime) -> AsyncIterator[AuditEntry]:
        for entry in self._live_newest_first(criteria, now):
            yield entry


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


class HmacSealKeys:
    """Signs and verifies with an HMAC: a stand-in for Ed25519 in use-case tests."""

    key_id = "test-key"

    def __init__(self, secret: bytes = b"seal-test-secret") -> None:
        self._secret = secret

    def sign(self, message: bytes) -> str:
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, key_id: str, message: bytes, signature: str) -> bool:
        return key_id == self.key_id and hmac.compare_digest(self.sign(message), signature)
