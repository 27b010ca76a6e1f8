"""A stream batch's header states what the batch holds (count, first and last ids, the
Merkle root of the digests in the order sent) and names the batch before it by hash."""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.entry import AuditEntry
from domain.integrity import merkle_root
from domain.stream_batch import SignedBatchHeader, header_of
from tests.builders import entry

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SENT = T0 + timedelta(minutes=1, microseconds=123456)
ENTRIES = [
    entry(entry_id=f"e{i}", created_at=T0 + timedelta(seconds=i), email=f"u{i}@example.com")
    for i in range(3)
]


def signed(
    header_previous: str = "", entries: Sequence[AuditEntry] = tuple(ENTRIES)
) -> SignedBatchHeader:
    header = header_of(
        stream_id="s1",
        account="acme",
        sequence=4,
        previous=header_previous,
        entries=entries,
        sent_at=SENT,
    )
    return header.signed("k1", lambda message: "sig:" + hashlib.sha256(message).hexdigest())


def test_the_header_states_the_batch_s_stream_sequence_count_ends_and_times() -> None:
    body = signed().header.body()
    assert body == {
        "version": 1,
        "stream": "s1",
        "account": "acme",
        "sequence": 4,
        "previous": "",
        "count": 3,
        "first": "e0",
        "last": "e2",
        "through": "2026-01-15T12:00:02.000+00:00",
        "root": merkle_root([e.digest for e in ENTRIES]),
        "sent_at": "2026-01-15T12:01:00.123+00:00",
    }


def test_the_root_is_over_the_digests_in_the_order_sent() -> None:
    reordered = [ENTRIES[1], ENTRIES[0], ENTRIES[2]]
    assert signed(entries=reordered).header.root == merkle_root([e.digest for e in reordered])
    assert signed(entries=reordered).header.root != signed().header.root


def test_an_empty_batch_names_no_entry_and_has_the_root_of_nothing() -> None:
    header = signed(entries=[]).header
    assert (header.count, header.first, header.last, header.through) == (0, None, None, None)
    assert header.root == hashlib.sha256(b"").hexdigest()


def test_the_signature_is_over_the_canonical_json_of_the_body() -> None:
    batch = signed()
    expected = json.dumps(
        batch.header.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert batch.header.signed_bytes() == expected
    assert batch.signature == "sig:" + hashlib.sha256(expected).hexdigest()


def test_the_document_is_the_body_with_key_id_and_signature_and_its_hash_covers_both() -> None:
    batch = signed()
    document = batch.document()
    assert document == {**batch.header.body(), "key_id": "k1", "signature": batch.signature}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert batch.hash() == hashlib.sha256(canonical).hexdigest()
    resigned = SignedBatchHeader(batch.header, "k2", batch.signature)
    assert resigned.hash() != batch.hash()


def test_the_next_batch_names_this_one_s_hash_as_previous() -> None:
    first = signed()
    second = signed(header_previous=first.hash())
    assert second.header.previous == first.hash()
    assert second.hash() != first.hash()
