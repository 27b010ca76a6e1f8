"""A task that runs a step every `interval` seconds until stopped: the sealer's loop and the
embedded stores' expiry sweeps. A failed step is logged (by its class only: a driver's
message can quote values) and the next one runs on time: a failing store must not stop the
loop for good."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(
        self,
        step: Callable[[], Awaitable[object]],
        *,
        interval: float,
        name: str,
        log: logging.Logger,
        first_at_start: bool = False,
    ) -> None:
        self._step = step
        self._interval = interval
        self._name = name
        self._log = log
        self._first_at_start = first_at_start
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        if not self._first_at_start:
            await asyncio.sleep(self._interval)
        while True:
            try:
                await self._step()
            except Exception as exc:
                self._log.warning("%s failed: %s", self._name, type(exc).__name__)
            await asyncio.sleep(self._interval)
