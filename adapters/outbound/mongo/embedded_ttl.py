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

import logging
from collections.abc import Callable
from typing import Any

from application.periodic import Periodic

log = logging.getLogger(__name__)


def _no_expiry_on_access() -> None:
    """Replaces mongomock's per-access scan."""


class EmbeddedTtlMonitor:
    def __init__(self, collections: list[Any], *, interval_seconds: float) -> None:
        self._sweeps: list[Callable[[], None]] = []
        for collection in collections:
            store = collection._store
            self._sweeps.append(store._remove_expired_documents)
            store._remove_expired_documents = _no_expiry_on_access
        self._loop = Periodic(
            self._sweep, interval=interval_seconds, name="embedded TTL sweep", log=log
        )

    def sweep(self) -> None:
        """Delete every document whose TTL has passed, now."""
        for sweep in self._sweeps:
            sweep()

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _sweep(self) -> None:
        self.sweep()
