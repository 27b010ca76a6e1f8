"""Reads on read-only connections in a small thread pool, beside the writer (WAL)."""

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from adapters.outbound.sqlite.errors import unavailable
from application.errors import StoreUnavailable

T = TypeVar("T")

READ_THREADS = 4


class Readers:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sqlite-read")
        self._closed = False

    async def __call__(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """Run `read` on this thread's connection; a driver error is `StoreUnavailable`, and
        so is a read after `close`."""
        if self._closed:
            raise StoreUnavailable()
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, read)

    def _run(self, read: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return read(self._connection())
        except sqlite3.Error as exc:
            raise unavailable(exc) from None

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    async def close(self) -> None:
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown, wait=True)
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
