"""Tamper evidence in the domain: entry digests, Merkle roots, windows, seals, seal ids."""

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.entry import (
    DIGEST_FIELDS,
    NOT_DIGESTED,
    OMITTED_WHEN_EMPTY,
    AuditEntry,
    entry_digest,
)
from domain.event_parts import Party
from domain.integrity import (
    Seal,
    SealedEntry,
    SealId,
    SealLink,
    canonical,
    digest_over,
    merkle_root,
    new_seal,
    seal_id,
    window_of,
)
from tests.builders import entry

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def full_entry() -> AuditEntry:
    """An entry with every optional field set, so each one is in the digest with a value."""
    return entry(
        entry_id="0123456789abcdef01234567",
        account="acme",
        application="acme-web",
        action="auth.login",
        success=False,
        email="bob@example.com",
        reason="wrong password",
        created_at=datetime(2026, 1, 15, 12, 0, 10, 123000, tzinfo=UTC),
        ip="203.0.113.7",
        user_agent="curl/8.5.0",
        request_id="req-1",
        occurred_at=datetime(2026, 1, 15, 11, 59, 58, 7000, tzinfo=UTC),
        idempotency_key="evt-1",
        actor=Party("user_01HALICE", "user", "Alice"),
        targets=(Party("user_01HBOB", "user"),),
        metadata={"plan": "pro", "seats": 3},
    )


def fields_of(audit_entry: AuditEntry) -> dict[str, Any]:
    return audit_entry.digested_values()


# One different value per digested field.
CHANGES: dict[str, Any] = {
    "id": "0123456789abcdef01234568",
    "account": "globex",
    "application": "acme-mobile",
    "action": "auth.logout",
    "success": True,
    "email": "mallory@example.com",
    "reason": "wrong passwore",
    "ip": "203.0.113.8",
    "user_agent": "curl/8.5.1",
    "request_id": "req-2",
    "created_at": datetime(2026, 1, 15, 12, 0, 10, 124000, tzinfo=UTC),
    "expires_at": datetime(2026, 4, 15, 12, 0, 10, 124000, tzinfo=UTC),
    "occurred_at": datetime(2026, 1, 15, 11, 59, 58, 8000, tzinfo=UTC),
    "idempotency_key": "evt-2",
    "actor": Party("user_01HALICE", "user", "Alice B."),
    "targets": (Party("user_01HBOB", "api_key"),),
    "metadata": {"plan": "pro", "seats": 4},
}
# As the digest reads them (parties as JSON objects).
JSON_CHANGES = {
    **CHANGES,
    "actor": CHANGES["actor"].as_json(),
    "targets": [t.as_json() for t in CHANGES["targets"]],
}


# --- entry digests -------------------------------------------------------------------------


def test_the_digest_covers_every_stored_field_but_itself() -> None:
    stored = {f.name for f in dataclasses.fields(AuditEntry)} - {"digest"}
    assert set(DIGEST_FIELDS) == stored
    assert set(CHANGES) == stored


def test_a_field_added_to_the_entry_needs_a_decision_on_the_digest() -> None:
    """Digesting a new field changes the bytes of every digest already issued; leaving one
    out leaves it open to silent change. Either way the decision is made here: list the
    field below (and say how old entries still verify) or in domain.entry.NOT_DIGESTED."""
    digested = (
        "id", "account", "application", "action", "success", "email", "reason", "ip",
        "user_agent", "request_id", "created_at", "expires_at", "occurred_at",
        "idempotency_key", "actor", "targets", "metadata",
    )  # fmt: skip
    # Added after digests were first issued: left out while empty, so old digests hold.
    added_later = {"occurred_at", "idempotency_key", "actor", "targets", "metadata"}
    assert {"digest"} == NOT_DIGESTED
    assert digested == DIGEST_FIELDS
    assert added_later == OMITTED_WHEN_EMPTY
    assert {f.name for f in dataclasses.fields(AuditEntry)} == {*digested, *NOT_DIGESTED}


# Digests computed by the code before occurred_at, idempotency_key, actor, targets and
# metadata existed (commit 670bc59): an entry without them must digest exactly so still.
PINNED_BEFORE_THE_FIELDS = {
    "bc22091c4f80d16b52d63fb68258cd4bf87889ff3f1cdd6b04416fdcd42a4270": dict(
        entry_id="65a4f0c2e1b2c3d4e5f60718", action="auth.login", success=False,
        email="bob@example.com", reason="invalid_password", ip="203.0.113.7",
        user_agent="Mozilla/5.0", request_id="req-1",
    ),
    "364bdee5ad3aa44ab70a3a4e7c91d3f435ef9e9f40e229f56e28a6adc3f410f8": dict(
        entry_id="65a4f0c2e1b2c3d4e5f60719", action="auth.logout", success=True, email=None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("digest", PINNED_BEFORE_THE_FIELDS)
def test_an_entry_without_the_added_fields_digests_as_before_they_existed(digest: str) -> None:
    at = datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC)
    old = entry(
        account="acme",
        application="acme-web",
        created_at=at,
        retention=datetime(2026, 4, 15, 12, 0, 0, 123000, tzinfo=UTC) - at,
        **PINNED_BEFORE_THE_FIELDS[digest],  # type: ignore[arg-type]
    )

    assert old.digest == digest
    # As an export line or a receipt states an old entry: the new keys null or empty.
    stated = {**old.digested_values(), "occurred_at": None, "targets": [], "metadata": None}
    assert entry_digest(stated) == digest
    assert entry_digest({k: v for k, v in stated.items() if k not in OMITTED_WHEN_EMPTY}) == digest


@pytest.mark.parametrize("name", DIGEST_FIELDS)
def test_changing_any_one_field_changes_the_digest(name: str) -> None:
    original = full_entry()
    changed = dataclasses.replace(original, **{name: CHANGES[name]}, digest="")
    assert changed.digest != original.digest
    assert entry_digest({**fields_of(original), name: JSON_CHANGES[name]}) != original.digest


@pytest.mark.parametrize("name", sorted(OMITTED_WHEN_EMPTY))
def test_removing_an_added_field_changes_the_digest(name: str) -> None:
    original = full_entry()
    empty: Any = () if name == "targets" else None
    assert dataclasses.replace(original, **{name: empty}, digest="").digest != original.digest


@pytest.mark.parametrize("name", ["email", "reason", "ip", "user_agent", "request_id"])
def test_an_absent_optional_field_digests_differently_from_an_empty_one(name: str) -> None:
    fields = fields_of(full_entry())
    assert entry_digest({**fields, name: None}) != entry_digest({**fields, name: ""})


def test_the_digest_is_sha256_of_the_canonical_json_of_the_fields() -> None:
    audit_entry = full_entry()
    document = {
        "id": audit_entry.id,
        "account": "acme",
        "application": "acme-web",
        "action": "auth.login",
        "success": False,
        "email": "bob@example.com",
        "reason": "wrong password",
        "ip": "203.0.113.7",
        "user_agent": "curl/8.5.0",
        "request_id": "req-1",
        "created_at": "2026-01-15T12:00:10.123+00:00",
        "expires_at": "2026-04-15T12:00:10.123+00:00",
        "occurred_at": "2026-01-15T11:59:58.007+00:00",
        "idempotency_key": "evt-1",
        "actor": {"id": "user_01HALICE", "type": "user", "name": "Alice"},
        "targets": [{"id": "user_01HBOB", "type": "user", "name": None}],
        "metadata": {"plan": "pro", "seats": 3},
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert audit_entry.digest == hashlib.sha256(encoded).hexdigest()
    assert entry_digest(fields_of(audit_entry)) == audit_entry.digest


def test_the_digest_reads_timestamps_as_utc_instants() -> None:
    fields = fields_of(full_entry())
    paris = timezone(timedelta(hours=1))
    shifted = {**fields, "created_at": fields["created_at"].astimezone(paris)}
    assert entry_digest(shifted) == entry_digest(fields)


def test_the_digest_is_computed_from_the_fields_when_none_is_given() -> None:
    audit_entry = full_entry()
    assert audit_entry.digest == audit_entry.content_digest()
    assert len(audit_entry.digest) == 64


def test_a_stored_digest_is_kept_and_content_digest_recomputes() -> None:
    original = full_entry()
    # Read back from the store after someone changed the email but not the digest.
    tampered = dataclasses.replace(original, email="mallory@example.com")
    assert tampered.digest == original.digest
    assert tampered.content_digest() != original.digest
    assert tampered.content_digest() == entry_digest(fields_of(tampered))
    values = {name: getattr(original, name) for name in DIGEST_FIELDS}
    given = AuditEntry(**{**values, "digest": "ab" * 32})
    assert given.digest == "ab" * 32
    assert given.content_digest() == original.digest


# --- canonical JSON ------------------------------------------------------------------------


def test_canonical_does_not_depend_on_key_order() -> None:
    one = {"b": 1, "a": {"y": [1, 2], "x": None}, "c": "é"}
    other = {"c": "é", "a": {"x": None, "y": [1, 2]}, "b": 1}
    assert canonical(one) == canonical(other)
    assert canonical(one) == '{"a":{"x":null,"y":[1,2]},"b":1,"c":"é"}'.encode()


def test_canonical_keeps_list_order() -> None:
    assert canonical([1, 2]) != canonical([2, 1])


# --- Merkle roots --------------------------------------------------------------------------


def leaf(digest: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc6962_root(digests: list[str]) -> bytes:
    """RFC 6962 section 2.1, written the RFC's way: split at the largest power of two < n."""
    if len(digests) == 1:
        return leaf(digests[0])
    split = 1
    while split * 2 < len(digests):
        split *= 2
    return node(rfc6962_root(digests[:split]), rfc6962_root(digests[split:]))


def digests(count: int) -> list[str]:
    return [hashlib.sha256(f"entry {i}".encode()).hexdigest() for i in range(count)]


def test_the_root_of_no_leaves_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()


def test_the_root_of_one_leaf_is_its_prefixed_hash_not_the_digest_itself() -> None:
    [d] = digests(1)
    assert merkle_root([d]) == leaf(d).hex()
    assert merkle_root([d]) != d


def test_the_root_of_two_leaves_hashes_them_as_a_node() -> None:
    a, b = digests(2)
    assert merkle_root([a, b]) == node(leaf(a), leaf(b)).hex()


def test_an_odd_leaf_is_carried_up_unpaired() -> None:
    a, b, c = digests(3)
    assert merkle_root([a, b, c]) == node(node(leaf(a), leaf(b)), leaf(c)).hex()
    # Not duplicated, as Bitcoin's tree would.
    assert merkle_root([a, b, c]) != node(node(leaf(a), leaf(b)), node(leaf(c), leaf(c))).hex()


def test_the_order_of_the_leaves_matters() -> None:
    a, b, c = digests(3)
    assert merkle_root([a, b, c]) != merkle_root([b, a, c])
    assert merkle_root([a, b]) != merkle_root([b, a])


def test_a_fixed_input_gives_a_known_root() -> None:
    fixed = [hashlib.sha256(name.encode()).hexdigest() for name in ("alpha", "beta", "gamma")]
    expected = hashlib.sha256(
        b"\x01"
        + hashlib.sha256(
            b"\x01"
            + hashlib.sha256(b"\x00" + hashlib.sha256(b"alpha").digest()).digest()
            + hashlib.sha256(b"\x00" + hashlib.sha256(b"beta").digest()).digest()
        ).digest()
        + hashlib.sha256(b"\x00" + hashlib.sha256(b"gamma").digest()).digest()
    ).hexdigest()
    assert merkle_root(fixed) == expected


@pytest.mark.parametrize("count", range(1, 18))
def test_the_root_matches_rfc_6962_for_any_number_of_leaves(count: int) -> None:
    assert merkle_root(digests(count)) == rfc6962_root(digests(count)).hex()


def test_a_leaf_cannot_pose_as_an_inner_node() -> None:
    """Distinct prefixes: the root over two leaves is not the root of one leaf holding it."""
    a, b = digests(2)
    inner = (leaf(a) + leaf(b)).hex()
    assert merkle_root([a, b]) != hashlib.sha256(b"\x00" + bytes.fromhex(inner)).hexdigest()


# --- windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "length", "start"),
    [
        (T0 + timedelta(seconds=27, microseconds=500), MINUTE, T0),
        (T0, MINUTE, T0),
        (T0 - timedelta(microseconds=1), MINUTE, T0 - MINUTE),
        (T0 + timedelta(minutes=7, seconds=59), timedelta(minutes=5), T0 + timedelta(minutes=5)),
        (T0 + timedelta(minutes=59), timedelta(hours=1), T0),
        (datetime(1970, 1, 1, 0, 0, 59, tzinfo=UTC), MINUTE, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_window_of_is_aligned_on_the_epoch(
    moment: datetime, length: timedelta, start: datetime
) -> None:
    assert window_of(moment, length) == start
    assert window_of(start, length) == start
    assert (start - datetime(1970, 1, 1, tzinfo=UTC)) % length == timedelta(0)


def test_every_moment_of_a_window_maps_to_its_start() -> None:
    moments = [T0 + timedelta(milliseconds=ms) for ms in range(0, 60_000, 997)]
    assert {window_of(m, MINUTE) for m in moments} == {T0}
    assert window_of(T0 + MINUTE, MINUTE) == T0 + MINUTE


def test_a_seal_id_names_the_account_and_the_window() -> None:
    assert seal_id("acme", T0) == "acme/2026-01-15T12:00:00.000+00:00"
    assert seal_id("acme", T0) != seal_id("globex", T0)
    assert seal_id("acme", T0) != seal_id("acme", T0 + MINUTE)


# --- seals ---------------------------------------------------------------------------------


def sealed_rows(count: int = 3) -> list[tuple[str, datetime, datetime, str]]:
    return [
        (
            f"{i:024x}",
            T0 + timedelta(seconds=10 * i),
            T0 + timedelta(days=90, seconds=10 * i),
            digest,
        )
        for i, digest in enumerate(digests(count), start=1)
    ]


def a_seal(*, previous: SealLink | None = None, count: int = 3) -> Seal:
    unsigned = new_seal(
        account="acme",
        window_start=T0,
        window=MINUTE,
        entries=sealed_rows(count),
        previous=previous,
        sealed_at=T0 + timedelta(minutes=3),
    )
    return dataclasses.replace(unsigned, key_id="k1", signature="c2lnbmF0dXJl")


LINK = SealLink("acme/2026-01-15T11:59:00.000+00:00", "ab" * 32, T0 + timedelta(days=90))


def test_new_seal_orders_entries_by_created_at_then_id_and_roots_their_digests() -> None:
    rows = sealed_rows(4)
    same_time = (rows[0][0].replace("1", "0", 1), rows[0][1], rows[0][2], digests(5)[4])
    shuffled = [rows[3], rows[1], rows[0], same_time, rows[2]]
    seal = new_seal(
        account="acme", window_start=T0, window=MINUTE, entries=shuffled, previous=None,
        sealed_at=T0,
    )  # fmt: skip
    expected = sorted([*rows, same_time], key=lambda row: (row[1], row[0]))
    assert [e.id for e in seal.entries] == [row[0] for row in expected]
    assert seal.entries[0].id == same_time[0]
    assert [e.digest for e in seal.entries] == [row[3] for row in expected]
    assert seal.merkle_root == merkle_root([row[3] for row in expected])
    assert seal.window_end == T0 + MINUTE
    assert seal.key_id == ""
    assert seal.signature == ""


def test_a_seal_expires_with_its_last_entry() -> None:
    seal = a_seal()
    assert seal.expires_at == max(e.expires_at for e in seal.entries)


def test_a_version_1_body_holds_what_its_signature_covers() -> None:
    # Seals written before version 2 still verify: their bytes are pinned here.
    seal = dataclasses.replace(a_seal(previous=LINK), version=1)
    body = seal.body()
    assert body == {
        "account": "acme",
        "window_start": "2026-01-15T12:00:00.000+00:00",
        "window_end": "2026-01-15T12:01:00.000+00:00",
        "count": 3,
        "entries": [[e.id, e.expires_at.isoformat(timespec="milliseconds"), e.digest]
                    for e in seal.entries],
        "merkle_root": seal.merkle_root,
        "previous": [LINK.seal_id, LINK.hash, "2026-04-15T12:00:00.000+00:00"],
        "sealed_at": "2026-01-15T12:03:00.000+00:00",
    }  # fmt: skip
    assert seal.message() == canonical(body)
    assert "signature" not in body
    assert "key_id" not in body


def test_a_version_1_hash_covers_body_key_id_and_signature() -> None:
    seal = dataclasses.replace(a_seal(), version=1)
    signed = {**seal.body(), "key_id": "k1", "signature": "c2lnbmF0dXJl"}
    assert seal.hash() == hashlib.sha256(canonical(signed)).hexdigest()


def test_new_seals_sign_a_header_holding_the_entry_list_digest_in_place_of_the_list() -> None:
    seal = a_seal(previous=LINK)
    listed = [[e.id, e.expires_at.isoformat(timespec="milliseconds"), e.digest]
              for e in seal.entries]  # fmt: skip
    header = {
        "seal": 2,
        "account": "acme",
        "window_start": "2026-01-15T12:00:00.000+00:00",
        "window_end": "2026-01-15T12:01:00.000+00:00",
        "count": 3,
        "entries_digest": hashlib.sha256(canonical(listed)).hexdigest(),
        "merkle_root": seal.merkle_root,
        "previous": [LINK.seal_id, LINK.hash, "2026-04-15T12:00:00.000+00:00"],
        "sealed_at": "2026-01-15T12:03:00.000+00:00",
    }
    assert seal.version == 2
    assert seal.header() == header
    assert seal.message() == canonical(header)
    assert seal.body() == {**header, "entries": listed}
    signed = {**header, "key_id": "k1", "signature": "c2lnbmF0dXJl"}
    assert seal.hash() == hashlib.sha256(canonical(signed)).hexdigest()
    assert Seal.from_body(seal.body(), key_id="k1", signature="c2lnbmF0dXJl") == seal


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "b3RoZXI="},
        {"key_id": "k2"},
        {"account": "globex"},
        {"window_start": T0 - MINUTE},
        {"window_end": T0 + 2 * MINUTE},
        {"entries": a_seal().entries[:2]},
        {"entries": (*a_seal().entries[:2], SealedEntry("x" * 24, T0, "00" * 32))},
        {"merkle_root": "00" * 32},
        {"previous": LINK},
        {"sealed_at": T0 + timedelta(minutes=4)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_the_hash_changes_with_the_signature_and_any_body_field(change: dict[str, Any]) -> None:
    seal = a_seal()
    assert dataclasses.replace(seal, **change).hash() != seal.hash()


@pytest.mark.parametrize(
    "change",
    [
        {"hash": "cd" * 32},
        {"seal_id": "acme/2026-01-15T11:58:00.000+00:00"},
        {"expires_at": T0 + timedelta(days=91)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_the_hash_changes_with_any_part_of_the_link(change: dict[str, Any]) -> None:
    seal = a_seal(previous=LINK)
    altered = dataclasses.replace(seal, previous=dataclasses.replace(LINK, **change))
    assert altered.hash() != seal.hash()
    assert altered.message() != seal.message()


def test_the_message_does_not_depend_on_the_signature() -> None:
    seal = a_seal()
    assert dataclasses.replace(seal, signature="b3RoZXI=").message() == seal.message()


def test_a_link_names_the_seal_its_hash_and_its_expiry() -> None:
    seal = a_seal()
    assert seal.link() == SealLink(seal.id, seal.hash(), seal.expires_at)
    assert seal.id == "acme/2026-01-15T12:00:00.000+00:00"


@pytest.mark.parametrize("previous", [None, LINK], ids=["first", "linked"])
def test_signing_signs_the_message_and_links_to_the_signed_seal(
    previous: SealLink | None,
) -> None:
    unsigned = dataclasses.replace(a_seal(previous=previous), key_id="", signature="")
    messages: list[bytes] = []

    def sign(message: bytes) -> str:
        messages.append(message)
        return hashlib.sha256(message).hexdigest()

    signed, link = unsigned.signed("k2", sign)
    assert messages == [unsigned.message()]
    assert signed == dataclasses.replace(
        unsigned, key_id="k2", signature=hashlib.sha256(unsigned.message()).hexdigest()
    )
    assert link == signed.link()
    assert link != unsigned.link()


@pytest.mark.parametrize("previous", [None, LINK], ids=["first", "linked"])
def test_from_body_round_trips_the_body(previous: SealLink | None) -> None:
    seal = a_seal(previous=previous)
    rebuilt = Seal.from_body(seal.body(), key_id=seal.key_id, signature=seal.signature)
    assert rebuilt == seal
    assert rebuilt.body() == seal.body()
    assert rebuilt.hash() == seal.hash()
    # Through JSON as well, as an export carries it.
    parsed = json.loads(json.dumps(seal.body()))
    assert Seal.from_body(parsed, key_id="k1", signature=seal.signature) == seal


@pytest.mark.parametrize(
    "breakage",
    [
        lambda body: body.pop("merkle_root"),
        lambda body: body.pop("previous"),
        lambda body: body.update(entries=[["id-only"]]),
        lambda body: body.update(entries=None),
        lambda body: body.update(sealed_at="yesterday"),
    ],
    ids=["no merkle root", "no previous", "short entry", "entries null", "bad date"],
)
def test_from_body_rejects_a_malformed_body_with_value_error(breakage: Any) -> None:
    body = a_seal(previous=LINK).body()
    breakage(body)
    with pytest.raises(ValueError):  # noqa: PT011
        Seal.from_body(body, key_id="k1", signature="")


def test_from_body_rejects_a_truncated_link_with_value_error() -> None:
    body = a_seal(previous=LINK).body()
    body["previous"] = body["previous"][:2]
    with pytest.raises(ValueError):  # noqa: PT011
        Seal.from_body(body, key_id="k1", signature="")


# --- seal ids ------------------------------------------------------------------------------


def test_a_seal_id_reads_back_as_the_account_and_window_it_names() -> None:
    written = seal_id("acme/eu", T0 + MINUTE)
    assert SealId.parse(written) == SealId("acme/eu", T0 + MINUTE)
    assert str(SealId.parse(written)) == written


@pytest.mark.parametrize("text", ["acme", "acme/", "acme/yesterday", ""])
def test_a_seal_id_that_names_no_window_start_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        SealId.parse(text)


# The digest writes nested values (parties, metadata) itself: the same bytes as canonical().
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.floats(),
        st.text(),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, max_examples=500)
@given(JSON_VALUES)
def test_the_digest_writes_any_json_value_as_canonical_does(value: Any) -> None:
    digest = digest_over(["value"])
    expected = hashlib.sha256(canonical({"value": value})).hexdigest()
    assert digest({"value": value}) == expected
