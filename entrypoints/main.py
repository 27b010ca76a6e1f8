"""`auditlog-server`: check the configuration and the database, then serve with uvicorn."""

import asyncio
import logging
import re
import signal
import sys

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from adapters.inbound.http.connections import header_deadline_protocol
from adapters.observability.logs import configure_logging
from adapters.outbound.mongo.store import StoreUnreachable
from adapters.outbound.plans_file import PlanFileError
from adapters.outbound.sqlite.store import StoreUnreachable as FileUnusable
from entrypoints.app import create_app
from entrypoints.config import ConfigError, client_options
from entrypoints.gc_tuning import GC_THRESHOLDS, tune_garbage_collection
from entrypoints.settings import ServerSettings, Settings, SettingsError

log = logging.getLogger("auditlog")
__all__ = ["GC_THRESHOLDS", "main", "server_config", "tune_garbage_collection"]
_USERINFO = re.compile(r"//[^@/]*@")


def main() -> int:
    configure_logging(level="INFO", development=False)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        log.error("%s", exc)
        return 2
    try:
        app = create_app(settings)
    except (ConfigError, PlanFileError) as exc:
        log.error("%s", exc)
        return 2
    # Once the app knows the service's own secrets, so that every log line redacts them.
    configure_logging(
        level=settings.server.log_level,
        development=settings.server.environment == "development",
        known_secrets=app.state.known_secrets,
    )
    uri = client_options(settings).uri
    config = server_config(app, settings.server)
    tune_garbage_collection()
    # The loop uvicorn would choose: the store opened ahead is bound to it.
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        return runner.run(_serve(app, config, uri))


async def _serve(app: FastAPI, config: uvicorn.Config, uri: str | None) -> int:
    # Fail fast, with a message instead of a traceback, when the store cannot be used. The
    # lifespan takes the store opened here: it is opened once.
    stores = app.state.stores
    if stores.kind == "mongodb":
        try:
            await stores.open_ahead()
        except StoreUnreachable as exc:
            log.error(
                "cannot use MongoDB at %s: %s; check that it is running and that "
                "AUDITLOG_MONGODB_URI is right",
                _USERINFO.sub("//***@", uri or ""),
                exc,
            )
            return 1
    elif stores.kind == "sqlite":
        try:
            await stores.open_ahead()
        except FileUnusable as exc:
            # A foreign, newer or corrupt file: configuration to fix, not a database to wait for.
            log.error("cannot use the embedded store: %s", exc)
            return 2
    # After a graceful stop uvicorn raises the signal it caught once more, for the previous
    # handler; with this one a SIGTERM'd server that shut down cleanly exits 0, not 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = uvicorn.Server(config)
    await server.serve()
    # As uvicorn.run: a server that never started (the port is taken) exits 3.
    return 0 if server.started else 3


def server_config(app: ASGIApp, server: ServerSettings) -> uvicorn.Config:
    """uvicorn as the settings ask: bounded slow clients, proxies believed only if named."""
    return uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        log_config=None,
        access_log=False,
        server_header=False,
        # SIGTERM: stop accepting, let requests in flight finish (up to this), then the
        # lifespan flushes the audit queue within its own grace period.
        timeout_graceful_shutdown=server.shutdown_timeout_seconds,
        http=header_deadline_protocol(server.header_timeout_seconds),
        timeout_keep_alive=server.keep_alive_seconds,
        # uvicorn counts the connection asking among those open, so it refuses at N of N:
        # one more lets exactly max_connections be served.
        limit_concurrency=server.max_connections + 1,
        # uvicorn believes X-Forwarded-For from loopback by default, so any local process
        # could choose the address the service's own audit entries carry.
        proxy_headers=bool(server.trusted_proxies),
        forwarded_allow_ips=server.trusted_proxies or None,
    )


if __name__ == "__main__":
    sys.exit(main())
