"""The collections carry the TTL index, the read-path indexes the queries rely on, and the
unique index that guards idempotency keys."""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.outbound.mongo.documents import KEYED, AuditLogDocument
from adapters.outbound.mongo.entry_queries import key_clauses, mongo_filter
from adapters.outbound.mongo.store import MongoStore
from application.reading.criteria import EntryCriteria, LogFilter

T0 = datetime(2036, 3, 1, 12, 0, tzinfo=UTC)


def keys(index: dict[str, Any]) -> list[tuple[str, int]]:
    return [(field, int(direction)) for field, direction in index["key"]]


async def test_audit_logs_has_a_ttl_index_on_expires_at_deleting_at_that_moment(
    store: MongoStore,
) -> None:
    indexes = await AuditLogDocument.get_motor_collection().index_information()

    ttl = [ix for ix in indexes.values() if "expireAfterSeconds" in ix]
    assert len(ttl) == 1
    assert keys(ttl[0]) == [("expires_at", 1)]
    assert ttl[0]["expireAfterSeconds"] == 0


async def test_read_paths_lead_with_tenant_equality_then_the_sort_key(
    store: MongoStore,
) -> None:
    indexes = await AuditLogDocument.get_motor_collection().index_information()
    newest = [("created_at", -1), ("_id", -1)]

    assert {name: keys(ix) for name, ix in indexes.items() if name != "_id_"} == {
        "ttl_expires_at": [("expires_at", 1)],
        "account_newest": [("account", 1), *newest],
        "application_newest": [("application", 1), *newest],
        "account_action_newest": [("account", 1), ("action", 1), *newest],
        "account_email_newest": [("account", 1), ("email", 1), *newest],
        "account_actor_newest": [("account", 1), ("actor.id", 1), *newest],
        "account_target_id_newest": [("account", 1), ("targets.id", 1), *newest],
        "account_target_type_newest": [("account", 1), ("targets.type", 1), *newest],
        "account_idempotency_key": [("account", 1), ("idempotency_key", 1)],
    }


async def test_an_idempotency_key_is_unique_per_account_among_entries_that_have_one(
    store: MongoStore,
) -> None:
    indexes = await AuditLogDocument.get_motor_collection().index_information()

    guard = indexes["account_idempotency_key"]
    assert guard["unique"] is True
    assert guard["partialFilterExpression"] == {"idempotency_key": {"$type": "string"}}


# Each query shape a page can take, by the index that answers it in (created_at, _id) order
# (either way: oldest first walks it backwards). Every filter field is in one.
SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("account_newest", {"account": "acme", "success": False}),
    ("account_newest", {"account": "acme", "since": T0 - timedelta(hours=1), "until": T0}),
    ("application_newest", {"application": "portal"}),
    ("application_newest", {"account": "acme", "application": "portal"}),
    ("account_action_newest", {"account": "acme", "actions": ("auth.login", "auth.logout")}),
    ("account_email_newest", {"account": "acme", "email": "ann@example.com"}),
    ("account_actor_newest", {"account": "acme", "actor_id": "user_01HANN"}),
    ("account_target_id_newest", {"account": "acme", "target_id": "doc_1"}),
    ("account_target_id_newest", {"account": "acme", "target_id": "d1", "target_type": "doc"}),
    ("account_target_type_newest", {"account": "acme", "target_type": "document"}),
]


def equalities(query: dict[str, Any]) -> set[str]:
    """The fields a query pins to values (`$in` is a set of points), `$elemMatch` by field."""
    fields = {name for name in query if not name.startswith("$")} - {"expires_at", "created_at"}
    if "targets" in query:
        fields.remove("targets")
        fields |= {f"targets.{name}" for name in query["targets"]["$elemMatch"]}
    return fields


def test_the_shapes_cover_every_field_of_the_filter() -> None:
    covered = {name for _, narrowing in SHAPES for name in narrowing}

    assert covered == {field.name for field in dataclasses.fields(LogFilter)}


@pytest.mark.parametrize(("index", "narrowing"), SHAPES, ids=[repr(s[1]) for s in SHAPES])
def test_every_query_shape_is_answered_in_order_by_an_index(
    index: str, narrowing: dict[str, Any]
) -> None:
    query = mongo_filter(EntryCriteria(LogFilter(**narrowing)), now=T0, after=None)
    declared = {
        ix.document["name"]: list(ix.document["key"].items())
        for ix in AuditLogDocument.Settings.indexes
    }

    fields = [field for field, _ in declared[index]]
    # Equality first, then the sort: the page is read off the index, no sort in memory.
    assert fields[-2:] == ["created_at", "_id"]
    assert set(fields[:-2]) <= equalities(query)
    # Left to the fetch: the account (an application has one), success (a boolean halves
    # at best), a target's type beside its id.
    assert equalities(query) - set(fields) <= {"account", "success", "targets.type"}


def test_a_key_look_up_states_the_partial_filter_so_the_key_index_may_answer_it() -> None:
    clauses = key_clauses([("acme", "k1"), ("globex", "k1"), ("acme", "k2")])

    assert clauses == [
        {"account": "acme", "idempotency_key": {"$in": ["k1", "k2"], "$type": "string"}},
        {"account": "globex", "idempotency_key": {"$in": ["k1"], "$type": "string"}},
    ]
    assert KEYED == {"idempotency_key": {"$type": "string"}}  # the index's own filter
