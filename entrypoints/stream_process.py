"""The server's side of its log stream delivery process (entrypoints/stream_worker.py).

Started when the store first holds a stream that may need work (a server with no streams
runs no second process), kept running, and started again when it dies (a backoff from 1 s
to a minute, back to 1 s once one has lived a minute). Only one at a time: another is
started only once the last has exited, so two never deliver under the server's name. What
it counts comes back on its stdout and goes to this server's metrics. Stopping closes its
stdin, which it takes as the signal to finish; one that does not finish within the grace
period is killed (what it was sending is sent again: at least once).

It runs in its own session, so a terminal's Ctrl-C reaches the server alone, which stops it.
"""

import asyncio
import contextlib
import logging
import sys
import time
from asyncio.subprocess import PIPE, Process

import orjson

from application.streams.delivery import StreamTelemetry
from application.streams.ports import LogStreamStore
from domain.streams import StreamKind, StreamState
from entrypoints.settings import Settings
from entrypoints.stream_worker import Handoff

log = logging.getLogger("auditlog")
_KINDS = frozenset(kind.value for kind in StreamKind)
COMMAND = (sys.executable, "-m", "entrypoints.stream_worker")


class DeliveryProcess:
    def __init__(
        self,
        settings: Settings,
        *,
        owner: str,
        streams: LogStreamStore,
        telemetry: StreamTelemetry,
        grace_seconds: float = 10.0,
        command: tuple[str, ...] = COMMAND,
    ) -> None:
        self._handoff = Handoff(settings, owner)
        self._streams = streams
        self._telemetry = telemetry
        self._grace = grace_seconds
        self._command = command
        self._process: Process | None = None
        self._relay: asyncio.Task[None] | None = None
        self._wanted = False
        self._started_at = 0.0
        self._backoff = 1.0
        self._not_before = 0.0
        self.starts = 0
        """How many processes were started (the first, and each after one died)."""

    @property
    def pid(self) -> int | None:
        process = self._process
        return None if process is None or process.returncode is not None else process.pid

    async def check(self) -> None:
        """One look (a Periodic step): start the process if there is work and none runs."""
        process = self._process
        if process is not None:
            if process.returncode is None:
                return
            await self._reaped(process)
        if time.monotonic() < self._not_before:
            return
        if not self._wanted:
            self._wanted = await self._any_stream()
            if not self._wanted:
                return
        try:
            await self._start()
        except OSError as exc:  # could not even start it: wait as after one that died
            log.warning(
                "the log stream delivery process could not start (%s); trying again in %.0f s",
                type(exc).__name__,
                self._backoff,
            )
            self._not_before = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 60.0)

    async def _any_stream(self) -> bool:
        try:
            found = await self._streams.readable()
        except Exception:  # unavailable: the process says so, each pass
            return True
        return bool(found.unreadable) or any(
            stream.state is not StreamState.DISABLED for stream in found.streams
        )

    async def _start(self) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._command, stdin=PIPE, stdout=PIPE, start_new_session=True
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(self._handoff.encode())
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()  # if it died at once: reaped at the next look
        self._process = process
        self._started_at = time.monotonic()
        self.starts += 1
        self._relay = asyncio.create_task(self._count(process.stdout), name="stream reports")

    async def _reaped(self, process: Process) -> None:
        """A process that exited by itself: wait before the next, longer each time."""
        self._process = None
        if self._relay is not None:
            await self._relay
        lived = time.monotonic() - self._started_at
        if lived >= 60:
            self._backoff = 1.0
        log.warning(
            "the log stream delivery process exited (code %s); starting another in %.0f s",
            process.returncode,
            self._backoff,
        )
        self._not_before = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 60.0)

    async def _count(self, reports: asyncio.StreamReader) -> None:
        async for line in reports:
            try:
                self._apply(orjson.loads(line))
            except (ValueError, TypeError):
                log.warning("the log stream delivery process sent a report this server cannot read")

    def _apply(self, report: object) -> None:
        match report:
            case ["delivered", str(kind), int(entries)] if kind in _KINDS and entries >= 0:
                self._telemetry.stream_delivered(kind, entries)
            case ["failed", str(kind), str(code)] if kind in _KINDS and code.isupper():
                self._telemetry.stream_failed(kind, code[:64])
            case ["lag", int(seconds) | float(seconds)] if seconds >= 0:
                self._telemetry.stream_lag(float(seconds))
            case _:
                raise ValueError("unknown report")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()  # its lifeline: it finishes and exits
            try:
                await asyncio.wait_for(process.wait(), self._grace)
            except TimeoutError:
                log.warning("the log stream delivery process did not stop in time: killed")
                process.kill()
                await process.wait()
        if self._relay is not None:
            await self._relay
