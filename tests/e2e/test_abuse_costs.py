"""What abuse costs through the real app: verifications pay read tokens per root field (aliases
included) and are recorded; revoked keys and failing addresses are throttled and counted."""

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from entrypoints.app import Overrides, create_app
from entrypoints.settings import RateLimitSettings
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants, settings
from tests.fakes import FakeClock

READ_BURST = 5
FAILURE_BURST = 4
SLOW = 0.01  # tokens per second: nothing comes back during a test
VERIFIED = "portal.audit_logs.verified"
REJECTED = "auth.api_key.rejected"


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    limited = replace(
        settings(),
        rate_limits=RateLimitSettings(
            enabled=True,
            record_per_second=SLOW,
            record_burst=1_000,
            read_per_second=SLOW,
            read_burst=READ_BURST,
            auth_failures_per_second=SLOW,
            auth_failures_burst=FAILURE_BURST,
        ),
    )
    application = create_app(limited, Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def attacker(app: FastAPI) -> AsyncIterator[Api]:
    """A client from another address than the operator's."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
        yield Api(http, app.state.services.emitter.drain)


def aliased_verifications(count: int) -> str:
    return "{ " + " ".join(f"v{n}: verifyAuditLogs {{ ok }}" for n in range(count)) + " }"


async def test_aliasing_verification_costs_what_separate_requests_would(
    api: Api, tenants: Tenants
) -> None:
    result = await api.gql(aliased_verifications(READ_BURST + 3), token=tenants.acme_read)

    # Every alias is a root field that pays on its own: the one past the burst is refused
    # (and, the field being non-null, takes the whole answer with it).
    assert result.body["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in result.body["errors"]] == [
        ([f"v{READ_BURST}"], "RATE_LIMITED")
    ]
    # The next request, verification or page, finds the bucket empty.
    assert (await api.logs(tenants.acme_read)).code == "RATE_LIMITED"


async def test_a_verification_is_recorded_like_a_read(api: Api, tenants: Tenants) -> None:
    await api.gql("{ verifyAuditLogs { ok } }", token=tenants.acme_read)
    refused = await api.gql(
        '{ verifyAuditLogs(since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z") { ok } }',
        token=tenants.acme_read,
    )
    assert refused.code == "BAD_USER_INPUT"
    assert refused.error["extensions"]["field"] == "until"
    await api.settle()

    recorded = [
        (e["application"], e["success"], e["reason"])
        for e in await api.all_entries(OPERATOR_TOKEN, actions=[VERIFIED])
    ]
    assert sorted(recorded, key=str) == sorted(
        [("_acme", True, None), ("_acme", False, "InvalidField")], key=str
    )


async def revoked_key(api: Api) -> str:
    key_id, secret = await api.issue_key("acme", ["READ"])
    await api.operator("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key_id})
    return secret


async def test_a_revoked_key_in_a_loop_writes_one_entry_and_is_then_throttled(
    app: FastAPI, api: Api, attacker: Api, tenants: Tenants
) -> None:
    secret = await revoked_key(api)

    codes = [(await attacker.logs(secret)).code for _ in range(FAILURE_BURST + 3)]

    assert codes == ["UNAUTHENTICATED"] * FAILURE_BURST + ["RATE_LIMITED"] * 3
    await api.settle()
    rejected = await api.all_entries(OPERATOR_TOKEN, actions=[REJECTED])
    assert [e["reason"] for e in rejected] == ["revoked"]
    # The folded attempts are written at shutdown at the latest (here: the lifespan's end).
    app.state.services.self_audit.flush_rejections()
    await api.settle()
    rejected = await api.all_entries(OPERATOR_TOKEN, actions=[REJECTED])
    assert sorted(e["reason"] for e in rejected) == [
        "revoked",
        f"revoked, presented {FAILURE_BURST - 1} times since the last entry",
    ]


async def test_failed_authentication_is_throttled_per_address_and_counted(
    api: Api, attacker: Api, tenants: Tenants
) -> None:
    codes = [(await attacker.logs(f"wrong-secret-{n}")).code for n in range(FAILURE_BURST + 2)]
    assert codes == ["UNAUTHENTICATED"] * FAILURE_BURST + ["RATE_LIMITED"] * 2
    # The address is throttled whatever it sends now, a valid key included; others are not.
    assert (await attacker.logs(tenants.acme_read)).code == "RATE_LIMITED"
    assert "errors" not in (await api.logs(tenants.acme_read)).body

    metrics = (await api.http.get("/metrics")).text
    assert f'auditlog_auth_failures_total{{reason="unknown"}} {FAILURE_BURST}.0' in metrics
    assert 'auditlog_rate_limited_total{kind="auth"} 3.0' in metrics
