"""Seals and the sealer's lease on Beanie. Seals are inserted and read, never updated."""

from datetime import UTC, datetime
from typing import Any

from beanie import SortDirection
from pymongo import ReturnDocument

from adapters.outbound.mongo.documents import SealDocument, SealerStateDocument
from adapters.outbound.mongo.errors import StoreCalls
from adapters.outbound.mongo.mappers import seal_to_document, seal_to_domain
from application.errors import Conflict
from application.ports import Lease
from domain.integrity import Seal

_STATE = "sealer"


class BeanieSeals:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, seal: Seal) -> bool:
        try:
            async with self._call("seal", seal.id):
                await seal_to_document(seal).insert()
        except Conflict:
            return False
        return True

    async def get(self, seal_id: str) -> Seal | None:
        async with self._call():
            document = await SealDocument.get(seal_id)
        return None if document is None else seal_to_domain(document)

    async def latest(self, account: str) -> Seal | None:
        async with self._call():
            document = await SealDocument.find(
                {"account": account}, sort=[("window_start", SortDirection.DESCENDING)]
            ).first_or_none()
        return None if document is None else seal_to_domain(document)

    async def in_range(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Seal]:
        query: dict[str, Any] = {"account": account}
        if since is not None:
            query["window_end"] = {"$gt": since}
        if until is not None:
            query["window_start"] = {"$lt": until}
        async with self._call():
            documents = await SealDocument.find(
                query, sort=[("window_start", SortDirection.ASCENDING)]
            ).to_list()
        return [seal_to_domain(d) for d in documents]


class BeanieSealerState:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def acquire(self, holder: str, *, now: datetime, until: datetime) -> bool:
        collection = SealerStateDocument.get_motor_collection()
        try:
            async with self._call():
                taken = await collection.find_one_and_update(
                    {"_id": _STATE, "$or": [{"until": {"$lte": now}}, {"holder": holder}]},
                    {"$set": {"holder": holder, "until": until}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
        except Conflict:
            return False  # the lease exists and another holder's has not run out
        return taken is not None and taken.get("holder") == holder

    async def sealed_through(self) -> datetime | None:
        async with self._call():
            document = await SealerStateDocument.get(_STATE)
        if document is None or document.sealed_through is None:
            return None
        return document.sealed_through.astimezone(UTC)

    async def lease(self) -> Lease | None:
        async with self._call():
            document = await SealerStateDocument.get(_STATE)
        return None if document is None else Lease(document.holder, document.until.astimezone(UTC))

    async def advance(self, holder: str, to: datetime) -> None:
        async with self._call():
            await SealerStateDocument.get_motor_collection().update_one(
                {"_id": _STATE, "holder": holder}, {"$set": {"sealed_through": to}}
            )
