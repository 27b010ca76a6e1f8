"""Richer events over GraphQL: when it happened, who did it to whom, the caller's metadata;
every bound refused naming the field, with nothing stored; filters on actor and targets."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.api import OPERATOR_TOKEN, Api, Result
from tests.e2e.conftest import Tenants
from tests.fakes import FakeClock

FULL_FIELDS = """id action account application createdAt expiresAt occurredAt idempotencyKey digest
actor { id type name } targets { id type name } metadata"""

RECORD = f"""mutation Record($input: AuditEventInput!) {{
  recordAuditEvent(input: $input) {{ {FULL_FIELDS} }}
}}"""
RECORD_MANY = f"""mutation RecordMany($inputs: [AuditEventInput!]!) {{
  recordAuditEvents(inputs: $inputs) {{ recorded entries {{ {FULL_FIELDS} }} }}
}}"""
LOGS = f"""query Logs($filter: AuditLogFilter, $order: AuditLogOrder, $after: String) {{
  auditLogs(filter: $filter, first: 500, order: $order, after: $after) {{
    edges {{ node {{ {FULL_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

ALICE = {"id": "user_01HALICE", "type": "user", "name": "Alice Example"}
BOB = {"id": "user_01HBOB", "type": "user", "name": None}


def event(**fields: Any) -> dict[str, Any]:
    return {"application": "portal", "action": "mfa.reset", "success": True, **fields}


async def record(api: Api, token: str, **fields: Any) -> Result:
    return await api.gql(RECORD, {"input": event(**fields)}, token=token)


async def entries(api: Api, token: str = OPERATOR_TOKEN, **filter: Any) -> list[dict[str, Any]]:
    result = await api.gql(LOGS, {"filter": filter or None}, token=token)
    nodes = [edge["node"] for edge in result.data["auditLogs"]["edges"]]
    return [n for n in nodes if n["action"] == "mfa.reset"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


async def test_an_event_says_who_did_what_to_whom_and_reads_back_whole(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    happened = clock.now() - timedelta(hours=2)
    metadata = {"method": "totp", "attempts": 3, "ratio": 0.5, "forced": False, "note": None}

    stored = (
        await record(
            api,
            tenants.acme_rw,
            occurredAt=iso(happened),
            idempotencyKey="reset-42",
            actor=ALICE,
            targets=[BOB, {"id": "acme", "type": "account"}],
            metadata=metadata,
        )
    ).data["recordAuditEvent"]

    assert stored["occurredAt"] == iso(happened)
    assert stored["createdAt"] == iso(clock.now())
    assert stored["idempotencyKey"] == "reset-42"
    assert stored["actor"] == ALICE
    assert stored["targets"] == [BOB, {"id": "acme", "type": "account", "name": None}]
    assert stored["metadata"] == metadata
    assert await entries(api, tenants.acme_rw) == [stored]


async def test_occurred_at_defaults_to_the_moment_of_recording(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    stored = (await record(api, tenants.acme_rw)).data["recordAuditEvent"]

    assert stored["occurredAt"] == stored["createdAt"] == iso(clock.now())
    assert (stored["actor"], stored["targets"], stored["metadata"]) == (None, [], None)


async def test_occurred_at_may_be_five_minutes_ahead_and_seven_days_old_and_no_more(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    now = clock.now()
    for accepted in (now + timedelta(minutes=5), now - timedelta(days=7)):
        assert (await record(api, tenants.acme_rw, occurredAt=iso(accepted))).data

    ahead = await record(
        api, tenants.acme_rw, occurredAt=iso(now + timedelta(minutes=5, seconds=1))
    )
    old = await record(api, tenants.acme_rw, occurredAt=iso(now - timedelta(days=7, seconds=1)))
    garbled = await record(api, tenants.acme_rw, occurredAt="last tuesday")

    for refused, problem in ((ahead, "in the future"), (old, "old"), (garbled, "RFC 3339")):
        assert refused.code == "BAD_USER_INPUT"
        assert refused.error["extensions"]["field"] == "occurredAt"
        assert problem in refused.error["message"]
    assert len(await entries(api)) == 2


LONG = "x" * 501
TOO_MANY_TARGETS = [{"id": f"u{i}", "type": "user"} for i in range(11)]
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("too many targets", {"targets": TOO_MANY_TARGETS}, "targets"),
    ("target id pattern", {"targets": [BOB, {"id": "has space", "type": "user"}]}, "targets[1].id"),
    ("target type pattern", {"targets": [{"id": "u1", "type": "User"}]}, "targets[0].type"),
    ("actor id too long", {"actor": {"id": "a" * 129, "type": "user"}}, "actor.id"),
    ("actor id punctuation first", {"actor": {"id": "-u", "type": "user"}}, "actor.id"),
    ("actor type too long", {"actor": {"id": "u", "type": "t" * 41}}, "actor.type"),
    ("actor name too long", {"actor": {"id": "u", "type": "u", "name": "n" * 201}}, "actor.name"),
    ("actor name control", {"actor": {"id": "u", "type": "u", "name": "a\u202eb"}}, "actor.name"),
    ("actor id credential", {"actor": {"id": "ghp_" + "a" * 36, "type": "user"}}, "actor.id"),
    ("metadata not an object", {"metadata": [1, 2]}, "metadata"),
    ("metadata nested", {"metadata": {"deep": {"a": 1}}}, "metadata.deep"),
    ("metadata list value", {"metadata": {"ids": [1]}}, "metadata.ids"),
    ("metadata bad key", {"metadata": {"1st": "x"}}, "metadata"),
    ("metadata key too long", {"metadata": {"k" * 41: "x"}}, "metadata"),
    ("metadata too many keys", {"metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
    ("metadata value too long", {"metadata": {"note": LONG}}, "metadata.note"),
    ("metadata value control", {"metadata": {"note": "a\nb"}}, "metadata.note"),
    ("metadata credential", {"metadata": {"token": "Bearer " + "a" * 40}}, "metadata.token"),
    ("metadata unsafe integer", {"metadata": {"n": 2**53}}, "metadata.n"),
    ("metadata over 8 KB", {"metadata": {f"k{i}": "v" * 200 for i in range(45)}}, "metadata"),
    ("key too long", {"idempotencyKey": "k" * 129}, "idempotencyKey"),
    ("key control", {"idempotencyKey": "a\tb"}, "idempotencyKey"),
    ("key credential", {"idempotencyKey": "sk_live_" + "a" * 32}, "idempotencyKey"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "field"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_every_bound_is_refused_naming_the_field_and_nothing_is_stored(
    api: Api, tenants: Tenants, fields: dict[str, Any], field: str
) -> None:
    alone = await record(api, tenants.acme_rw, **fields)
    in_batch = await api.gql(
        RECORD_MANY, {"inputs": [event(), event(**fields)]}, token=tenants.acme_rw
    )

    assert alone.code == "BAD_USER_INPUT", alone.body
    assert alone.error["extensions"]["field"] == field
    assert in_batch.code == "BAD_USER_INPUT"
    assert in_batch.error["extensions"]["field"] == f"inputs[1].{field}"
    assert in_batch.error["extensions"]["index"] == 1
    assert await entries(api) == []


async def test_the_service_s_own_secret_is_refused_in_every_new_text(
    api: Api, tenants: Tenants
) -> None:
    for fields, field in (
        ({"actor": {"id": "u", "type": "user", "name": OPERATOR_TOKEN}}, "actor.name"),
        ({"targets": [{"id": "t", "type": "user", "name": OPERATOR_TOKEN}]}, "targets[0].name"),
        ({"metadata": {"note": f"see {OPERATOR_TOKEN}"}}, "metadata.note"),
    ):
        refused = await record(api, tenants.acme_rw, **fields)
        assert refused.error["extensions"]["field"] == field
        assert OPERATOR_TOKEN not in str(refused.body)
    assert await entries(api) == []


async def test_integral_numbers_are_one_value_and_floats_are_kept(
    api: Api, tenants: Tenants
) -> None:
    stored = (
        await record(api, tenants.acme_rw, metadata={"a": 1.0, "b": -0.25, "c": 2**53 - 1})
    ).data["recordAuditEvent"]

    assert stored["metadata"] == {"a": 1, "b": -0.25, "c": 2**53 - 1}


async def test_metadata_written_inline_is_read_as_json(api: Api, tenants: Tenants) -> None:
    inline = """mutation { recordAuditEvent(input: {application: "portal", action: "mfa.reset",
      success: true, metadata: {method: "sms", attempts: 2, forced: true, note: null}}) {
      metadata } }"""

    result = await api.gql(inline, token=tenants.acme_rw)

    assert result.data["recordAuditEvent"]["metadata"] == {
        "method": "sms", "attempts": 2, "forced": True, "note": None,
    }  # fmt: skip


async def test_filters_find_entries_by_actor_and_by_target(api: Api, tenants: Tenants) -> None:
    by_alice = (await record(api, tenants.acme_rw, actor=ALICE, targets=[BOB])).data
    by_bob = (
        await record(api, tenants.acme_rw, actor=BOB, targets=[{"id": "k1", "type": "api_key"}])
    ).data
    on_alice_as_key = (
        await record(api, tenants.acme_rw, targets=[{"id": ALICE["id"], "type": "api_key"}])
    ).data
    alice, bob, key = (r["recordAuditEvent"]["id"] for r in (by_alice, by_bob, on_alice_as_key))

    def ids(nodes: list[dict[str, Any]]) -> list[str]:
        return [n["id"] for n in nodes]

    assert ids(await entries(api, actorId=ALICE["id"])) == [alice]
    assert ids(await entries(api, targetId=BOB["id"])) == [alice]
    assert ids(await entries(api, targetType="api_key")) == [key, bob]
    assert ids(await entries(api, targetId=ALICE["id"], targetType="user")) == []
    assert ids(await entries(api, targetId=ALICE["id"], targetType="api_key")) == [key]
    # Tenancy holds: another account's key filtering on acme's actor sees nothing of acme.
    assert await entries(api, tenants.globex_rw, actorId=ALICE["id"]) == []


async def test_a_filter_value_of_the_wrong_shape_is_refused_naming_it(
    api: Api, tenants: Tenants
) -> None:
    for filter, field in (
        ({"actorId": "has space"}, "filter.actorId"),
        ({"targetId": ""}, "filter.targetId"),
        ({"targetType": "API_KEY"}, "filter.targetType"),
    ):
        refused = await api.gql(LOGS, {"filter": filter}, token=tenants.acme_rw)
        assert refused.code == "BAD_USER_INPUT"
        assert refused.error["extensions"]["field"] == field
