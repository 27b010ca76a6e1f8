"""How an entry is stored is derived from its definition: every field, by name (how an event
is sent is the client package's: clients/python/tests/test_wire.py)."""

import dataclasses

from adapters.outbound.mongo.documents import AuditLogDocument
from adapters.outbound.mongo.mappers import entry_to_document, entry_to_domain
from adapters.outbound.mongo.store import MongoStore
from domain.entry import AuditEntry
from tests.builders import entry


def test_the_stored_document_has_one_key_per_entry_field_the_id_as__id() -> None:
    keys = {info.alias or name for name, info in AuditLogDocument.model_fields.items()}
    stored = {"_id" if f.name == "id" else f.name for f in dataclasses.fields(AuditEntry)}
    assert keys - {"revision_id"} == stored


async def test_an_entry_with_every_field_set_reads_back_equal(store: MongoStore) -> None:
    written = entry(email="bob@example.com", reason="r", ip="203.0.113.7",
                    user_agent="curl/8.5.0", request_id="req-1")  # fmt: skip
    document = entry_to_document(written)
    assert document.model_dump(by_alias=True, exclude={"revision_id"}) == {
        "_id" if f.name == "id" else f.name: getattr(written, f.name)
        for f in dataclasses.fields(AuditEntry)
    }
    assert entry_to_domain(document) == written
