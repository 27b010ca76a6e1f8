"""The FastAPI app factory. Nothing connects at import: the lifespan opens the store."""

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI, Request
from pydantic import SecretStr

from adapters.clock import SystemClock
from adapters.export_links import SignedExportLinks
from adapters.graphql.context import Context
from adapters.graphql.schema import graphql_router
from adapters.http.exports import exports_router
from adapters.http.origin import origin_of
from adapters.ids import ObjectIdGenerator
from adapters.mongo.client import ClientOptions
from adapters.mongo.store import MongoStore
from adapters.plans_file import load_plans
from application.interceptor import EmitterConfig
from application.ports import AuditEntryRepository, Clock, IdGenerator
from application.services import Ports, Services
from entrypoints.settings import Settings

log = logging.getLogger("auditlog")


class ConfigError(Exception):
    """The configuration cannot work; the message says which setting to fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """Replacements for tests and benchmarks: a controllable clock or id source, or an entry
    repository that costs nothing (to measure the service's own cost)."""

    clock: Clock | None = None
    ids: IdGenerator | None = None
    entries: AuditEntryRepository | None = None


def client_options(settings: Settings) -> ClientOptions:
    uri = settings.store.mongodb_uri
    return ClientOptions(
        uri=None if uri is None else uri.get_secret_value(),
        server_selection_timeout_ms=settings.store.mongodb_server_selection_timeout_ms,
        socket_timeout_ms=settings.store.mongodb_socket_timeout_ms,
    )


def emitter_config(settings: Settings) -> EmitterConfig:
    interceptor = settings.interceptor
    return EmitterConfig(
        capacity=interceptor.queue_size,
        batch_size=interceptor.batch_size,
        linger_seconds=interceptor.linger_ms / 1000,
        max_attempts=interceptor.max_attempts,
        backoff_base_seconds=interceptor.backoff_base_ms / 1000,
        backoff_max_seconds=interceptor.backoff_max_ms / 1000,
        shutdown_grace_seconds=interceptor.shutdown_grace_seconds,
    )


def _shared_secret(
    settings: Settings, configured: SecretStr | None, variable: str, why: str
) -> tuple[str, bool]:
    """A secret every instance must share: required with MongoDB; in embedded mode, when
    unset, a random one for this run (and True)."""
    if configured is not None:
        return configured.get_secret_value(), False
    if settings.store.mongodb_uri is not None:
        raise ConfigError(f"{variable} must be set when AUDITLOG_MONGODB_URI is: {why}")
    return secrets.token_urlsafe(32), True


def create_app(settings: Settings, overrides: Overrides | None = None) -> FastAPI:
    """Build the app. Raises `ConfigError` or `PlanFileError` on configuration it cannot use."""
    overrides = overrides or Overrides()
    plans = load_plans(settings.access.plans_file)
    operator_token, generated = _shared_secret(
        settings,
        settings.access.operator_token,
        "AUDITLOG_OPERATOR_TOKEN",
        "every instance must accept the same operator",
    )
    signing_key, _ = _shared_secret(
        settings,
        settings.export.signing_key,
        "AUDITLOG_EXPORT_SIGNING_KEY",
        "every instance must accept the export links of the others",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await MongoStore.open(
            client_options(settings),
            database=settings.store.mongodb_db,
            ttl_sweep_seconds=settings.store.embedded_ttl_sweep_seconds,
        )
        if store.is_embedded:
            log.warning(
                "embedded in-memory store (AUDITLOG_MONGODB_URI is not set): data is NOT kept "
                "across restarts; use it to try the service, not to keep audit logs"
            )
        if generated:
            # Printed once, on purpose: without it nobody could administer this instance.
            log.warning(
                "operator token for this run (set AUDITLOG_OPERATOR_TOKEN to choose one): %s",
                operator_token,
            )
        ports = Ports(
            entries=overrides.entries or store.entries,
            accounts=store.accounts,
            applications=store.applications,
            keys=store.keys,
            clock=overrides.clock or SystemClock(),
            ids=overrides.ids or ObjectIdGenerator(),
        )
        services = Services.build(
            ports,
            plans=plans,
            operator_token=operator_token,
            export_links=SignedExportLinks(signing_key),
            export_link_ttl=timedelta(seconds=settings.export.link_ttl_seconds),
            interceptor=emitter_config(settings),
        )
        services.emitter.start()
        app.state.store = store
        app.state.services = services
        try:
            yield
        finally:
            # Requests have finished: flush the service's own audit events, then disconnect.
            await services.emitter.stop()
            await store.close()

    app = FastAPI(
        title="Audit log service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    async def graphql_context(request: Request) -> Context:
        authorization = request.headers.get("authorization")
        return Context(request.app.state.services, authorization, origin_of(request))

    app.include_router(graphql_router(graphql_context), prefix="/graphql")
    app.include_router(exports_router())

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, str]:
        return {"service": "auditlog", "graphql": "/graphql", "health": "/healthz"}

    return app
