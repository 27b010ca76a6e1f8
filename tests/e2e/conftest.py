"""End-to-end: GraphQL over HTTP through the real ASGI app, lifespan and embedded store."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

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


def settings(**access: object) -> Settings:
    return Settings(
        server=ServerSettings(),
        store=StoreSettings(mongodb_uri=None, embedded_ttl_sweep_seconds=3600),
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


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings(), Overrides(clock=clock))
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
