"""How an event and a filter are sent and an entry read: every field, under its GraphQL name,
derived from the dataclasses (a field added to `Event` is sent without touching the wire)."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

from auditlog_client import Entry, Event, LogFilter, Party
from auditlog_client.wire import ENTRY_SELECTION, as_input, entry_of
from client_support import node

EVERY_EVENT_FIELD: dict[str, Any] = {
    "application": "portal", "action": "auth.login", "success": False,
    "email": "bob@example.com", "reason": "r", "ip": "203.0.113.7",
    "user_agent": "curl/8.5.0", "request_id": "req-1",
    "occurred_at": datetime(2026, 1, 15, 12, 0, 0, 250000, tzinfo=UTC),
    "idempotency_key": "evt-1",
    "actor": Party("user_1", "user", "Bob"),
    "targets": [Party("doc_9", "document"), Party("team_2", "team", "Core")],
    "metadata": {"plan": "pro", "seats": 3, "trial": False, "note": None},
}  # fmt: skip


def test_an_event_is_sent_with_every_field_under_its_graphql_name() -> None:
    assert {f.name for f in dataclasses.fields(Event)} == set(EVERY_EVENT_FIELD)

    assert as_input(Event(**EVERY_EVENT_FIELD)) == {
        "application": "portal", "action": "auth.login", "success": False,
        "email": "bob@example.com", "reason": "r", "ip": "203.0.113.7",
        "userAgent": "curl/8.5.0", "requestId": "req-1",
        "occurredAt": "2026-01-15T12:00:00.250+00:00",
        "idempotencyKey": "evt-1",
        "actor": {"id": "user_1", "type": "user", "name": "Bob"},
        "targets": [{"id": "doc_9", "type": "document"},
                    {"id": "team_2", "type": "team", "name": "Core"}],
        "metadata": {"plan": "pro", "seats": 3, "trial": False, "note": None},
    }  # fmt: skip


def test_fields_left_out_are_not_sent() -> None:
    assert as_input(Event(application="portal", action="auth.login", success=True)) == {
        "application": "portal",
        "action": "auth.login",
        "success": True,
    }


def test_a_time_with_another_offset_is_sent_in_utc() -> None:
    plus_two = datetime.fromisoformat("2026-01-15T14:00:00+02:00")

    sent = as_input(Event(application="p", action="a", success=True, occurred_at=plus_two))

    assert sent["occurredAt"] == "2026-01-15T12:00:00.000+00:00"


def test_a_filter_is_sent_with_every_criterion_given_under_its_graphql_name() -> None:
    wanted = LogFilter(
        actions=["auth.login"],
        since=datetime(2026, 1, 1, tzinfo=UTC),
        actor_id="user_1",
        target_id="doc_9",
        target_type="document",
    )

    assert as_input(wanted) == {
        "actions": ["auth.login"],
        "since": "2026-01-01T00:00:00.000+00:00",
        "actorId": "user_1",
        "targetId": "doc_9",
        "targetType": "document",
    }


def test_an_entry_is_read_with_every_field() -> None:
    read = entry_of(node())

    assert read == Entry(
        id="e1", account="acme", application="portal", action="auth.login", success=True,
        email=None, reason=None, ip=None, user_agent=None, request_id=None,
        occurred_at=datetime(2026, 1, 15, 11, 59, tzinfo=UTC),
        created_at=datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC),
        expires_at=datetime(2026, 4, 15, 12, 0, 0, 123000, tzinfo=UTC),
        idempotency_key="evt-1", actor=Party("user_1", "user"),
        targets=(Party("doc_9", "document", "Q1"),), metadata={"seats": 3}, digest="ab" * 32,
    )  # fmt: skip


def test_an_entry_without_actor_or_targets_reads_as_none_and_empty() -> None:
    read = entry_of(node(actor=None, targets=[], metadata=None))

    assert (read.actor, read.targets, read.metadata) == (None, (), None)


def test_the_selection_asks_for_every_field_of_an_entry() -> None:
    asked = ENTRY_SELECTION.replace("{ id type name }", "").split()

    assert asked == list(node())
