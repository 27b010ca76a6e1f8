"""The audit entry repository on Beanie: insert and read, and nothing that changes an entry."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from beanie import SortDirection
from pymongo.errors import BulkWriteError

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.errors import StoreCalls, only_duplicate_keys, translated_errors
from adapters.outbound.mongo.mappers import entry_to_document, entry_to_domain
from application.reading.criteria import EntryCriteria, Position
from domain.entry import AuditEntry

_NEWEST_FIRST = [("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)]
STREAM_BATCH_SIZE = 1_000


class BeanieAuditEntryRepository:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, entry: AuditEntry) -> None:
        async with self._call("audit entry", entry.id):
            await entry_to_document(entry).insert()

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        if not entries:
            return
        documents = [entry_to_document(e) for e in entries]
        # Ids are assigned before the insert: Beanie 1.30's insert_many leaves them unset.
        async with self._call("audit entry", entries[0].id):
            try:
                # Unordered when skipping: the insert goes on past ids already stored.
                await AuditLogDocument.insert_many(documents, ordered=not skip_existing)
            except BulkWriteError as exc:
                if not (skip_existing and only_duplicate_keys(exc)):
                    raise

    async def query(
        self, criteria: EntryCriteria, *, now: datetime, after: Position | None, limit: int
    ) -> list[AuditEntry]:
        async with self._call():
            documents = await AuditLogDocument.find(
                mongo_filter(criteria, now=now, after=after), sort=_NEWEST_FIRST, limit=limit
            ).to_list()
        return [entry_to_domain(d) for d in documents]

    async def get(self, entry_id: str, *, now: datetime) -> AuditEntry | None:
        async with self._call():
            document = await AuditLogDocument.find_one(
                {"_id": entry_id, "expires_at": {"$gt": now}}
            )
        return None if document is None else entry_to_domain(document)

    async def first_created_at(self) -> datetime | None:
        async with self._call():
            oldest = await AuditLogDocument.find(
                {}, sort=[("created_at", SortDirection.ASCENDING)]
            ).first_or_none()
        return None if oldest is None else entry_to_domain(oldest).created_at

    async def stream(
        self, criteria: EntryCriteria, *, now: datetime
    ) -> AsyncIterator[Sequence[AuditEntry]]:
        cursor = AuditLogDocument.find(
            mongo_filter(criteria, now=now, after=None),
            sort=_NEWEST_FIRST,
            batch_size=STREAM_BATCH_SIZE,
        )
        # Not bounded as a whole (an export may take minutes): each read is, by the driver's
        # socket timeout.
        batch: list[AuditEntry] = []
        with translated_errors():
            async for document in cursor:
                batch.append(entry_to_domain(document))
                if len(batch) == STREAM_BATCH_SIZE:
                    yield batch
                    batch = []
        if batch:
            yield batch


def mongo_filter(
    criteria: EntryCriteria, *, now: datetime, after: Position | None
) -> dict[str, Any]:
    """The query document. Expired entries are excluded here, before the TTL monitor runs."""
    wanted = criteria.filter
    query: dict[str, Any] = {"expires_at": {"$gt": now}}
    equalities = {
        "account": wanted.account,
        "application": wanted.application,
        "email": wanted.email,
        "success": wanted.success,
    }
    query.update({field: value for field, value in equalities.items() if value is not None})
    if wanted.actions is not None:
        query["action"] = {"$in": list(wanted.actions)}
    created: dict[str, datetime] = {}
    if wanted.since is not None:
        created["$gte"] = wanted.since
    if wanted.until is not None:
        created["$lt"] = wanted.until
    if created:
        query["created_at"] = created
    if after is not None:
        query["$or"] = [
            {"created_at": {"$lt": after.created_at}},
            {"created_at": after.created_at, "_id": {"$lt": after.entry_id}},
        ]
    return query
