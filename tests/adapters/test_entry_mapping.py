"""How an entry is stored is derived from its definition: every field, by name (how an event
is sent is the client package's: clients/python/tests/test_wire.py)."""

import dataclasses
from datetime import UTC, datetime, timedelta

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.mappers import entry_to_document, entry_to_domain
from adapters.outbound.mongo.store import MongoStore
from domain.entry import OMITTED_WHEN_EMPTY, AuditEntry
from domain.event_parts import Party
from tests.builders import entry


def every_field_set() -> AuditEntry:
    created = datetime.now(UTC).replace(microsecond=0)
    written = entry(
        email="bob@example.com", reason="r", ip="203.0.113.7", user_agent="curl/8.5.0",
        request_id="req-1", created_at=created, occurred_at=created - timedelta(milliseconds=7),
        idempotency_key="evt-1", actor=Party("user_01HALICE", "user", "Alice"),
        targets=(Party("user_01HBOB", "user", "Bob"), Party("0a1b2c", "api_key", "ci")),
        metadata={"plan": "pro", "seats": 3, "ratio": 0.5, "trial": False, "note": None},
    )  # fmt: skip
    unset = [
        f.name for f in dataclasses.fields(AuditEntry) if getattr(written, f.name) in (None, ())
    ]
    assert not unset, f"set every field: {unset}"
    return written


def as_stored(written: AuditEntry) -> dict[str, object]:
    """The entry's fields as the digest covers them (parties as objects), the id as `_id`."""
    values = {**written.digested_values(), "digest": written.digest}
    return {"_id" if name == "id" else name: value for name, value in values.items()}


def test_the_stored_document_has_one_key_per_entry_field_the_id_as__id() -> None:
    keys = {info.alias or name for name, info in AuditLogDocument.model_fields.items()}
    stored = {"_id" if f.name == "id" else f.name for f in dataclasses.fields(AuditEntry)}
    assert keys - {"revision_id"} == stored


async def test_an_entry_with_every_field_set_is_stored_by_field_name_and_reads_back_equal(
    store: MongoStore,
) -> None:
    written = every_field_set()

    await store.entries.add(written)

    stored = await AuditLogDocument.get_motor_collection().find_one({"_id": written.id})
    assert stored == as_stored(written)
    assert entry_to_domain(entry_to_document(written)) == written
    assert await store.entries.get(written.id, now=written.created_at) == written


async def test_a_document_stored_before_events_had_parts_reads_back_without_them_digest_kept(
    store: MongoStore,
) -> None:
    # As the adapter wrote it before: no key for a field it did not have, none for a null.
    old = entry(reason="bad_password", ip="203.0.113.7")
    document = {
        key: value
        for key, value in as_stored(old).items()
        if key not in OMITTED_WHEN_EMPTY and value is not None
    }
    await AuditLogDocument.get_motor_collection().insert_one(document)

    read = await store.entries.get(old.id, now=old.created_at)

    assert read is not None
    assert (read.occurred_at, read.idempotency_key, read.actor) == (None, None, None)
    assert (read.targets, read.metadata) == ((), None)
    assert read.content_digest() == document["digest"]
    assert read == old
