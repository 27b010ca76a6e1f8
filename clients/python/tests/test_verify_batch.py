"""A receiver's check of a log-stream batch: a genuine one verifies; an entry altered,
dropped, duplicated or moved, a batch out of sequence, a header edited or signed by another
or an unknown key, and malformed input are each refused with their reason, and never with
another exception."""

import base64
import copy
import hashlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("cryptography", reason='verify_batch needs "auditlog-client[verify]"')

from auditlog_client import BatchInvalid, VerifiedBatch, batch_hash, verify_batch
from auditlog_client.verify import (
    ALTERED,
    DROPPED,
    DUPLICATED,
    MALFORMED,
    OUT_OF_SEQUENCE,
    SIGNATURE_INVALID,
    entry_digest,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# Rows as the service exports them, with the digests it computed (tests/unit/application/
# test_stream_batches.py holds this package to the service's code on fresh entries).
FULL_ROW: dict[str, Any] = {
    "id": "e1", "action": "auth.login", "email": "bob@example.com", "success": True,
    "reason": None, "application": "portal", "account": "acme",
    "createdAt": "2026-01-15T12:00:00.000+00:00", "expiresAt": "2026-04-15T12:00:00.000+00:00",
    "ip": "203.0.113.7", "userAgent": "curl/8.5.0", "requestId": "r-1",
    "occurredAt": "2026-01-15T11:59:58.000+00:00", "idempotencyKey": "k-1",
    "actor": {"id": "user_1", "type": "user", "name": "Bob"},
    "targets": [{"id": "doc_9", "type": "document", "name": None}],
    "metadata": {"plan": "pro", "seats": 3, "ratio": 0.5, "trial": False, "note": None},
    "digest": "a74bed77008d307e30867085e3a45290a6eb98616c68f78192d3a71756f7baf1",
}  # fmt: skip
BARE_ROW: dict[str, Any] = {
    "id": "e2", "action": "auth.login", "email": "bob@example.com", "success": True,
    "reason": None, "application": "portal", "account": "acme",
    "createdAt": "2026-01-15T12:00:00.000+00:00", "expiresAt": "2026-04-15T12:00:00.000+00:00",
    "ip": None, "userAgent": None, "requestId": None, "occurredAt": None,
    "idempotencyKey": None, "actor": None, "targets": [], "metadata": None,
    "digest": "5cf14095a87730964279d176d529866bcaa59d1a879a23d13f803e770882337a",
}  # fmt: skip
SERVICE_ROOT_OF_BOTH = "2e290765cb72be4920d5f092a30bbec324ac21d627130a0cd3af5bfb89d1dcab"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def root_of(digests: list[str]) -> str:
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(d)).digest() for d in digests]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        pairs = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


class Key:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = Ed25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid, "x": b64(raw)}

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        signature = b64(self.private.sign(canonical(body)))
        return {**body, "key_id": self.kid, "signature": signature}


KEY = Key("k-current")
KEYS = {"keys": [Key("k-retired").jwk, KEY.jwk]}


def rows(count: int) -> list[dict[str, Any]]:
    made = []
    for i in range(count):
        row = {**FULL_ROW, "id": f"e{i}", "createdAt": f"2026-01-15T12:00:{i:02d}.000+00:00"}
        row["digest"] = entry_digest(row)
        made.append(row)
    return made


def header_for(
    entries: list[dict[str, Any]], *, sequence: int = 3, previous: str = "a" * 64
) -> dict[str, Any]:
    return {
        "version": 1,
        "stream": "s1",
        "account": "acme",
        "sequence": sequence,
        "previous": previous,
        "count": len(entries),
        "first": entries[0]["id"] if entries else None,
        "last": entries[-1]["id"] if entries else None,
        "through": entries[-1]["createdAt"] if entries else None,
        "root": root_of([row["digest"] for row in entries]),
        "sent_at": "2026-01-15T12:01:00.000+00:00",
    }


def batch(count: int = 4) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    entries = rows(count)
    return KEY.sign(header_for(entries)), entries


def refused(header: Any, entries: Any, keys: Any = KEYS, previous: str | None = None) -> str:
    with pytest.raises(BatchInvalid) as caught:
        verify_batch(header, entries, keys, previous=previous)
    return caught.value.reason


def test_digests_are_the_service_s_with_later_fields_left_out_when_empty() -> None:
    assert entry_digest(FULL_ROW) == FULL_ROW["digest"]
    assert entry_digest(BARE_ROW) == BARE_ROW["digest"]
    # Absent is the same as null: a row written before the field existed keeps its digest.
    older = {k: v for k, v in BARE_ROW.items() if k not in ("occurredAt", "targets")}
    assert entry_digest(older) == BARE_ROW["digest"]


def test_a_genuine_batch_of_the_service_s_rows_verifies() -> None:
    header = KEY.sign(header_for([FULL_ROW, BARE_ROW]))
    assert header["root"] == SERVICE_ROOT_OF_BOTH
    verified = verify_batch(header, [FULL_ROW, BARE_ROW], KEYS, previous="a" * 64)
    assert verified == VerifiedBatch(batch_hash(header), 3, ("e1", "e2"))
    assert verified.hash == hashlib.sha256(canonical(header)).hexdigest()


def test_a_genuine_batch_verifies_without_a_previous_and_an_empty_one_too() -> None:
    header, entries = batch()
    assert verify_batch(header, entries, KEYS).entry_ids == ("e0", "e1", "e2", "e3")
    empty = KEY.sign(header_for([], previous=""))
    assert verify_batch(empty, [], KEYS, previous="").entry_ids == ()


def test_batches_chain_by_hash() -> None:
    first_header, first_rows = batch()
    first = verify_batch(first_header, first_rows, KEYS)
    second_header = KEY.sign(header_for(rows(2), sequence=4, previous=first.hash))
    assert verify_batch(second_header, rows(2), KEYS, previous=first.hash).sequence == 4


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("email", "eve@example.com"),
        ("success", False),
        ("userAgent", "other"),
        ("occurredAt", None),
        ("targets", []),
        ("metadata", {"plan": "free", "seats": 3, "ratio": 0.5, "trial": False, "note": None}),
        ("digest", "0" * 64),
    ],
)
def test_an_altered_field_is_altered(key: str, value: Any) -> None:
    header, entries = batch()
    entries[1][key] = value
    assert refused(header, entries) == ALTERED


def test_an_entry_replaced_with_its_digest_recomputed_is_altered() -> None:
    header, entries = batch()
    entries[1]["email"] = "eve@example.com"
    entries[1]["digest"] = entry_digest(entries[1])
    assert refused(header, entries) == ALTERED


@pytest.mark.parametrize("index", [0, 1, 3])
def test_an_entry_removed_is_dropped(index: int) -> None:
    header, entries = batch()
    del entries[index]
    assert refused(header, entries) == DROPPED


@pytest.mark.parametrize("index", [0, 3])
def test_the_first_or_last_entry_swapped_for_another_is_dropped(index: int) -> None:
    header, entries = batch()
    entries[index] = {**entries[index], "id": "e-other"}
    entries[index]["digest"] = entry_digest(entries[index])
    assert refused(header, entries) == DROPPED


@pytest.mark.parametrize("index", [0, 2, 3])
def test_an_entry_sent_twice_is_duplicated(index: int) -> None:
    header, entries = batch()
    entries.insert(index, copy.deepcopy(entries[index]))
    assert refused(header, entries) == DUPLICATED


def test_an_entry_in_place_of_another_is_duplicated() -> None:
    header, entries = batch()
    entries[2] = copy.deepcopy(entries[1])
    assert refused(header, entries) == DUPLICATED


@pytest.mark.parametrize(("i", "j"), [(1, 2), (0, 1), (2, 3)])
def test_entries_reordered_are_detected(i: int, j: int) -> None:
    header, entries = batch()
    entries[i], entries[j] = entries[j], entries[i]
    assert refused(header, entries) == ALTERED


def test_a_batch_that_does_not_follow_the_last_accepted_is_out_of_sequence() -> None:
    header, entries = batch()
    assert refused(header, entries, previous="b" * 64) == OUT_OF_SEQUENCE
    assert refused(header, entries, previous="") == OUT_OF_SEQUENCE


@pytest.mark.parametrize(
    ("key", "value"),
    [("count", 3), ("previous", "b" * 64), ("sequence", 2), ("last", "e2"), ("extra", 1)],
)
def test_a_header_edited_after_signing_has_an_invalid_signature(key: str, value: Any) -> None:
    header, entries = batch()
    header[key] = value
    assert refused(header, entries) == SIGNATURE_INVALID


def test_a_header_signed_by_a_key_not_in_the_set_has_an_invalid_signature() -> None:
    _, entries = batch()
    impostor = Key("k-current")  # the same id, another key
    assert refused(impostor.sign(header_for(entries)), entries) == SIGNATURE_INVALID
    unknown = Key("k-unknown")
    assert refused(unknown.sign(header_for(entries)), entries) == SIGNATURE_INVALID


def test_a_signature_that_is_not_one_is_invalid() -> None:
    header, entries = batch()
    for signature in ("", "not base64 !", b64(b"\x00" * 64), "é"):
        assert refused({**header, "signature": signature}, entries) == SIGNATURE_INVALID


def malformed_inputs() -> Iterator[tuple[str, Any, Any, Any]]:
    header, entries = batch()
    yield "header not an object", [header], entries, KEYS
    yield "header None", None, entries, KEYS
    for key, value in [
        ("version", 2), ("version", True), ("sequence", 0), ("sequence", "3"),
        ("sequence", True), ("count", -1), ("count", 4.0), ("root", "XYZ"), ("first", 7),
        ("key_id", None), ("signature", 5), ("sent_at", None),
    ]:  # fmt: skip
        yield f"header {key}={value!r}", {**header, key: value}, entries, KEYS
    yield "header without through", {k: v for k, v in header.items() if k != "through"}, [], KEYS
    yield "header with a set", {**header, "x": {1}}, entries, KEYS
    yield "entries a string", header, "entries", KEYS
    yield "entries None", header, None, KEYS
    yield "an entry not an object", header, [*entries[:3], "e3"], KEYS
    yield "an entry without id", header, [*entries[:3], {**entries[3], "id": None}], KEYS
    yield "an entry without digest", header, [*entries[:3], {**entries[3], "digest": 1}], KEYS
    missing = {k: v for k, v in entries[3].items() if k != "email"}
    yield "an entry without email", header, [*entries[:3], missing], KEYS
    yield "an entry with a set", header, [*entries[:3], {**entries[3], "metadata": {1}}], KEYS
    yield "keys not a set", header, entries, [KEY.jwk]
    yield "keys without keys", header, entries, {"keys": None}
    yield "keys None", header, entries, None
    bad_x = {"keys": [{**KEY.jwk, "x": "short"}]}
    yield "a key that is not one", header, entries, bad_x


@pytest.mark.parametrize(
    ("header", "entries", "keys"),
    [case[1:] for case in malformed_inputs()],
    ids=[case[0] for case in malformed_inputs()],
)
def test_malformed_input_is_malformed_and_nothing_else(
    header: Any, entries: Any, keys: Any
) -> None:
    assert refused(header, entries, keys) == MALFORMED


def test_batch_hash_of_a_header_that_is_not_json_is_malformed() -> None:
    with pytest.raises(BatchInvalid) as caught:
        batch_hash({"x": object()})
    assert caught.value.reason == MALFORMED


def test_a_reason_names_ids_and_positions_never_a_value() -> None:
    header, entries = batch()
    entries[1]["email"] = "secret-value@example.com"
    with pytest.raises(BatchInvalid) as caught:
        verify_batch(header, entries, KEYS)
    assert "e1" in str(caught.value)
    assert "secret-value" not in str(caught.value)


def test_without_cryptography_it_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.asymmetric", None)
    header, entries = batch()
    with pytest.raises(ImportError, match=r"auditlog-client\[verify\]"):
        verify_batch(header, entries, KEYS)
