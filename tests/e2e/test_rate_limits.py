"""Rate limits through the real app: token buckets per API key, for recording and for reading.

The buckets here refill so slowly (one token per 100 s) that nothing comes back during a
test: what a key may do is exactly its burst.
"""

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi import FastAPI

from application.services import Services
from entrypoints.app import Overrides, create_app
from entrypoints.settings import RateLimitSettings
from tests.e2e.api import OPERATOR_TOKEN, Api, Result
from tests.e2e.conftest import Tenants, settings
from tests.fakes import FakeClock

READ_BURST = 3
RECORD_BURST = 1_000  # the smallest the settings allow: one full batch
SLOW = 0.01  # tokens per second: 100 s per token
VIEWED = "portal.audit_logs.viewed"

RECORD_MANY = """mutation($inputs: [AuditEventInput!]!) {
  recordAuditEvents(inputs: $inputs) { recorded }
}"""
EXPORT = """query($filter: AuditLogFilter) {
  exportAuditLogs(filter: $filter, format: NDJSON) { url }
}"""


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    """The e2e app (overriding conftest's) with small buckets, so a test can spend them."""
    limited = replace(
        settings(),
        rate_limits=RateLimitSettings(
            enabled=True,
            record_per_second=SLOW,
            record_burst=RECORD_BURST,
            read_per_second=SLOW,
            read_burst=READ_BURST,
        ),
    )
    application = create_app(limited, Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


def services(app: FastAPI) -> Services:
    return app.state.services  # type: ignore[no-any-return]


def logins(count: int, email: str = "batch@example.com") -> list[dict[str, Any]]:
    return [
        {"application": "portal", "action": "auth.login", "success": True, "email": email}
        for _ in range(count)
    ]


async def record_many(api: Api, token: str, inputs: list[dict[str, Any]]) -> Result:
    return await api.gql(RECORD_MANY, {"inputs": inputs}, token=token)


async def stored(api: Api, **filter: Any) -> int:
    """How many entries (not the service's own) the operator sees."""
    return len(await api.all_ids(OPERATOR_TOKEN, **filter))


def assert_rate_limited(result: Result, missing: int = 1) -> int:
    """Refused, with a hint of at least 1 s and at most the wait for `missing` tokens."""
    assert result.code == "RATE_LIMITED", result.body
    assert result.body.get("data") is None
    retry_after = result.error["extensions"]["retryAfterSeconds"]
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= missing / SLOW
    return retry_after


async def rate_limited_metric(api: Api, kind: str) -> float:
    text = (await api.http.get("/metrics")).text
    match = re.search(rf'^auditlog_rate_limited_total\{{kind="{kind}"\}} (\S+)$', text, re.M)
    assert match, text
    return float(match.group(1))


class TestReading:
    async def test_a_key_reading_beyond_its_burst_is_told_when_to_retry(
        self, api: Api, tenants: Tenants
    ) -> None:
        for _ in range(READ_BURST):
            assert (await api.logs(tenants.acme_read)).data["auditLogs"] is not None

        assert_rate_limited(await api.logs(tenants.acme_read))
        # Still refused on the next try: a refusal gave nothing back.
        assert_rate_limited(await api.logs(tenants.acme_read))

    async def test_a_refused_read_is_counted_but_not_recorded_as_a_view(
        self, app: FastAPI, api: Api, tenants: Tenants
    ) -> None:
        for _ in range(READ_BURST):
            await api.logs(tenants.acme_read)

        for _ in range(2):
            assert (await api.logs(tenants.acme_read)).code == "RATE_LIMITED"

        await api.settle()
        views = await api.all_entries(OPERATOR_TOKEN, account="acme", actions=[VIEWED])
        assert len(views) == READ_BURST
        assert all(view["success"] for view in views)
        assert await rate_limited_metric(api, "read") == 2
        assert await rate_limited_metric(api, "record") == 0

    async def test_the_limit_is_per_key_not_per_account(self, api: Api, tenants: Tenants) -> None:
        for _ in range(READ_BURST):
            await api.logs(tenants.acme_rw)
        assert (await api.logs(tenants.acme_rw)).code == "RATE_LIMITED"

        for other in (tenants.acme_read, tenants.acme_portal_only, tenants.globex_rw):
            assert (await api.logs(other)).data["auditLogs"] is not None

    async def test_a_key_out_of_read_tokens_may_still_record(
        self, api: Api, tenants: Tenants
    ) -> None:
        for _ in range(READ_BURST):
            await api.logs(tenants.acme_rw)
        assert (await api.logs(tenants.acme_rw)).code == "RATE_LIMITED"

        result = await api.record(tenants.acme_rw, application="portal")

        assert result.data["recordAuditEvent"]["id"]

    async def test_asking_for_an_export_link_costs_a_read_token(
        self, api: Api, tenants: Tenants
    ) -> None:
        _, exporter = await api.issue_key("acme", ["READ", "EXPORT"])
        for _ in range(READ_BURST):
            assert (await api.gql(EXPORT, token=exporter)).data["exportAuditLogs"]["url"]

        assert_rate_limited(await api.gql(EXPORT, token=exporter))
        assert (await api.logs(exporter)).code == "RATE_LIMITED"


class TestRecording:
    async def test_recording_beyond_the_bucket_is_refused_and_stores_nothing(
        self, app: FastAPI, api: Api, tenants: Tenants
    ) -> None:
        assert (await record_many(api, tenants.acme_record, logins(RECORD_BURST))).data

        refused = await api.record(
            tenants.acme_record, application="portal", email="refused@example.com"
        )

        assert_rate_limited(refused)
        assert await stored(api, email="refused@example.com") == 0
        assert await stored(api) == RECORD_BURST
        assert await rate_limited_metric(api, "record") == 1

    async def test_a_batch_costs_one_token_per_event_and_too_large_a_batch_is_refused_whole(
        self, api: Api, tenants: Tenants
    ) -> None:
        first = await record_many(api, tenants.acme_record, logins(600, "first@example.com"))
        assert first.data["recordAuditEvents"]["recorded"] == 600

        # 400 tokens left: a batch of 500 is refused whole, and spends none of them.
        too_large = await record_many(api, tenants.acme_record, logins(500, "large@example.com"))
        # 100 tokens short at 0.01 per second: 10,000 s, or a little less as time passes.
        assert assert_rate_limited(too_large, missing=100) > 9_000
        assert await stored(api, email="large@example.com") == 0

        rest = await record_many(api, tenants.acme_record, logins(400, "rest@example.com"))
        assert rest.data["recordAuditEvents"]["recorded"] == 400
        # Two requests of 1000 events in all: had a request cost one token, this would pass.
        assert_rate_limited(await api.record(tenants.acme_record, application="portal"))
        assert await stored(api) == RECORD_BURST

    async def test_the_limit_is_per_key(self, api: Api, tenants: Tenants) -> None:
        await record_many(api, tenants.acme_record, logins(RECORD_BURST))
        assert (await api.record(tenants.acme_record, application="portal")).code == (
            "RATE_LIMITED"
        )

        result = await api.record(tenants.acme_rw, application="portal", email="rw@example.com")

        assert result.data["recordAuditEvent"]["account"] == "acme"
        assert await stored(api, email="rw@example.com") == 1

    async def test_a_key_out_of_record_tokens_may_still_read(
        self, api: Api, tenants: Tenants
    ) -> None:
        await record_many(api, tenants.acme_rw, logins(RECORD_BURST))
        assert (await api.record(tenants.acme_rw, application="portal")).code == "RATE_LIMITED"

        page = (await api.logs(tenants.acme_rw, first=5)).data["auditLogs"]

        assert len(page["edges"]) == 5


class TestTheOperator:
    async def test_the_operator_is_not_limited_by_default(
        self, app: FastAPI, api: Api, tenants: Tenants
    ) -> None:
        for _ in range(3 * READ_BURST):
            assert (await api.logs(OPERATOR_TOKEN, first=1)).data["auditLogs"] is not None
        for _ in range(2):
            assert (await record_many(api, OPERATOR_TOKEN, logins(RECORD_BURST))).data
        assert (await api.record(OPERATOR_TOKEN, application="portal")).data

        assert await stored(api) == 2 * RECORD_BURST + 1
        assert await rate_limited_metric(api, "record") == 0
        assert await rate_limited_metric(api, "read") == 0


class TestDownloads:
    async def test_a_download_beyond_the_read_limit_is_429_with_retry_after(
        self, api: Api, tenants: Tenants
    ) -> None:
        _, exporter = await api.issue_key("acme", ["READ", "EXPORT"])
        await api.record(tenants.acme_rw, application="portal")
        url = (await api.gql(EXPORT, token=exporter)).data["exportAuditLogs"]["url"]
        for _ in range(READ_BURST - 1):
            assert (await api.http.get(url)).status_code == 200

        response = await api.http.get(url)

        assert response.status_code == 429
        retry_after = response.headers["retry-after"]
        assert re.fullmatch(r"\d+", retry_after)
        assert 1 <= int(retry_after) <= 1 / SLOW
        assert response.headers["content-type"] == "application/json"
        error = json.loads(response.text)["error"]
        assert error["code"] == "RATE_LIMITED"
        assert retry_after in error["message"]

    async def test_a_download_by_the_operators_link_is_not_limited(
        self, api: Api, tenants: Tenants
    ) -> None:
        await api.record(tenants.acme_rw, application="portal")
        url = (await api.gql(EXPORT, {"filter": {"account": "acme"}}, token=OPERATOR_TOKEN)).data[
            "exportAuditLogs"
        ]["url"]

        statuses = [(await api.http.get(url)).status_code for _ in range(3 * READ_BURST)]

        assert statuses == [200] * (3 * READ_BURST)
