"""The collections carry the TTL index and the read-path indexes the queries rely on."""

from typing import Any

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.store import MongoStore


def keys(index: dict[str, Any]) -> list[tuple[str, int]]:
    return [(field, int(direction)) for field, direction in index["key"]]


async def test_audit_logs_has_a_ttl_index_on_expires_at_deleting_at_that_moment(
    store: MongoStore,
) -> None:
    indexes = await AuditLogDocument.get_motor_collection().index_information()

    ttl = [ix for ix in indexes.values() if "expireAfterSeconds" in ix]
    assert len(ttl) == 1
    assert keys(ttl[0]) == [("expires_at", 1)]
    assert ttl[0]["expireAfterSeconds"] == 0


async def test_read_paths_lead_with_tenant_equality_then_the_sort_key(
    store: MongoStore,
) -> None:
    indexes = await AuditLogDocument.get_motor_collection().index_information()
    newest = [("created_at", -1), ("_id", -1)]

    assert {name: keys(ix) for name, ix in indexes.items() if name != "_id_"} == {
        "ttl_expires_at": [("expires_at", 1)],
        "account_newest": [("account", 1), *newest],
        "application_newest": [("application", 1), *newest],
        "account_action_newest": [("account", 1), ("action", 1), *newest],
        "account_email_newest": [("account", 1), ("email", 1), *newest],
    }


async def test_entries_live_in_the_dedicated_audit_logs_collection(store: MongoStore) -> None:
    assert AuditLogDocument.get_motor_collection().name == "audit_logs"
