"""The FastAPI app factory. Nothing connects at import: the lifespan opens the store."""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.exposition import choose_encoder
from starlette.routing import Route

from adapters.clock import SystemClock
from adapters.export_links import SignedExportLinks
from adapters.graphql.context import Context
from adapters.graphql.schema import graphql_app
from adapters.http.exports import exports_router
from adapters.http.middleware import ObservedRequests
from adapters.http.origin import origin_of
from adapters.http.portal import mount_portal
from adapters.ids import ObjectIdGenerator
from adapters.mongo.store import MongoStore
from adapters.observability.metrics import Metrics
from adapters.plans_file import load_plans
from application.ports import (
    Accounts,
    ApiKeys,
    Applications,
    AuditEntryRepository,
    Clock,
    IdGenerator,
    SealerState,
    Seals,
)
from application.services import Ports, Services
from domain.credentials import KnownSecrets
from entrypoints import config
from entrypoints.config import ConfigError
from entrypoints.settings import Settings

log = logging.getLogger("auditlog")

__all__ = ["ConfigError", "Overrides", "create_app"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """Replacements for tests and benchmarks: a controllable clock or id source, or stores
    that cost nothing (to measure the service's own cost)."""

    clock: Clock | None = None
    ids: IdGenerator | None = None
    entries: AuditEntryRepository | None = None
    accounts: Accounts | None = None
    applications: Applications | None = None
    keys: ApiKeys | None = None
    seals: Seals | None = None
    sealer_state: SealerState | None = None


async def _seal_periodically(services: Services, interval: float) -> None:
    while True:
        try:
            written = await services.seal_trail.run_once()
            if written:
                log.info("sealed %d windows", written)
        except Exception as exc:
            # The next pass catches up; a failing store must not stop the sealer for good.
            log.warning("sealing pass failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)


def _given(override: _T | None, default: _T) -> _T:
    return default if override is None else override


def create_app(settings: Settings, overrides: Overrides | None = None) -> FastAPI:
    """Build the app. Raises `ConfigError` or `PlanFileError` on configuration it cannot use."""
    overrides = overrides or Overrides()
    plans = load_plans(settings.access.plans_file)
    operator_token, generated = config.shared_secret(
        settings,
        settings.access.operator_token,
        "AUDITLOG_OPERATOR_TOKEN",
        "every instance must accept the same operator",
    )
    signing_key, _ = config.shared_secret(
        settings,
        settings.export.signing_key,
        "AUDITLOG_EXPORT_SIGNING_KEY",
        "every instance must accept the export links of the others",
    )
    keys = config.seal_keys(settings)
    seal_key = settings.seals.signing_key
    # Refused in anything stored, and redacted from every log line (domain/credentials.py).
    known_secrets = KnownSecrets(
        operator_token, signing_key, None if seal_key is None else seal_key.get_secret_value()
    )
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await MongoStore.open(
            config.client_options(settings),
            database=settings.store.mongodb_db,
            manage_indexes=settings.store.mongodb_manage_indexes,
        )
        if store.is_embedded:
            log.warning(
                "embedded in-memory store (AUDITLOG_MONGODB_URI is not set): data is NOT kept "
                "across restarts; use it to try the service, not to keep audit logs"
            )
        if generated:
            # Printed once, on purpose: without it nobody could administer this instance.
            # The log scrubber would redact it, so it goes to the terminal directly.
            print(
                f"operator token for this run (set AUDITLOG_OPERATOR_TOKEN to choose one): "
                f"{operator_token}",
                flush=True,
            )
        # `is None`, not `or`: an override that is empty (a store with no entries yet) is
        # still the one asked for.
        ports = Ports(
            entries=_given(overrides.entries, store.entries),
            accounts=_given(overrides.accounts, store.accounts),
            applications=_given(overrides.applications, store.applications),
            keys=_given(overrides.keys, store.keys),
            seals=_given(overrides.seals, store.seals),
            sealer_state=_given(overrides.sealer_state, store.sealer_state),
            clock=_given(overrides.clock, SystemClock()),
            ids=_given(overrides.ids, ObjectIdGenerator()),
        )
        services = Services.build(
            ports,
            plans=plans,
            operator_token=operator_token,
            export_links=SignedExportLinks(signing_key),
            seal_keys=keys,
            sealing=config.sealing_config(settings),
            sealer_id=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}",
            export_link_ttl=config.export_link_ttl(settings),
            interceptor=config.emitter_config(settings),
            rate_limits=config.rate_limits(settings),
            known_secrets=known_secrets,
            auth_failure_limits=config.auth_failure_limits(settings),
        )
        metrics.watch(services)
        services.emitter.start()
        sealer = None
        if settings.seals.enabled:
            sealer = asyncio.create_task(
                _seal_periodically(services, settings.seals.interval_seconds), name="sealer"
            )
        app.state.store = store
        app.state.services = services
        try:
            yield
        finally:
            if sealer is not None:
                sealer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sealer
            # Requests have finished: flush the service's own audit events, then disconnect.
            services.self_audit.flush_rejections()
            await services.emitter.stop()
            await store.close()

    app = FastAPI(
        title="Audit log service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.known_secrets = known_secrets
    app.add_middleware(
        ObservedRequests,
        metrics=metrics,
        max_body_bytes=settings.limits.body_bytes,
        known_secrets=known_secrets,
        body_timeout_seconds=settings.server.body_timeout_seconds,
        send_timeout_seconds=settings.server.send_timeout_seconds,
    )

    async def graphql_context(request: Request) -> Context:
        authorization = request.headers.get("authorization")
        return Context(request.app.state.services, authorization, origin_of(request))

    # Strawberry's ASGI app as a plain route: no FastAPI dependency injection around it.
    app.router.routes.append(
        Route(
            "/graphql",
            graphql_app(
                graphql_context,
                limits=config.graphql_limits(settings),
                metrics=metrics,
                graphiql=settings.server.environment == "development",
            ),
            methods=["GET", "POST"],
            include_in_schema=False,
        )
    )
    app.include_router(exports_router())

    @app.get("/.well-known/audit-seal-keys.json", include_in_schema=False)
    async def seal_public_keys() -> JSONResponse:
        """The public keys seals are signed with, current and retired, as a JWK set."""
        return JSONResponse(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    mount_portal(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers a ping (its indexes were ensured at start)."""
        ready = await request.app.state.store.ready()
        return JSONResponse(
            {"status": "ready" if ready else "unavailable"}, status_code=200 if ready else 503
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        # The format the scraper asks for; plain 0.0.4 text unless it asks for more.
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(metrics.registry), media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, str]:
        return {
            "service": "auditlog",
            "graphql": "/graphql",
            "health": "/healthz",
            "ready": "/readyz",
            "metrics": "/metrics",
            "portal": "/portal",
        }

    return app
