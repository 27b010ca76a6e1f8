"""One thread owns the one write connection and commits concurrent writes together.

Each write is a function of the connection, queued with the caller's future. The thread takes
everything queued, runs it in one transaction (each write in its own SAVEPOINT, so one
caller's failure -- a taken id -- is rolled back alone), commits once, and only then resolves
every caller: an add returns after its commit. With `synchronous=FULL` a commit is an fsync,
so grouping turns N fsyncs into one under load, without weakening the promise.
"""

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from adapters.outbound.sqlite.errors import unavailable
from application.errors import StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_GROUP = 512
"""Writes per transaction at most, so one commit never waits on an unbounded queue."""

Write = Callable[[sqlite3.Connection], Any]
_Job = tuple[Write, "Future[Any]"]


BUSY_POLL_SECONDS = (0.0002, 0.002)
"""How soon, then how often at most, the writer asks again for the write lock another
process holds: SQLite's own busy handler waits 1, 2, 5, 10, ... 100 ms between tries, and
against a process that writes back to back (a server under load, beside its delivery
process) it kept missing the moments the lock was free (a write waited ~150 ms, often the
whole busy timeout). Asked this often, a write gets the lock within a commit or two."""


def begin_immediate(conn: sqlite3.Connection, patience: float) -> None:
    """BEGIN IMMEDIATE (the write lock), asked for again and again up to `patience`
    seconds while another connection holds it; then its SQLITE_BUSY is raised. The
    connection's own busy timeout must be 0, or each try would wait on its own."""
    deadline = time.monotonic() + patience
    pause, most = BUSY_POLL_SECONDS
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, most)


class Writer:
    def __init__(self, connect: Callable[[], sqlite3.Connection], *, patience: float) -> None:
        """`connect` opens the write connection with a busy timeout of 0; `patience` is how
        long a group waits for the write lock (the store's busy timeout)."""
        self._connect = connect
        self._patience = patience
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._opened: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)

    async def start(self) -> None:
        """Open the connection in the thread; raises whatever opening it raised."""
        self._thread.start()
        await asyncio.wrap_future(self._opened)

    async def __call__(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Run `write` in the next group transaction and return its result once committed."""
        if self._closed:
            raise StoreUnavailable()
        future: Future[T] = Future()
        self._queue.put((write, future))
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        """Finish every write queued so far, then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._opened.set_exception(exc)
            return
        self._opened.set_result(None)
        try:
            while True:
                group, stop = self._take()
                try:
                    self._commit(conn, group)
                except Exception:
                    # A bug of ours: the writer stops, and no caller waits on it forever.
                    log.exception("the SQLite writer stopped")
                    for _, future in group:
                        if not future.done():
                            future.set_exception(StoreUnavailable())
                    return
                if stop:
                    return
        finally:
            conn.close()
            self._closed = True
            self._fail_queued()

    def _fail_queued(self) -> None:
        """No caller waits forever on a writer that has stopped."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[1].set_running_or_notify_cancel():
                job[1].set_exception(StoreUnavailable())

    def _take(self) -> tuple[list[_Job], bool]:
        job = self._queue.get()
        group: list[_Job] = []
        while job is not None:
            # Once running, a caller's cancellation no longer races its result.
            if job[1].set_running_or_notify_cancel():
                group.append(job)
            if len(group) >= MAX_GROUP:
                return group, False
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return group, False
        return group, True

    def _commit(self, conn: sqlite3.Connection, group: list[_Job]) -> None:
        if not group:
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            begin_immediate(conn, self._patience)
            # Alone in its transaction, a write needs no savepoint (they cost ~15% a write).
            alone = len(group) == 1
            for write, _ in group:
                outcomes.append(_attempt(conn, write, savepoint=not alone))
            conn.execute("COMMIT" if outcomes[0][0] or not alone else "ROLLBACK")
        except Exception as exc:
            # Nothing in the group is durable: every caller hears the store failed.
            _rollback(conn)
            if isinstance(exc, sqlite3.Error):
                failure = unavailable(exc)
            else:
                log.exception("write failed unexpectedly")
                failure = StoreUnavailable()
            for _, future in group:
                _settle(future, False, failure)
            return
        for (_, future), (ok, value) in zip(group, outcomes, strict=True):
            _settle(future, ok, value)


def _attempt(conn: sqlite3.Connection, write: Write, *, savepoint: bool) -> tuple[bool, Any]:
    """Run one caller's write; its own failure (a taken id, a refused statement) is rolled
    back to its savepoint and kept for it alone. Any other driver error (busy, disk full,
    I/O) leaves the transaction in doubt, so it aborts the whole group (re-raised)."""
    if savepoint:
        conn.execute("SAVEPOINT write")
    try:
        result = write(conn)
    except sqlite3.IntegrityError as exc:
        failure: Exception = unavailable(exc)
    except sqlite3.Error:
        raise
    except Exception as exc:
        failure = exc
    else:
        if savepoint:
            conn.execute("RELEASE write")
        return True, result
    if savepoint:
        conn.execute("ROLLBACK TO write")
        conn.execute("RELEASE write")
    return False, failure


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        log.warning("rollback failed: %s", getattr(exc, "sqlite_errorname", type(exc).__name__))


def _settle(future: "Future[Any]", ok: bool, value: Any) -> None:
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
