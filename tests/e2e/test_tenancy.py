"""Authentication, scopes and tenant isolation, both ways, over HTTP."""

import pytest

from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants


async def seed(api: Api) -> dict[str, str]:
    """One entry per application, recorded by the operator; returns application -> id."""
    ids = {}
    for application in ("portal", "admin", "shop"):
        result = await api.record(OPERATOR_TOKEN, application=application)
        ids[application] = result.data["recordAuditEvent"]["id"]
    return ids


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer alk_0000000000000000_" + "x" * 43},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Basic b3BlcmF0b3I6cGFzcw=="},
        {"Authorization": "operator-token-for-the-e2e-suite-0123456789"},
    ],
)
async def test_missing_or_unknown_credentials_are_unauthenticated(
    api: Api, tenants: Tenants, headers: dict[str, str]
) -> None:
    response = await api.http.post(
        "/graphql", json={"query": "{ plans { name } }"}, headers=headers
    )

    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_revoked_key_is_refused_at_once(api: Api, tenants: Tenants) -> None:
    key_id, secret = await api.issue_key("acme", ["RECORD", "READ"])
    assert (await api.logs(secret)).data

    revoked = await api.operator(
        "mutation($id: ID!) { revokeApiKey(id: $id) { id revoked } }", {"id": key_id}
    )

    assert revoked["revokeApiKey"] == {"id": key_id, "revoked": True}
    assert (await api.logs(secret)).code == "UNAUTHENTICATED"
    assert (await api.record(secret, application="portal")).code == "UNAUTHENTICATED"


async def test_a_key_records_for_its_own_account_only(api: Api, tenants: Tenants) -> None:
    own = await api.record(tenants.acme_rw, application="admin")
    foreign = await api.record(tenants.acme_rw, application="shop")

    assert own.data["recordAuditEvent"]["account"] == "acme"
    assert foreign.code == "FORBIDDEN"
    assert len(await api.all_ids(OPERATOR_TOKEN)) == 1


async def test_a_key_bound_to_an_application_records_for_that_application_only(
    api: Api, tenants: Tenants
) -> None:
    assert (await api.record(tenants.acme_portal_only, application="portal")).data
    assert (await api.record(tenants.acme_portal_only, application="admin")).code == "FORBIDDEN"


async def test_an_unknown_application_is_not_found_for_the_operator_but_forbidden_for_a_key(
    api: Api, tenants: Tenants
) -> None:
    assert (await api.record(OPERATOR_TOKEN, application="nowhere")).code == "NOT_FOUND"
    assert (await api.record(tenants.acme_rw, application="nowhere")).code == "FORBIDDEN"
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_each_account_reads_only_its_own_entries(api: Api, tenants: Tenants) -> None:
    ids = await seed(api)

    assert set(await api.all_ids(tenants.acme_read)) == {ids["portal"], ids["admin"]}
    assert await api.all_ids(tenants.globex_rw) == [ids["shop"]]


async def test_asking_for_another_tenant_is_forbidden_not_an_empty_page(
    api: Api, tenants: Tenants
) -> None:
    await seed(api)

    assert (await api.logs(tenants.acme_read, filter={"account": "globex"})).code == "FORBIDDEN"
    assert (await api.logs(tenants.acme_read, filter={"application": "shop"})).code == "FORBIDDEN"
    assert (await api.logs(tenants.globex_rw, filter={"account": "acme"})).code == "FORBIDDEN"
    assert (await api.logs(tenants.globex_rw, filter={"application": "portal"})).code == (
        "FORBIDDEN"
    )
    assert (await api.logs(tenants.globex_rw, filter={"application": "nowhere"})).code == (
        "FORBIDDEN"
    )


async def test_a_key_bound_to_an_application_reads_that_application_only(
    api: Api, tenants: Tenants
) -> None:
    ids = await seed(api)

    assert await api.all_ids(tenants.acme_portal_only) == [ids["portal"]]
    assert await api.all_ids(tenants.acme_portal_only, account="acme") == [ids["portal"]]
    denied = await api.logs(tenants.acme_portal_only, filter={"application": "admin"})
    assert denied.code == "FORBIDDEN"


async def test_the_operator_reads_every_account_and_can_narrow_to_any(
    api: Api, tenants: Tenants
) -> None:
    ids = await seed(api)

    assert set(await api.all_ids(OPERATOR_TOKEN)) == set(ids.values())
    assert await api.all_ids(OPERATOR_TOKEN, account="globex") == [ids["shop"]]
    assert await api.all_ids(OPERATOR_TOKEN, application="admin") == [ids["admin"]]
    assert (await api.logs(OPERATOR_TOKEN, filter={"account": "nobody"})).code == "NOT_FOUND"


async def test_scopes_gate_recording_and_reading(api: Api, tenants: Tenants) -> None:
    assert (await api.record(tenants.acme_read, application="portal")).code == "FORBIDDEN"
    assert (await api.logs(tenants.acme_record)).code == "FORBIDDEN"
    assert await api.all_ids(OPERATOR_TOKEN) == []


@pytest.mark.parametrize(
    "mutation",
    [
        'createAccount(id: "evil", name: "Evil", plan: "pro") { id }',
        'changeAccountPlan(account: "acme", plan: "enterprise") { id }',
        'createApplication(account: "acme", id: "evil", name: "Evil") { id }',
        'issueApiKey(account: "acme", scopes: [READ]) { secret }',
        'revokeApiKey(id: "0000000000000000") { id }',
    ],
)
async def test_administration_is_for_the_operator_only(
    api: Api, tenants: Tenants, mutation: str
) -> None:
    result = await api.gql(f"mutation {{ {mutation} }}", token=tenants.acme_rw)

    assert result.code == "FORBIDDEN"
    accounts = await api.operator('mutation { changeAccountPlan(account: "acme", plan: "pro") '
                                  "{ plan { name } } }")  # fmt: skip
    assert accounts["changeAccountPlan"]["plan"]["name"] == "pro"


async def test_an_issued_secret_is_shown_once_and_never_listed_again(
    api: Api, tenants: Tenants
) -> None:
    key_id, secret = await api.issue_key("acme", ["READ"])

    revoked = await api.gql(
        "mutation($id: ID!) { revokeApiKey(id: $id) { id account application scopes revoked } }",
        {"id": key_id},
        token=OPERATOR_TOKEN,
    )

    assert secret.startswith("alk_")
    assert secret not in str(revoked.body)
    assert "secret" not in revoked.data["revokeApiKey"]
