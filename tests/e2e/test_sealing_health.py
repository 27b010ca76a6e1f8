"""A stalled sealer over HTTP: the lease an intruder wrote until 2100 shows on `/readyz` and
`/metrics` and in one warning line, while the instance stays in rotation; a lease a real
sealer takes again is ok. The lease is the in-memory fake's, edited as a database user would."""

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from entrypoints.app import Overrides, create_app
from entrypoints.settings import SealSettings
from tests.e2e.conftest import settings
from tests.fakes import FakeClock, InMemoryCheckpoints, InMemorySealerState
from tests.telemetry import scraped

# The sealer and its check run this often: a test waits a few of them at most.
INTERVAL = 0.02


@contextlib.asynccontextmanager
async def serving(state: InMemorySealerState, *, enabled: bool = True) -> AsyncIterator[FastAPI]:
    clock = FakeClock(datetime.now(UTC))
    configured = dataclasses.replace(
        settings(), seals=SealSettings(enabled=enabled, interval_seconds=INTERVAL)
    )
    overrides = Overrides(clock=clock, sealer_state=state, checkpoints=InMemoryCheckpoints())
    app = create_app(configured, overrides)
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
        yield http


async def sealing_becomes(http: httpx.AsyncClient, state: str) -> dict[str, Any]:
    """The `/readyz` answer once the periodic check has found `state` (within seconds)."""
    async with asyncio.timeout(5):
        while True:
            response = await http.get("/readyz")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["sealing"]["state"] == state:
                return body
            await asyncio.sleep(INTERVAL)


async def test_an_intruders_lease_is_shown_and_warned_of_once_and_the_instance_stays_ready(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auditlog.sealing")
    state = InMemorySealerState()
    state.holder, state.until = "intruder", datetime(2100, 1, 1, tzinfo=UTC)
    async with serving(state) as app, client(app) as http:
        body = await sealing_becomes(http, "lease_suspect")
        assert body["status"] == "ready"
        assert body["sealing"]["lag_seconds"] == 0
        assert "intruder" not in str(body)
        assert await scraped(http, "auditlog_sealing_lease_suspect") == 1
        await asyncio.sleep(INTERVAL * 5)

        # A genuine sealer can take the lease once it is cleared, and the state is ok again.
        state.holder = state.until = None
        await sealing_becomes(http, "ok")
        assert await scraped(http, "auditlog_sealing_lease_suspect") == 0

    logged = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "auditlog.sealing"]
    assert [level for level, _ in logged] == [logging.WARNING, logging.INFO]
    assert "'intruder' until 2100-01-01" in logged[0][1]


async def test_without_the_sealer_readyz_says_sealing_is_disabled() -> None:
    async with serving(InMemorySealerState(), enabled=False) as app, client(app) as http:
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "sealing": {"state": "disabled"}}
