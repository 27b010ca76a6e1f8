"""Stores that cost almost nothing, so a benchmark measures the service's own cost.

Entries are kept in creation order (a time range or a keyset position is a bisect away);
accounts, applications and keys in dicts. They implement the same ports as the MongoDB
adapters and keep the same rules (live entries only, newest first, filters, keyset).
"""

import bisect
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from application.criteria import EntryCriteria, Position
from application.errors import Conflict
from domain.entry import AuditEntry
from domain.integrity import Seal
from domain.tenancy import Account, ApiKey, Application


class _Ordered:
    """Entries in (created_at, id) order, with their keys for bisecting."""

    def __init__(self) -> None:
        self.keys: list[tuple[datetime, str]] = []
        self.rows: list[AuditEntry] = []

    def insert(self, entry: AuditEntry) -> bool:
        key = (entry.created_at, entry.id)
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            return False
        self.keys.insert(at, key)
        self.rows.insert(at, entry)
        return True

    def newest_first(self, criteria: EntryCriteria, after: Position | None) -> Iterator[AuditEntry]:
        keys = self.keys
        low = bisect.bisect_left(keys, (criteria.filter.since, "")) if criteria.filter.since else 0
        high = (
            bisect.bisect_left(keys, (criteria.filter.until, ""))
            if criteria.filter.until
            else len(keys)
        )
        if after is not None:
            high = min(high, bisect.bisect_left(keys, (after.created_at, after.entry_id)))
        rows = self.rows
        for index in range(high - 1, low - 1, -1):
            yield rows[index]


class TimeOrderedEntries:
    """All entries in time order, and per action too: what an index on (action, created_at)
    gives a database, so a filtered page costs the page, not the store."""

    def __init__(self) -> None:
        self._all = _Ordered()
        self._by_action: dict[str, _Ordered] = {}

    def __len__(self) -> int:
        return len(self._all.rows)

    async def add(self, entry: AuditEntry) -> None:
        await self.add_many([entry])

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        for entry in entries:
            if not self._all.insert(entry):
                if skip_existing:
                    continue
                raise Conflict("audit entry", entry.id)
            self._by_action.setdefault(entry.action, _Ordered()).insert(entry)

    def _newest_first(
        self, criteria: EntryCriteria, after: Position | None
    ) -> Iterator[AuditEntry]:
        if criteria.filter.actions is not None and len(criteria.filter.actions) == 1:
            index = self._by_action.get(criteria.filter.actions[0])
            return iter(()) if index is None else index.newest_first(criteria, after)
        return self._all.newest_first(criteria, after)

    async def query(
        self, criteria: EntryCriteria, *, now: datetime, after: Position | None, limit: int
    ) -> list[AuditEntry]:
        page: list[AuditEntry] = []
        for entry in self._newest_first(criteria, after):
            if entry.expires_at > now and criteria.admits(entry):
                page.append(entry)
                if len(page) == limit:
                    break
        return page

    async def stream(self, criteria: EntryCriteria, *, now: datetime) -> AsyncIterator[AuditEntry]:
        for entry in self._newest_first(criteria, None):
            if entry.expires_at > now and criteria.admits(entry):
                yield entry

    async def first_created_at(self) -> datetime | None:
        return self._all.keys[0][0] if self._all.keys else None


class Directory:
    """Accounts, applications and keys in dicts: the three directory ports at once."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.applications: dict[str, Application] = {}
        self.keys: dict[str, ApiKey] = {}

    async def add(self, item: Account | Application | ApiKey) -> None:
        table = self._table(item)
        if item.id in table:
            raise Conflict(type(item).__name__, item.id)
        table[item.id] = item  # type: ignore[assignment]

    def _table(self, item: object) -> dict:  # type: ignore[type-arg]
        if isinstance(item, Account):
            return self.accounts
        if isinstance(item, Application):
            return self.applications
        return self.keys

    async def set_plan(self, account_id: str, plan: str) -> Account | None:
        if account_id not in self.accounts:
            return None
        self.accounts[account_id] = replace(self.accounts[account_id], plan=plan)
        return self.accounts[account_id]

    async def revoke(self, key_id: str) -> ApiKey | None:
        if key_id not in self.keys:
            return None
        self.keys[key_id] = self.keys[key_id].revoke()
        return self.keys[key_id]


class AccountsView:
    def __init__(self, directory: Directory) -> None:
        self._d = directory

    async def add(self, account: Account) -> None:
        await self._d.add(account)

    async def get(self, account_id: str) -> Account | None:
        return self._d.accounts.get(account_id)

    async def set_plan(self, account_id: str, plan: str) -> Account | None:
        return await self._d.set_plan(account_id, plan)


class ApplicationsView:
    def __init__(self, directory: Directory) -> None:
        self._d = directory

    async def add(self, application: Application) -> None:
        await self._d.add(application)

    async def get(self, application_id: str) -> Application | None:
        return self._d.applications.get(application_id)


class KeysView:
    def __init__(self, directory: Directory) -> None:
        self._d = directory

    async def add(self, key: ApiKey) -> None:
        await self._d.add(key)

    async def get(self, key_id: str) -> ApiKey | None:
        return self._d.keys.get(key_id)

    async def revoke(self, key_id: str) -> ApiKey | None:
        return await self._d.revoke(key_id)


class Seals:
    def __init__(self) -> None:
        self.by_id: dict[str, Seal] = {}
        self._latest: dict[str, Seal] = {}

    async def add(self, seal: Seal) -> bool:
        if seal.id in self.by_id:
            return False
        self.by_id[seal.id] = seal
        if (
            seal.account not in self._latest
            or seal.window_start > self._latest[seal.account].window_start
        ):
            self._latest[seal.account] = seal
        return True

    async def get(self, seal_id: str) -> Seal | None:
        return self.by_id.get(seal_id)

    async def latest(self, account: str) -> Seal | None:
        return self._latest.get(account)

    async def in_range(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Seal]:
        return sorted(
            (
                s
                for s in self.by_id.values()
                if s.account == account
                and (since is None or s.window_end > since)
                and (until is None or s.window_start < until)
            ),
            key=lambda s: s.window_start,
        )


class SealerState:
    def __init__(self) -> None:
        self.through: datetime | None = None

    async def acquire(self, holder: str, *, now: datetime, until: datetime) -> bool:
        return True

    async def sealed_through(self) -> datetime | None:
        return self.through

    async def advance(self, holder: str, to: datetime) -> None:
        self.through = to
