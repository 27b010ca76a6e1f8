"""The query documents and sorts of the entry repository: what a filter, a page position and
an order become in MongoDB's terms, each answered by an index of `AuditLogDocument`."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from beanie import SortDirection

from adapters.outbound.mongo.documents import KEYED
from application.reading.criteria import EntryCriteria, Order, Position

SORTS = {
    order: [("created_at", direction), ("_id", direction)]
    for order, direction in (
        (Order.NEWEST_FIRST, SortDirection.DESCENDING),
        (Order.OLDEST_FIRST, SortDirection.ASCENDING),
    )
}


def key_clauses(keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """One clause per account, its keys in `$in`, stating the key index's partial filter so
    the planner may use that index."""
    by_account: dict[str, set[str]] = {}
    for account, key in keys:
        by_account.setdefault(account, set()).add(key)
    return [
        {"account": account, "idempotency_key": {"$in": sorted(held), **KEYED["idempotency_key"]}}
        for account, held in by_account.items()
    ]


def mongo_filter(
    criteria: EntryCriteria,
    *,
    now: datetime,
    after: Position | None,
    order: Order = Order.NEWEST_FIRST,
) -> dict[str, Any]:
    """The query document. Expired entries are excluded here, before the TTL monitor runs."""
    wanted = criteria.filter
    query: dict[str, Any] = {"expires_at": {"$gt": now}}
    equalities = {
        "account": wanted.account,
        "application": wanted.application,
        "email": wanted.email,
        "success": wanted.success,
        "actor.id": wanted.actor_id,
    }
    query.update({field: value for field, value in equalities.items() if value is not None})
    if wanted.actions is not None:
        query["action"] = {"$in": list(wanted.actions)}
    if wanted.target_id is not None and wanted.target_type is not None:
        # One target must have both: "targets.id" and "targets.type" could match two.
        query["targets"] = {"$elemMatch": {"id": wanted.target_id, "type": wanted.target_type}}
    elif wanted.target_id is not None:
        query["targets.id"] = wanted.target_id
    elif wanted.target_type is not None:
        query["targets.type"] = wanted.target_type
    created: dict[str, datetime] = {}
    if wanted.since is not None:
        created["$gte"] = wanted.since
    if wanted.until is not None:
        created["$lt"] = wanted.until
    if created:
        query["created_at"] = created
    if after is not None:
        beyond = "$lt" if order is Order.NEWEST_FIRST else "$gt"
        query["$or"] = [
            {"created_at": {beyond: after.created_at}},
            {"created_at": after.created_at, "_id": {beyond: after.entry_id}},
        ]
    return query
