"""A stream's next batch, signed by the service's code, verifies with the client package's
`verify_batch` under the service's published key set: the receiver's digests, root, hash
and signature check are the service's, for entries with every field and with none of the
later ones."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from auditlog_client import BatchInvalid, verify_batch
from auditlog_client import verify as client_verify
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.inbound.http.export_formats import as_row
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.reading.criteria import LogFilter
from application.streams.batches import sign_batch
from application.streams.model import LogStream, Progress
from domain.entry import DIGEST_FIELDS, OMITTED_WHEN_EMPTY, AuditEntry
from domain.event_parts import Party
from domain.streams import StreamKind, StreamState, destination
from tests.builders import entry

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SIGNER = Ed25519SealKeys(new_signing_key())
ENTRIES = (
    entry(
        created_at=T0,
        occurred_at=T0 - timedelta(seconds=3),
        idempotency_key="evt-1",
        actor=Party("user_1", "user", "Bøb"),
        targets=(Party("doc_9", "document"), Party("team_2", "team", "Core ✓")),
        metadata={"plan": "pro", "seats": 3, "ratio": 0.1, "trial": False, "note": None},
        ip="203.0.113.7",
        user_agent="curl/8.5.0",
        request_id="r-1",
    ),
    entry(created_at=T0 + timedelta(milliseconds=1), occurred_at=T0),
    entry(created_at=T0 + timedelta(seconds=1), email=None, reason="invalid_password"),
)
"""With actor, targets and metadata; with none of them; with occurredAt None (an entry
recorded before the field existed)."""
REASONS = {"ALTERED", "DROPPED", "DUPLICATED", "OUT_OF_SEQUENCE", "SIGNATURE_INVALID", "MALFORMED"}


def stream(progress: Progress | None = None) -> LogStream:
    return LogStream(
        id="s1",
        account="acme",
        name="siem",
        destination=destination(StreamKind.WEBHOOK, "https://siem.example.com/in"),
        filter=LogFilter(account="acme"),
        state=StreamState.ACTIVE,
        created_at=T0,
        start=T0,
        progress=progress or Progress(),
    )


BATCH = sign_batch(stream(), ENTRIES, SIGNER, T0)[0]


def on_the_wire(value: Any) -> Any:
    """What a receiver parses: the service's JSON encoding, read back."""
    return orjson.loads(orjson.dumps(value))


def rows(entries: tuple[AuditEntry, ...]) -> Any:
    return on_the_wire([as_row(e) for e in entries])


def test_the_client_digests_the_fields_the_service_digests() -> None:
    assert client_verify.DIGESTED_FIELDS == DIGEST_FIELDS
    assert client_verify.OMITTED_WHEN_EMPTY == OMITTED_WHEN_EMPTY
    assert ENTRIES[2].occurred_at is None


def test_the_first_batch_is_sequence_one_naming_no_previous_and_carries_its_document() -> None:
    batch, signed = sign_batch(stream(), ENTRIES, SIGNER, T0 + timedelta(minutes=1))
    assert (batch.stream_id, batch.sequence, tuple(batch.entries)) == ("s1", 1, ENTRIES)
    assert batch.header == signed.document()
    assert (signed.header.sequence, signed.header.previous) == (1, "")
    assert (signed.header.account, signed.key_id) == ("acme", SIGNER.key_id)


def test_a_batch_signed_by_the_service_verifies_with_the_client() -> None:
    batch, signed = sign_batch(stream(), ENTRIES, SIGNER, T0 + timedelta(minutes=1))
    verified = verify_batch(
        on_the_wire(batch.header), rows(ENTRIES), on_the_wire(SIGNER.jwks()), previous=""
    )
    assert verified.hash == signed.hash()
    assert verified.sequence == 1
    assert verified.entry_ids == tuple(e.id for e in ENTRIES)


def test_the_next_batch_follows_the_stream_s_progress_and_verifies_against_the_last() -> None:
    first, first_signed = sign_batch(stream(), ENTRIES[:1], SIGNER, T0)
    progress = Progress(sequence=1, chain=first_signed.hash())
    second, _ = sign_batch(stream(progress), ENTRIES[1:], SIGNER, T0 + timedelta(seconds=5))
    assert (second.sequence, second.header["previous"]) == (2, first_signed.hash())
    keys = on_the_wire(SIGNER.jwks())
    accepted = verify_batch(on_the_wire(first.header), rows(ENTRIES[:1]), keys, previous="")
    verified = verify_batch(
        on_the_wire(second.header), rows(ENTRIES[1:]), keys, previous=accepted.hash
    )
    assert verified.sequence == 2


def test_an_entry_of_a_service_batch_altered_on_the_way_is_refused() -> None:
    batch, _ = sign_batch(stream(), ENTRIES, SIGNER, T0)
    altered = rows(ENTRIES)
    altered[0]["metadata"]["seats"] = 4
    with pytest.raises(BatchInvalid) as refused:
        verify_batch(on_the_wire(batch.header), altered, on_the_wire(SIGNER.jwks()))
    assert refused.value.reason == client_verify.ALTERED


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.just("\ud800"),  # a lone surrogate: JSON text Python reads, UTF-8 cannot hold
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
HEADER_KEYS = st.sampled_from([*BATCH.header, "extra"])
ROW_KEYS = st.sampled_from([*as_row(ENTRIES[0]), "extra"])


@settings(max_examples=300, deadline=None)
@given(
    header_key=HEADER_KEYS,
    row_key=ROW_KEYS,
    index=st.integers(0, len(ENTRIES) - 1),
    value=JSON,
    where=st.sampled_from(["header", "row", "keys", "a row", "rows", "all keys"]),
)
# A lone surrogate is a str that JSON may hold but UTF-8 cannot encode.
@example(header_key="stream", row_key="id", index=0, value="\ud800", where="header")
@example(header_key="stream", row_key="userAgent", index=1, value="\udfff", where="row")
def test_any_json_in_place_of_a_field_is_refused_with_a_reason_or_verifies(
    header_key: str, row_key: str, index: int, value: Any, where: str
) -> None:
    header, entries, keys = on_the_wire(BATCH.header), rows(ENTRIES), on_the_wire(SIGNER.jwks())
    if where == "header":
        header[header_key] = value
    elif where == "row":
        entries[index][row_key] = value
    elif where == "keys":
        keys["keys"][0][header_key if header_key in keys["keys"][0] else "x"] = value
    elif where == "a row":
        entries[index] = value
    elif where == "rows":
        entries = value
    else:
        keys = value
    reason = None
    try:
        verify_batch(header, entries, keys)
    except BatchInvalid as refused:
        reason = refused.reason
    assert reason is None or reason in REASONS


def documented_receiver() -> Any:
    """`receive` of docs/stream-verification.md's example, run as written but for where its
    key set comes from."""
    document = (Path(__file__).parents[3] / "docs" / "stream-verification.md").read_text()
    code = document.split("## Example (Python, a webhook receiver)")[1]
    code = code.split("```python\n")[1].split("```")[0]
    fetched = 'httpx.get("https://audit.example.com/.well-known/audit-seal-keys.json").json()'
    assert fetched in code
    namespace: dict[str, Any] = {"PUBLISHED": on_the_wire(SIGNER.jwks())}
    exec(compile(code.replace(fetched, "PUBLISHED"), "stream-verification.md", "exec"), namespace)  # noqa: S102
    return namespace["receive"]


def webhook_body(batch: Any) -> Any:
    return on_the_wire(
        {"type": "audit_log.batch", "batch": batch.header, "entries": rows(tuple(batch.entries))}
    )


def test_the_documented_receiver_takes_new_batches_drops_repeats_and_refuses_a_gap() -> None:
    receive = documented_receiver()
    first, _ = sign_batch(stream(), ENTRIES[:2], SIGNER, T0)
    assert [row["id"] for row in receive(webhook_body(first))] == [e.id for e in ENTRIES[:2]]
    assert receive(webhook_body(first)) == []  # the same batch again
    # Another attempt at batch 1, signed later and holding one more entry.
    again, again_signed = sign_batch(stream(), ENTRIES, SIGNER, T0 + timedelta(seconds=5))
    assert len(receive(webhook_body(again))) == 3
    progress = Progress(sequence=1, chain=again_signed.hash())
    second, _ = sign_batch(stream(progress), ENTRIES[2:], SIGNER, T0)
    assert len(receive(webhook_body(second))) == 1
    assert receive(webhook_body(first)) == []  # older than the last accepted
    gap = Progress(sequence=3, chain="0" * 64)
    with pytest.raises(BatchInvalid) as refused:
        receive(webhook_body(sign_batch(stream(gap), ENTRIES[2:], SIGNER, T0)[0]))
    assert refused.value.reason == client_verify.OUT_OF_SEQUENCE
    altered = webhook_body(sign_batch(stream(progress), ENTRIES[2:], SIGNER, T0)[0])
    altered["entries"][0]["email"] = "eve@example.com"
    with pytest.raises(BatchInvalid) as refused:
        receive(altered)
    assert refused.value.reason == client_verify.ALTERED
