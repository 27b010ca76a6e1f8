"""`auditlog-server`: check the configuration and the database, then serve with uvicorn."""

import asyncio
import logging
import re
import sys

import uvicorn

from adapters.mongo.client import ClientOptions
from adapters.mongo.store import MongoStore, StoreUnreachable
from adapters.plans_file import PlanFileError
from entrypoints.app import ConfigError, client_options, create_app
from entrypoints.settings import Settings, SettingsError

log = logging.getLogger("auditlog")
_USERINFO = re.compile(r"//[^@/]*@")


async def _check_reachable(options: ClientOptions, database: str) -> None:
    store = await MongoStore.open(options, database=database)
    await store.close()


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        log.error("%s", exc)
        return 2
    logging.getLogger().setLevel(settings.server.log_level)
    try:
        app = create_app(settings)
    except (ConfigError, PlanFileError) as exc:
        log.error("%s", exc)
        return 2
    options = client_options(settings)
    if options.uri is not None:
        # Fail fast, with a message instead of a traceback, when the database is not there.
        try:
            asyncio.run(_check_reachable(options, settings.store.mongodb_db))
        except StoreUnreachable as exc:
            log.error(
                "cannot use MongoDB at %s: %s; check that it is running and that "
                "AUDITLOG_MONGODB_URI is right",
                _USERINFO.sub("//***@", options.uri),
                exc,
            )
            return 1
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
