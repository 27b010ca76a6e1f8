"""The FastAPI app factory. Nothing connects at import: the lifespan opens the store.

What fills each port is decided in entrypoints/bootstrap.py; this module runs it: the
lifespan starts the services and the sealer loop, and stops them; the routes are mounted.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from fastapi import FastAPI, Request
from starlette.routing import Route

from adapters.inbound.graphql.context import Context
from adapters.inbound.graphql.schema import graphql_app
from adapters.inbound.http.exports import exports_router
from adapters.inbound.http.middleware import ObservedRequests
from adapters.inbound.http.operations import mount_operations
from adapters.inbound.http.origin import origin_of
from adapters.inbound.http.portal import mount_portal
from adapters.observability.metrics import Metrics
from adapters.outbound.clock import SystemClock
from adapters.outbound.plans_file import load_plans
from adapters.outbound.witness_client import HttpWitness, witness_http_client
from application.integrity.sealing import SealingLoop
from application.integrity.sealing_health import SealingHealth
from application.periodic import Periodic
from application.ports import SealKeys, StorePorts, Telemetry
from entrypoints import bootstrap, config, streaming
from entrypoints.bootstrap import Overrides
from entrypoints.config import ConfigError
from entrypoints.settings import Settings
from entrypoints.stream_process import DeliveryProcess
from entrypoints.witness_push import witness_push

log = logging.getLogger("auditlog")
_T = TypeVar("_T")

__all__ = ["ConfigError", "Overrides", "create_app"]


def _sealing_health(
    store: StorePorts,
    settings: Settings,
    overrides: Overrides,
    telemetry: Telemetry,
    keys: SealKeys,
) -> SealingHealth:
    """The sealing check, on the same ports (or overrides) as the sealer it watches."""

    def given(override: _T | None, default: _T) -> _T:
        return default if override is None else override

    return SealingHealth(
        entries=given(overrides.entries, store.entries),
        checkpoints=given(overrides.checkpoints, store.checkpoints),
        state=given(overrides.sealer_state, store.sealer_state),
        keys=keys,
        clock=given(overrides.clock, SystemClock()),
        config=config.sealing_config(settings),
        max_lag_windows=settings.seals.max_lag_windows,
        telemetry=telemetry,
    )


def create_app(settings: Settings, overrides: Overrides | None = None) -> FastAPI:
    """Build the app. Raises `ConfigError` or `PlanFileError` on configuration it cannot use."""
    overrides = overrides or Overrides()
    plans = load_plans(settings.access.plans_file)
    secrets = bootstrap.secrets_of(settings)
    known_secrets = secrets.known
    metrics = Metrics()
    stores = bootstrap.StoreSource(settings)
    # Where streams are delivered (ConfigError for a process that could not read the store).
    delivery = streaming.delivery_mode(settings, overridden=overrides != Overrides())
    owner = streaming.instance_owner()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await stores.take()
        if stores.kind == "memory":
            log.warning(
                "in-memory store (AUDITLOG_STORE=memory): data is NOT kept across restarts; "
                "use it for tests and throwaway demos, not to keep audit logs"
            )
        operator = secrets.operator_token
        if operator.made_now:
            # Printed once, on purpose: without it nobody could administer this instance.
            # The log scrubber would redact it, so it goes to the terminal directly.
            where = (
                "for this run only"
                if operator.kept_in is None
                else f"kept in {operator.kept_in}, printed only now"
            )
            print(
                f"operator token ({where}; set AUDITLOG_OPERATOR_TOKEN to choose one): "
                f"{operator.value}",
                flush=True,
            )
        # The verifier asks the witnesses the sealer pushes to (one client, closed at the end).
        urls = settings.witnesses.base_urls
        asking = witness_http_client() if urls else None
        witnesses = [] if asking is None else [HttpWitness(url, asking) for url in urls]
        outbound = streaming.outbound_senders(settings)
        services = bootstrap.services(
            store, settings, plans=plans, secrets=secrets, telemetry=metrics,
            overrides=overrides, witnesses=witnesses, outbound=outbound,
            stream_telemetry=metrics, stream_owner=owner,
        )  # fmt: skip
        metrics.watch_queue(services.emitter)
        services.emitter.start()
        sealer = watch = health = pushing = None
        if settings.seals.enabled:
            interval = settings.seals.interval_seconds
            sealer = SealingLoop(services.seal_trail, interval=interval)
            sealer.start()
            # Checked an interval after the first pass, so a restart after downtime does not
            # warn of the lag that pass is catching up.
            health = _sealing_health(store, settings, overrides, metrics, secrets.seal_keys)
            watch = Periodic(health.check, interval=interval, name="sealing check", log=log)
            watch.start()
            checkpoints = overrides.checkpoints or store.checkpoints
            pushing = witness_push(settings, checkpoints)
            if pushing is not None:
                pushing.start()
        delivering = delivery_process = None
        if services.streams is not None and delivery == "inline":
            delivering = Periodic(
                services.streams.delivery.pass_once,
                interval=settings.streams.poll_seconds,
                name="log stream delivery",
                log=log,
            )
        elif services.streams is not None and delivery == "process":
            delivery_process = DeliveryProcess(
                settings, owner=owner, streams=store.log_streams, telemetry=metrics
            )
            delivering = Periodic(
                delivery_process.check,
                interval=settings.streams.poll_seconds,
                name="log stream delivery process",
                log=log,
                first_at_start=True,
            )
        if delivering is not None:
            delivering.start()
        app.state.store = store
        app.state.checkpoints = overrides.checkpoints or store.checkpoints
        app.state.services = services
        app.state.sealing_health = health
        try:
            yield
        finally:
            if delivering is not None:
                # A send cut short here is sent again by the next instance to lease the
                # stream (the position moves only after a receiver took a batch).
                await delivering.stop()
            if delivery_process is not None:
                await delivery_process.stop()
            await outbound.aclose()
            if pushing is not None:
                await pushing.stop()
            if watch is not None:
                await watch.stop()
            if sealer is not None:
                await sealer.stop()
            # Requests have finished: flush the service's own audit events, then disconnect.
            services.self_audit.flush_rejections()
            await services.emitter.stop()
            if asking is not None:
                await asking.aclose()
            await store.close()

    app = FastAPI(
        title="Audit log service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.known_secrets = known_secrets
    # `auditlog-server` opens the store through it before serving (entrypoints/main.py).
    app.state.stores = stores
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

    mount_operations(app, metrics=metrics, seal_keys=secrets.seal_keys)
    mount_portal(app)

    return app
