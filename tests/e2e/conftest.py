"""End-to-end: GraphQL over HTTP through the real ASGI app, lifespan and default store."""

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI

from entrypoints.app import Overrides, create_app
from entrypoints.settings import (
    AccessSettings,
    ExportSettings,
    InterceptorSettings,
    RateLimitSettings,
    ServerSettings,
    Settings,
    StoreSettings,
)
from tests.e2e.api import EXPORT_SIGNING_KEY, OPERATOR_TOKEN, Api
from tests.fakes import FakeClock

_DATA = tempfile.TemporaryDirectory(prefix="auditlog-e2e-")
DATA_ROOT = _DATA.name
"""Every app's data directory is a fresh one under this, removed when the run ends."""


def settings(*, store: "StoreKind" = "sqlite", **access: object) -> Settings:
    """The default store (SQLite, in a data directory of its own) unless `store` says
    `memory` (for the tests that reach into the Beanie store behind the service's back)."""
    return Settings(
        server=ServerSettings(),
        store=StoreSettings(
            store=store,
            data_dir=Path(tempfile.mkdtemp(dir=DATA_ROOT)),
            embedded_ttl_sweep_seconds=3600,
        ),
        access=AccessSettings(operator_token=OPERATOR_TOKEN, **access),  # type: ignore[arg-type]
        # No lingering for a fuller batch: the helpers wait for delivery before each request.
        interceptor=InterceptorSettings(linger_ms=0),
        export=ExportSettings(signing_key=EXPORT_SIGNING_KEY),  # type: ignore[arg-type]
        # Limits on, but far above what a test does; the rate-limit tests set their own.
        rate_limits=RateLimitSettings(
            record_per_second=10_000,
            record_burst=100_000,
            read_per_second=10_000,
            read_burst=100_000,
            auth_failures_per_second=10_000,
            auth_failures_burst=100_000,
        ),
    )


@dataclass
class Tenants:
    """acme (pro) owns portal and admin; globex (free) owns shop. Keys by what they may do."""

    acme_rw: str
    acme_read: str
    acme_record: str
    acme_portal_only: str
    globex_rw: str


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


StoreKind = Literal["sqlite", "memory"]


@pytest.fixture
def store_kind() -> StoreKind:
    """The suite runs on the default store; a test that reaches into the Beanie store behind
    the service's back says `@pytest.mark.parametrize("store_kind", ["memory"])`."""
    return "sqlite"


@pytest.fixture
async def app(clock: FakeClock, store_kind: StoreKind) -> AsyncIterator[FastAPI]:
    application = create_app(settings(store=store_kind), Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit.test") as http:
        yield Api(http, app.state.services.emitter.drain)


@pytest.fixture
async def tenants(api: Api) -> Tenants:
    await api.create_account("acme", "pro")
    await api.create_account("globex", "free")
    for account, application in (("acme", "portal"), ("acme", "admin"), ("globex", "shop")):
        await api.create_application(account, application)
    return Tenants(
        acme_rw=(await api.issue_key("acme", ["RECORD", "READ"]))[1],
        acme_read=(await api.issue_key("acme", ["READ"]))[1],
        acme_record=(await api.issue_key("acme", ["RECORD"]))[1],
        acme_portal_only=(await api.issue_key("acme", ["RECORD", "READ"], "portal"))[1],
        globex_rw=(await api.issue_key("globex", ["RECORD", "READ"]))[1],
    )
