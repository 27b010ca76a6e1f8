"""Accounts, applications and API keys on SQLite."""

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from adapters.outbound.sqlite.errors import inserting
from adapters.outbound.sqlite.mappers import (
    ACCOUNT_COLUMNS,
    APPLICATION_COLUMNS,
    KEY_COLUMNS,
    account_to_domain,
    account_to_row,
    application_to_domain,
    application_to_row,
    key_to_domain,
    key_to_row,
)
from adapters.outbound.sqlite.readers import Readers
from adapters.outbound.sqlite.writer import Writer
from domain.tenancy import Account, ApiKey, Application

T = TypeVar("T")


class _Table:
    """Insert with `Conflict` on a taken id, read one row by id, update one and read it back."""

    def __init__(self, writer: Writer, readers: Readers, table: str, columns: str) -> None:
        self._write = writer
        self._read = readers
        self._table = table
        self._columns = columns

    async def insert(self, kind: str, ident: str, row: tuple[Any, ...]) -> None:
        marks = ", ".join("?" * len(row))
        sql = f"INSERT INTO {self._table} ({self._columns}) VALUES ({marks})"

        def insert(conn: sqlite3.Connection) -> None:
            with inserting(kind, ident):
                conn.execute(sql, row)

        await self._write(insert)

    async def get(self, ident: str, to_domain: Callable[[Sequence[Any]], T]) -> T | None:
        sql = f"SELECT {self._columns} FROM {self._table} WHERE id = ?"

        def read(conn: sqlite3.Connection) -> T | None:
            row = conn.execute(sql, (ident,)).fetchone()
            return None if row is None else to_domain(row)

        return await self._read(read)

    async def update(
        self, ident: str, assignment: str, value: Any, to_domain: Callable[[Sequence[Any]], T]
    ) -> T | None:
        sql = f"UPDATE {self._table} SET {assignment} WHERE id = ? RETURNING {self._columns}"

        def update(conn: sqlite3.Connection) -> T | None:
            row = conn.execute(sql, (value, ident)).fetchone()
            return None if row is None else to_domain(row)

        return await self._write(update)


class SqliteAccounts:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._table = _Table(writer, readers, "accounts", ACCOUNT_COLUMNS)

    async def add(self, account: Account) -> None:
        await self._table.insert("account", account.id, account_to_row(account))

    async def get(self, account_id: str) -> Account | None:
        return await self._table.get(account_id, account_to_domain)

    async def set_plan(self, account_id: str, plan: str) -> Account | None:
        return await self._table.update(account_id, "plan = ?", plan, account_to_domain)


class SqliteApplications:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._table = _Table(writer, readers, "applications", APPLICATION_COLUMNS)

    async def add(self, application: Application) -> None:
        await self._table.insert("application", application.id, application_to_row(application))

    async def get(self, application_id: str) -> Application | None:
        return await self._table.get(application_id, application_to_domain)


class SqliteApiKeys:
    def __init__(self, writer: Writer, readers: Readers) -> None:
        self._table = _Table(writer, readers, "api_keys", KEY_COLUMNS)

    async def add(self, key: ApiKey) -> None:
        await self._table.insert("API key", key.id, key_to_row(key))

    async def get(self, key_id: str) -> ApiKey | None:
        return await self._table.get(key_id, key_to_domain)

    async def revoke(self, key_id: str) -> ApiKey | None:
        return await self._table.update(key_id, "revoked = ?", 1, key_to_domain)
