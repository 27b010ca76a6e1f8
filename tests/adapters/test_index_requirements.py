"""Under the append-only role the service does not create indexes: it requires them."""

import pytest

from adapters.outbound.mongo.documents import AuditLogDocument, SealDocument
from adapters.outbound.mongo.store import MongoStore, StoreUnreachable, _require_indexes


async def test_every_index_present_is_enough(embedded_store: MongoStore) -> None:
    await _require_indexes()


@pytest.mark.parametrize(
    ("document", "index"),
    [
        (AuditLogDocument, "ttl_expires_at"),
        (AuditLogDocument, "account_idempotency_key"),
        (AuditLogDocument, "account_target_id_newest"),
        (SealDocument, "ttl_expires_at"),
    ],
)
async def test_a_missing_index_stops_the_start_naming_it_and_the_command_that_makes_it(
    embedded_store: MongoStore, document: type, index: str
) -> None:
    await document.get_motor_collection().drop_index(index)  # type: ignore[attr-defined]

    with pytest.raises(StoreUnreachable) as raised:
        await _require_indexes()

    assert index in str(raised.value)
    assert "auditlog-mongodb-role create" in str(raised.value)
