"""Plans from AUDITLOG_PLANS_FILE reach the service: listed, setting retention, and a plan no
longer configured refused with its code. The plan rules themselves are specified against
the use cases (tests/unit/application/test_plan_gating.py, test_record_retention.py)."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from application.services import Services
from entrypoints.app import create_app
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import settings

PLANS = """
[plans.pro.auditlog]
retention_days = 30

[plans.gold.auditlog]
retention_days = 730
can_download = true
"""


@pytest.fixture
async def app_with_plans(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, Api]]:
    plans_file = tmp_path / "plans.toml"
    plans_file.write_text(PLANS)
    app = create_app(settings(plans_file=plans_file))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
            yield app, Api(http)


async def test_the_plans_file_overrides_and_adds_plans(
    app_with_plans: tuple[FastAPI, Api],
) -> None:
    _, api = app_with_plans

    plans = await api.operator("{ plans { name retentionDays canDownload } }")

    assert plans["plans"] == [
        {"name": "free", "retentionDays": 7, "canDownload": False},
        {"name": "pro", "retentionDays": 30, "canDownload": True},
        {"name": "enterprise", "retentionDays": 365, "canDownload": True},
        {"name": "gold", "retentionDays": 730, "canDownload": True},
    ]


async def test_an_added_plan_sets_the_retention_of_new_entries(
    app_with_plans: tuple[FastAPI, Api],
) -> None:
    _, api = app_with_plans
    await api.create_account("initech", "gold")
    await api.create_application("initech", "sso")

    entry = (await api.record(OPERATOR_TOKEN, application="sso")).data["recordAuditEvent"]

    created, expires = (datetime.fromisoformat(entry[k]) for k in ("createdAt", "expiresAt"))
    assert expires - created == timedelta(days=730)


async def test_an_account_on_a_plan_no_longer_configured_is_refused_clearly(
    app_with_plans: tuple[FastAPI, Api],
) -> None:
    app, api = app_with_plans
    await api.create_account("initech", "gold")
    await api.create_application("initech", "sso")
    _, reader = await api.issue_key("initech", ["READ"])
    services: Services = app.state.services
    # As after a restart with a plans file that no longer defines `gold`.
    services.plans._plans.pop("gold")

    result = await api.record(OPERATOR_TOKEN, application="sso")

    assert result.code == "PLAN_NOT_CONFIGURED"
    # The message says what is wrong, not the plan's name (no error quotes a value).
    assert result.error["message"] == "the account's plan is not configured on this deployment"
    # Nor can its plan be shown (recording and export refusing it: test_plan_gating.py).
    refused = await api.gql("{ viewer { account { plan { name } } } }", token=reader)
    assert (refused.code, "gold" in refused.error["message"]) == ("PLAN_NOT_CONFIGURED", False)
