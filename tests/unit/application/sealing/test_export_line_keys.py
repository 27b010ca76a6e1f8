"""An export line has one key per entry field, read and written from the entry's definition."""

import dataclasses

import orjson

from adapters.inbound.http.export_formats import COLUMNS, as_row
from application.exporting.lines import _KEYS, CHECKED, ROW_KEYS, Row, read_line, row_key
from domain.entry import AuditEntry
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
    written = entry(email="bob@example.com", ip="203.0.113.7", user_agent="curl/8.5.0")
    row = as_row(written)
    assert list(row) == list(COLUMNS)
    for field in dataclasses.fields(AuditEntry):
        value = getattr(written, field.name)
        expected = iso_utc(value) if field.name.endswith("_at") else value
        assert row[ROW_KEYS[field.name]] == expected
    read = read_line(1, orjson.dumps(row))
    assert isinstance(read, Row)
    assert read.recomputed == read.digest == written.digest
