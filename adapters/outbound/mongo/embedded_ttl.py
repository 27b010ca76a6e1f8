"""Expiry for the embedded store, done the way MongoDB's TTL monitor does it.

mongomock emulates a TTL index by scanning the whole collection on every access, so inserts
slow from about 20,000/s to about 200/s by 5,000 stored entries. MongoDB instead deletes
expired documents in a background sweep about every 60 seconds. This monitor turns the
per-access scan off for the collections given and runs mongomock's own expiry as such a
sweep. Entries past `expires_at` but not yet swept are still never returned: the
repository excludes them in every query.

It reaches into mongomock's `CollectionStore` (pinned mongomock 4.3); the adapter tests
prove both halves, so an upgrade that moves the internals fails loudly.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _no_expiry_on_access() -> None:
    """Replaces mongomock's per-access scan."""


class EmbeddedTtlMonitor:
    def __init__(self, collections: list[Any], *, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._sweeps: list[Callable[[], None]] = []
        for collection in collections:
            store = collection._store
            self._sweeps.append(store._remove_expired_documents)
            store._remove_expired_documents = _no_expiry_on_access
        self._task: asyncio.Task[None] | None = None

    def sweep(self) -> None:
        """Delete every document whose TTL has passed, now."""
        for sweep in self._sweeps:
            sweep()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="embedded-ttl-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.sweep()
            except Exception:
                log.exception("embedded TTL sweep failed; retrying at the next interval")
