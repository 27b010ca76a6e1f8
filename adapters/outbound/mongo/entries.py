"""The audit entry repository on Beanie: insert and read, and nothing that changes an entry."""

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from beanie import SortDirection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.entry_queries import SORTS, key_clauses, mongo_filter
from adapters.outbound.mongo.errors import StoreCalls, only_duplicate_keys, translated_errors
from adapters.outbound.mongo.mappers import entry_to_document, entry_to_domain
from application.errors import Conflict, IdempotencyKeyTaken
from application.reading.criteria import EntryCriteria, Order, Position
from domain.entry import AuditEntry

STREAM_BATCH_SIZE = 1_000
log = logging.getLogger(__name__)


class BeanieAuditEntryRepository:
    def __init__(self, calls: StoreCalls) -> None:
        self._call = calls

    async def add(self, entry: AuditEntry) -> None:
        async with self._call("audit entry", entry.id):
            try:
                await entry_to_document(entry).insert()
            except DuplicateKeyError:
                raise await _clash(entry) from None

    async def add_many(self, entries: Sequence[AuditEntry], *, skip_existing: bool = False) -> None:
        """All or nothing, by a check first: one query finds which of the batch's ids and
        (account, key) pairs are stored, and a clash there or within the batch raises before
        anything is written. Then one ordered insert, entries with a key first.

        The check cannot see an insert racing it. The unique indexes do, but without a
        transaction (a replica set only; mongomock has none) an ordered insert keeps what it
        wrote before the clash. Keyed entries go first so that all a key taken in between
        leaves behind is entries holding their own keys: `holding_keys` finds them as it
        finds any earlier recording of those events, so a caller that resolves the clash by
        key stores no event twice and loses none. An id taken in between (only a concurrent
        attempt at the same delivery can: ids are random or derived from the delivery) is
        skipped with `skip_existing`, else a `Conflict`, the part before it stored."""
        if not entries:
            return
        async with self._call("audit entry", entries[0].id):
            stored = await _stored_ids_and_keys(entries)
            fresh = _admitted(entries, *stored, skip_existing=skip_existing)
            # Keyed first; otherwise in the caller's order.
            fresh.sort(key=lambda e: e.idempotency_key is None)
            await _insert_in_order(fresh, skip_existing=skip_existing)

    async def holding_keys(self, keys: Sequence[tuple[str, str]]) -> list[AuditEntry]:
        if not keys:
            return []
        async with self._call():
            documents = await AuditLogDocument.find({"$or": key_clauses(keys)}).to_list()
        return [entry_to_domain(d) for d in documents]

    async def query(
        self,
        criteria: EntryCriteria,
        *,
        now: datetime,
        after: Position | None,
        limit: int,
        order: Order = Order.NEWEST_FIRST,
    ) -> list[AuditEntry]:
        async with self._call():
            documents = await AuditLogDocument.find(
                mongo_filter(criteria, now=now, after=after, order=order),
                sort=SORTS[order],
                limit=limit,
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
            sort=SORTS[Order.NEWEST_FIRST],
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


async def _stored_ids_and_keys(
    entries: Sequence[AuditEntry],
) -> tuple[set[str], set[tuple[str, str]]]:
    """The batch's ids already stored, and the (account, key) pairs stored, of the batch's
    or held by documents of its ids: one query, on the _id and the key index."""
    clauses: list[dict[str, Any]] = [{"_id": {"$in": [e.id for e in entries]}}]
    clauses += key_clauses(_keys_of(entries))
    found = AuditLogDocument.get_motor_collection().find(
        {"$or": clauses}, {"_id": 1, "account": 1, "idempotency_key": 1}
    )
    ids: set[str] = set()
    keys: set[tuple[str, str]] = set()
    async for document in found:
        ids.add(document["_id"])
        if isinstance(key := document.get("idempotency_key"), str):
            keys.add((document["account"], key))
    return ids, keys


def _admitted(
    entries: Sequence[AuditEntry],
    stored_ids: set[str],
    held: set[tuple[str, str]],
    *,
    skip_existing: bool,
) -> list[AuditEntry]:
    """The entries to insert, or the first clash raised: an id stored or twice in the batch
    (`Conflict`, unless skipped as stored), then a key held or twice (`IdempotencyKeyTaken`)."""
    fresh: list[AuditEntry] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.id in stored_ids or entry.id in seen:
            if not skip_existing:
                raise Conflict("audit entry", entry.id)
            continue
        seen.add(entry.id)
        fresh.append(entry)
    taken = set(held)
    for pair in _keys_of(fresh):
        if pair in taken:
            raise IdempotencyKeyTaken(*pair)
        taken.add(pair)
    return fresh


async def _insert_in_order(entries: list[AuditEntry], *, skip_existing: bool) -> None:
    """One ordered insert; with `skip_existing`, resumed past an id taken since the check."""
    documents = [entry_to_document(e) for e in entries]
    # Ids are assigned before the insert: Beanie 1.30's insert_many leaves them unset.
    start = written = 0
    while start < len(documents):
        try:
            await AuditLogDocument.insert_many(documents[start:], ordered=True)
            return
        except BulkWriteError as exc:
            if not only_duplicate_keys(exc):
                raise
            failed = start + exc.details["writeErrors"][0]["index"]
            written += failed - start
            clash = await _clash(entries[failed])
            if not (skip_existing and isinstance(clash, Conflict)):
                if written:
                    # Said, not hidden: the port promises nothing stored. Values left out.
                    log.warning(
                        "an insert racing a batch took one of its %s after %d of its entries "
                        "were stored",
                        "ids" if isinstance(clash, Conflict) else "idempotency keys",
                        written,
                    )
                raise clash from None
            start = failed + 1


async def _clash(entry: AuditEntry) -> Conflict | IdempotencyKeyTaken:
    """Which unique index refused `entry`. Asked of the store, not read off the error: a
    server's error names the index (`keyPattern`), mongomock's bulk errors do not, and
    mongomock-motor's single ones name whichever unique index the values happen to match."""
    taken = await AuditLogDocument.get_motor_collection().find_one({"_id": entry.id}, {"_id": 1})
    if taken is not None or entry.idempotency_key is None:
        return Conflict("audit entry", entry.id)
    return IdempotencyKeyTaken(entry.account, entry.idempotency_key)


def _keys_of(entries: Iterable[AuditEntry]) -> list[tuple[str, str]]:
    return [(e.account, e.idempotency_key) for e in entries if e.idempotency_key is not None]
