"""An export line has one key per entry field, read and written from the entry's definition."""

import dataclasses
from datetime import UTC, datetime

import orjson
import pytest

from adapters.inbound.http.export_formats import COLUMNS, as_row
from application.exporting.lines import (
    _KEYS,
    CHECKED,
    ROW_KEYS,
    Malformed,
    Row,
    read_line,
    row_key,
)
from domain.entry import AuditEntry
from domain.event_parts import Party
from domain.timestamps import iso_utc
from tests.builders import entry


def test_an_entry_field_is_keyed_by_its_graphql_name() -> None:
    assert row_key("user_agent") == "userAgent"
    assert row_key("created_at") == "createdAt"
    assert row_key("id") == "id"


def test_every_entry_field_is_a_key_of_an_export_line() -> None:
    assert list(ROW_KEYS) == [f.name for f in dataclasses.fields(AuditEntry)]
    assert set(COLUMNS) == set(ROW_KEYS.values()) == _KEYS


def test_the_reader_checks_the_value_of_every_key() -> None:
    assert CHECKED == _KEYS


def test_a_written_row_holds_each_field_under_its_key_and_reads_back_verified() -> None:
    written = entry(
        email="bob@example.com",
        ip="203.0.113.7",
        user_agent="curl/8.5.0",
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        idempotency_key="evt-9",
        actor=Party("user_01HALICE", "user", "Alice"),
        targets=(Party("user_01HBOB", "user"), Party("0a1b2c3d4e5f6a7b", "api_key")),
        metadata={"plan": "pro", "seats": 3, "ratio": 0.5, "trial": False, "note": None},
    )
    row = as_row(written)
    assert list(row) == list(COLUMNS)
    for field in dataclasses.fields(AuditEntry):
        value = written.digested_values().get(field.name, getattr(written, field.name))
        expected = iso_utc(value) if field.name.endswith("_at") else value
        assert row[ROW_KEYS[field.name]] == expected
    read = read_line(1, orjson.dumps(row))
    assert isinstance(read, Row)
    assert read.recomputed == read.digest == written.digest


def test_a_line_written_before_the_added_fields_existed_still_reads_and_verifies() -> None:
    old = entry(email="bob@example.com")  # no occurred_at, key, actor, targets or metadata
    row = as_row(old)
    for key in ("occurredAt", "idempotencyKey", "actor", "targets", "metadata"):
        del row[key]

    read = read_line(1, orjson.dumps(row))

    assert isinstance(read, Row)
    assert read.recomputed == read.digest == old.digest


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("actor", {"id": "user_01HMALLORY", "type": "user", "name": "Alice"}),
        ("targets", []),
        ("metadata", {"plan": "free", "seats": 3}),
        ("occurredAt", "2026-01-02T03:04:06.006+00:00"),
        ("idempotencyKey", None),
    ],
)
def test_an_edited_added_field_no_longer_matches_the_digest(key: str, value: object) -> None:
    written = entry(
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        idempotency_key="evt-9",
        actor=Party("user_01HALICE", "user", "Alice"),
        targets=(Party("user_01HBOB", "user"),),
        metadata={"plan": "pro", "seats": 3},
    )
    row = {**as_row(written), key: value}

    read = read_line(1, orjson.dumps(row))

    assert isinstance(read, Row)
    assert read.recomputed != read.digest


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("actor", "alice", "actor is neither null nor an object"),
        ("actor", {"id": "a", "type": "user"}, "actor is neither null nor an object"),
        ("targets", None, "targets is not a list"),
        ("targets", [{"id": 1, "type": "user", "name": None}], "targets is not a list"),
        ("metadata", {"nested": {"a": 1}}, "metadata is neither null nor a flat object"),
        ("metadata", [1], "metadata is neither null nor a flat object"),
        ("occurredAt", "yesterday", "occurredAt is not a date"),
    ],
)
def test_an_added_field_of_the_wrong_shape_is_malformed(
    key: str, value: object, problem: str
) -> None:
    row = {**as_row(entry()), key: value}

    with pytest.raises(Malformed, match=problem):
        read_line(7, orjson.dumps(row))
