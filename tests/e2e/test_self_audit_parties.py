"""The service's own events say who acted and on what, as a caller's events can: the actor is
the operator, the key (by id) or the service; the targets are the account, application or key
concerned. Found again with the actor and target filters."""

from typing import Any

from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants
from tests.e2e.test_event_parts import LOGS

OPERATOR = {"id": "operator", "type": "operator", "name": "Operator"}


def party(id_: str, type_: str) -> dict[str, Any]:
    return {"id": id_, "type": type_, "name": None}


async def events(api: Api, **filter: Any) -> list[dict[str, Any]]:
    result = await api.gql(LOGS, {"filter": filter}, token=OPERATOR_TOKEN)
    return [edge["node"] for edge in result.data["auditLogs"]["edges"]]


def by_action(nodes: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [node for node in nodes if node["action"] == action]


async def test_administration_names_the_operator_and_what_it_changed(
    api: Api, tenants: Tenants
) -> None:
    key_id, _ = await api.issue_key("acme", ["READ"], "portal")
    await api.operator('mutation { changeAccountPlan(account: "globex", plan: "pro") { id } }')
    await api.operator(f'mutation {{ revokeApiKey(id: "{key_id}") {{ id }} }}')

    by_operator = await events(api, actorId="operator")

    assert by_operator
    assert all(node["actor"] == OPERATOR for node in by_operator)
    [acme] = [n for n in by_action(by_operator, "admin.account.created") if n["account"] == "acme"]
    assert acme["targets"] == [party("acme", "account")]
    assert acme["metadata"] == {"plan": "pro"}
    [plan] = by_action(by_operator, "admin.account.plan_changed")
    assert plan["targets"] == [party("globex", "account")]
    assert plan["metadata"] == {"from_plan": "free", "to_plan": "pro"}
    shop = next(
        n for n in by_action(by_operator, "admin.application.created") if n["account"] == "globex"
    )
    assert shop["targets"] == [party("shop", "application"), party("globex", "account")]
    issued = next(
        n for n in by_action(by_operator, "admin.api_key.issued") if n["targets"][0]["id"] == key_id
    )
    expected_targets = [
        party(key_id, "api_key"), party("acme", "account"), party("portal", "application"),
    ]  # fmt: skip
    assert issued["targets"] == expected_targets
    assert issued["metadata"] == {"scopes": "READ"}
    [revoked] = by_action(by_operator, "admin.api_key.revoked")
    assert revoked["targets"] == expected_targets
    # Everything done to the key, found by the target filter.
    on_key = await events(api, targetId=key_id)
    assert {n["action"] for n in on_key} == {"admin.api_key.issued", "admin.api_key.revoked"}


async def test_a_read_by_a_key_names_the_key_and_the_account_it_read(
    api: Api, tenants: Tenants
) -> None:
    await api.logs(tenants.acme_read)
    reader_id = tenants.acme_read.split("_")[1]

    [viewed] = by_action(await events(api, actorId=reader_id), "portal.audit_logs.viewed")

    assert viewed["actor"] == party(reader_id, "api_key")
    assert viewed["targets"] == [party("acme", "account")]


async def test_a_revoked_key_presented_is_both_the_actor_and_the_target(
    api: Api, tenants: Tenants
) -> None:
    key_id, secret = await api.issue_key("acme", ["READ"])
    await api.operator(f'mutation {{ revokeApiKey(id: "{key_id}") {{ id }} }}')
    await api.logs(secret)

    [rejected] = by_action(await events(api, targetType="api_key"), "auth.api_key.rejected")

    assert rejected["actor"] == party(key_id, "api_key")
    assert rejected["targets"] == [party(key_id, "api_key"), party("acme", "account")]
    assert rejected["metadata"] == {"attempts": 1}
