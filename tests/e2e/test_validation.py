"""Every validation rule over HTTP: BAD_USER_INPUT naming the field, and nothing stored."""

from typing import Any

import pytest

from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants

VALID: dict[str, Any] = {"application": "portal", "action": "auth.login", "success": True}

INVALID_EVENTS = [
    ("action", {"action": "Auth.Login"}),
    ("action", {"action": "login"}),
    ("action", {"action": "auth..login"}),
    ("action", {"action": "auth.login\n"}),
    ("action", {"action": "a." + "b" * 63}),
    ("email", {"email": "not-an-address"}),
    ("email", {"email": "bob@localhost"}),
    ("email", {"email": ""}),
    ("email", {"email": "b" * 250 + "@example.com"}),
    ("reason", {"reason": "r" * 501}),
    ("reason", {"reason": "line one\nline two"}),
    ("reason", {"reason": "refund \u202egnp.exe"}),
    ("ip", {"ip": "999.1.1.1"}),
    ("ip", {"ip": "localhost"}),
    ("userAgent", {"userAgent": "u" * 513}),
    ("userAgent", {"userAgent": "agent\x00"}),
    ("requestId", {"requestId": "q" * 129}),
    ("application", {"application": "Portal"}),
    ("application", {"application": "-portal"}),
]


@pytest.mark.parametrize(("field", "change"), INVALID_EVENTS)
async def test_an_invalid_event_is_refused_naming_its_field_and_nothing_is_stored(
    api: Api, tenants: Tenants, field: str, change: dict[str, Any]
) -> None:
    result = await api.gql(
        "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id } }",
        {"input": {**VALID, **change}},
        token=tenants.acme_rw,
    )

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == field
    assert result.error["message"].startswith(f"{field}: ")
    assert await api.all_ids(OPERATOR_TOKEN) == []


async def test_the_error_never_echoes_the_rejected_value(api: Api, tenants: Tenants) -> None:
    result = await api.record(tenants.acme_rw, application="portal", reason="x" * 600)

    assert "xxxxxxxx" not in str(result.body)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("reason", {"reason": "r" * 500}),
        ("userAgent", {"userAgent": "u" * 512}),
        ("requestId", {"requestId": "q" * 128}),
        ("action", {"action": "a." + "b" * 62}),
        ("email", {"email": "josé.smith+audit@exämple.de"}),
    ],
)
async def test_values_at_the_limits_are_accepted(
    api: Api, tenants: Tenants, field: str, change: dict[str, Any]
) -> None:
    result = await api.record(tenants.acme_rw, **{**VALID, **change})

    assert result.data["recordAuditEvent"]["id"]


@pytest.mark.parametrize(
    ("field", "filter"),
    [
        ("filter.actions", {"actions": ["Not An Action"]}),
        ("filter.actions", {"actions": []}),
        ("filter.email", {"email": "nope"}),
        ("filter.account", {"account": "ACME"}),
        ("filter.application", {"application": "no spaces"}),
        ("filter.until", {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
    ],
)
async def test_an_invalid_filter_is_refused_naming_its_field(
    api: Api, tenants: Tenants, field: str, filter: dict[str, Any]
) -> None:
    result = await api.logs(tenants.acme_read, filter=filter)

    assert result.code == "BAD_USER_INPUT"
    assert result.error["extensions"]["field"] == field


async def test_a_datetime_without_offset_is_read_as_utc(api: Api, tenants: Tenants) -> None:
    entry = (await api.record(tenants.acme_rw, **VALID)).data["recordAuditEvent"]
    naive = entry["createdAt"].removesuffix("+00:00")

    at_or_after = await api.all_ids(tenants.acme_read, since=naive)
    before = await api.all_ids(tenants.acme_read, until=naive)

    assert at_or_after == [entry["id"]]
    assert before == []


async def test_an_unreadable_datetime_variable_is_bad_input(api: Api, tenants: Tenants) -> None:
    result = await api.logs(tenants.acme_read, filter={"since": "yesterday"})

    assert result.code == "BAD_USER_INPUT"
    assert "since" in result.error["message"]


@pytest.mark.parametrize(
    ("mutation", "code", "field"),
    [
        ('createAccount(id: "Bad Id", name: "X", plan: "pro") { id }', "BAD_USER_INPUT", "id"),
        ('createAccount(id: "newco", name: "  ", plan: "pro") { id }', "BAD_USER_INPUT", "name"),
        ('createAccount(id: "newco", name: "N", plan: "platinum") { id }', "BAD_USER_INPUT",
         "plan"),
        ('createAccount(id: "acme", name: "Again", plan: "pro") { id }', "CONFLICT", None),
        ('changeAccountPlan(account: "acme", plan: "platinum") { id }', "BAD_USER_INPUT", "plan"),
        ('changeAccountPlan(account: "ghost", plan: "pro") { id }', "NOT_FOUND", None),
        ('createApplication(account: "ghost", id: "x", name: "X") { id }', "NOT_FOUND", None),
        ('createApplication(account: "acme", id: "portal", name: "P") { id }', "CONFLICT", None),
        ('createApplication(account: "acme", id: "UPPER", name: "P") { id }', "BAD_USER_INPUT",
         "id"),
        ('issueApiKey(account: "acme", scopes: []) { secret }', "BAD_USER_INPUT", "scopes"),
        ('issueApiKey(account: "ghost", scopes: [READ]) { secret }', "NOT_FOUND", None),
        ('issueApiKey(account: "acme", application: "shop", scopes: [READ]) { secret }',
         "NOT_FOUND", None),
        ('revokeApiKey(id: "ffffffffffffffff") { id }', "NOT_FOUND", None),
    ],
)  # fmt: skip
async def test_administration_refuses_bad_requests_with_a_stable_code(
    api: Api, tenants: Tenants, mutation: str, code: str, field: str | None
) -> None:
    result = await api.gql(f"mutation {{ {mutation} }}", token=OPERATOR_TOKEN)

    assert result.code == code
    assert result.error["extensions"].get("field") == field
