"""Seals on Beanie: deleted by MongoDB's TTL monitor (or the embedded sweep) with the last of
their entries. The rules every seal store shares are in tests/contracts/test_seals_contract.py."""

from datetime import UTC, timedelta

from adapters.outbound.mongo.documents import SealDocument
from adapters.outbound.mongo.store import MongoStore
from tests.contracts.seals import signed_seal


async def test_audit_seals_has_a_ttl_index_on_expires_at_deleting_at_that_moment(
    store: MongoStore,
) -> None:
    collection = SealDocument.get_motor_collection()
    indexes = await collection.index_information()

    assert collection.name == "audit_seals"
    ttl = [ix for ix in indexes.values() if "expireAfterSeconds" in ix]
    assert len(ttl) == 1
    assert [(f, int(d)) for f, d in ttl[0]["key"]] == [("expires_at", 1)]
    assert ttl[0]["expireAfterSeconds"] == 0


async def test_a_seal_is_stored_to_expire_with_the_last_of_its_entries(
    store: MongoStore,
) -> None:
    # A downgrade in mid-window: entries of one window can have different retentions.
    retention = [timedelta(days=90), timedelta(days=365), timedelta(days=7)]
    seal = signed_seal(window=0, entries=3, retention=retention)
    await store.seals.add(seal)

    document = await SealDocument.get_motor_collection().find_one({"_id": seal.id})

    assert document is not None
    longest = max(e.expires_at for e in seal.entries)
    assert longest == seal.entries[1].expires_at
    assert document["expires_at"].astimezone(UTC) == longest
    assert seal.expires_at == longest
