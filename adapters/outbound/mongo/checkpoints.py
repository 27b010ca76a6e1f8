"""The sealer's checkpoints on Beanie: inserted and read, never updated.

A document keeps the checkpoint's own (`Checkpoint.document()`), so what is read back is
what was signed, under `_id` its sequence (a taken sequence is a duplicate key), with the
(account, window start) of each seal it lists and its expires_at beside it for the indexes.
MongoDB's TTL monitor deletes an expired one when it wakes (about every 60 s); until then
every read excludes it, so an expired checkpoint is never returned.
"""

from datetime import UTC, datetime
from typing import Any

from beanie import SortDirection

from adapters.outbound.mongo.documents import CheckpointDocument, ListedSealDocument
from adapters.outbound.mongo.errors import StoreCalls
from application.errors import Conflict
from domain.checkpoint import Checkpoint


class BeanieCheckpoints:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, checkpoint: Checkpoint) -> bool:
        document = CheckpointDocument(
            _id=checkpoint.sequence,
            document=checkpoint.document(),
            sealed=[
                ListedSealDocument(account=head.account, window_start=head.window_start)
                for head in checkpoint.sealed
            ],
            expires_at=checkpoint.expires_at,
        )
        try:
            async with self._call("checkpoint", str(checkpoint.sequence)):
                await document.insert()
        except Conflict:
            return False
        return True

    async def latest(self) -> Checkpoint | None:
        found = await self._find({}, descending=True, limit=1)
        return found[0] if found else None

    async def get(self, sequence: int) -> Checkpoint | None:
        found = await self._find({"_id": sequence}, limit=1)
        return found[0] if found else None

    async def after(self, sequence: int, limit: int) -> list[Checkpoint]:
        if limit <= 0:
            return []  # not "no limit", as LIMIT -1 and MongoDB's limit 0 would read it
        return await self._find({"_id": {"$gt": sequence}}, limit=limit)

    async def listing(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Checkpoint]:
        # One listed seal must match all of it: $elemMatch, not a condition on each path.
        window: dict[str, Any] = {}
        if since is not None:
            window["$gte"] = since
        if until is not None:
            window["$lt"] = until
        listed: dict[str, Any] = {"account": account}
        if window:
            listed["window_start"] = window
        return await self._find({"sealed": {"$elemMatch": listed}})

    async def _find(
        self, query: dict[str, Any], *, descending: bool = False, limit: int = 0
    ) -> list[Checkpoint]:
        live = {**query, "expires_at": {"$gt": datetime.now(UTC)}}
        order = SortDirection.DESCENDING if descending else SortDirection.ASCENDING
        async with self._call():
            documents = await CheckpointDocument.find(
                live, sort=[("_id", order)], limit=limit
            ).to_list()
        return [Checkpoint.from_document(d.document) for d in documents]
