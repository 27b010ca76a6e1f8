"""Opening the store: client, reachability, Beanie (documents and indexes), embedded expiry."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from beanie import init_beanie
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import ConfigurationError, ConnectionFailure, OperationFailure, PyMongoError

from adapters.outbound.mongo import embedded_unique
from adapters.outbound.mongo.checkpoints import BeanieCheckpoints
from adapters.outbound.mongo.client import ClientOptions, create_client
from adapters.outbound.mongo.directory import BeanieAccounts, BeanieApiKeys, BeanieApplications
from adapters.outbound.mongo.documents import (
    DOCUMENT_MODELS,
    AuditLogDocument,
    CheckpointDocument,
    SealDocument,
)
from adapters.outbound.mongo.embedded_ttl import EmbeddedTtlMonitor
from adapters.outbound.mongo.entries import BeanieAuditEntryRepository
from adapters.outbound.mongo.errors import StoreCalls
from adapters.outbound.mongo.seals import BeanieSealerState, BeanieSeals
from adapters.outbound.mongo.streams import BeanieLogStreams
from application.errors import StoreUnavailable

_SCHEMES = ("mongodb://", "mongodb+srv://")


class StoreUnreachable(Exception):
    """The database could not be reached or prepared when the service started (or refused
    an administrative step); the message never carries the driver's."""


@dataclass(kw_only=True)
class MongoStore:
    client: "AsyncIOMotorClient[Any]"
    ttl_monitor: EmbeddedTtlMonitor | None
    entries: BeanieAuditEntryRepository
    accounts: BeanieAccounts
    applications: BeanieApplications
    keys: BeanieApiKeys
    seals: BeanieSeals
    sealer_state: BeanieSealerState
    checkpoints: BeanieCheckpoints
    log_streams: BeanieLogStreams
    calls: StoreCalls

    @property
    def is_embedded(self) -> bool:
        return self.ttl_monitor is not None

    @classmethod
    async def open(
        cls,
        options: ClientOptions,
        *,
        database: str,
        manage_indexes: bool,
    ) -> "MongoStore":
        """Connect, check the database answers, and ensure collections and indexes.

        Beanie binds its document classes to one database per process.
        """
        if options.uri is not None and not options.uri.startswith(_SCHEMES):
            # pymongo would take any other string for a host name and wait it out.
            raise StoreUnreachable(
                "the connection string is not valid (it must start with mongodb:// or "
                "mongodb+srv://)"
            )
        try:
            client = create_client(options)
        except (ConfigurationError, ValueError) as exc:
            # Only the class: pymongo's message can quote the URI, password included.
            raise StoreUnreachable(
                f"the connection string is not valid ({type(exc).__name__})"
            ) from None
        try:
            await client.admin.command("ping")
            await init_beanie(
                database=client[database],
                document_models=DOCUMENT_MODELS,
                skip_indexes=not manage_indexes,
            )
            if not manage_indexes:
                await _require_indexes()
        except PyMongoError as exc:
            client.close()
            raise StoreUnreachable(why(exc, options)) from None
        monitor = None
        if options.uri is None:
            await embedded_unique.prepare(AuditLogDocument)
            monitor = EmbeddedTtlMonitor(
                [
                    model.get_motor_collection()
                    for model in (AuditLogDocument, SealDocument, CheckpointDocument)
                ],
                interval_seconds=options.embedded_ttl_sweep_seconds,
            )
            monitor.start()
        calls = StoreCalls(options.operation_timeout_ms / 1000)
        return cls(
            client=client,
            ttl_monitor=monitor,
            entries=BeanieAuditEntryRepository(calls),
            accounts=BeanieAccounts(calls),
            applications=BeanieApplications(calls),
            keys=BeanieApiKeys(calls),
            seals=BeanieSeals(calls),
            sealer_state=BeanieSealerState(calls),
            checkpoints=BeanieCheckpoints(calls),
            log_streams=BeanieLogStreams(calls),
            calls=calls,
        )

    async def database_now(self) -> datetime | None:
        """The server's clock (`hello`'s `localTime`), which its TTL monitor goes by; None
        where it cannot be read (mongomock, the embedded store, expires by this service's)."""
        try:
            async with self.calls():
                hello = await self.client.admin.command("hello")
        except (StoreUnavailable, NotImplementedError):
            return None
        local = hello.get("localTime")
        return local.replace(tzinfo=UTC) if isinstance(local, datetime) else None

    async def ready(self) -> bool:
        """Whether the database answers a ping now (its indexes were ensured at open)."""
        try:
            async with self.calls():
                await self.client.admin.command("ping")
        except StoreUnavailable:
            return False
        return True

    async def close(self) -> None:
        if self.ttl_monitor is not None:
            await self.ttl_monitor.stop()
        self.client.close()


def why(error: PyMongoError, options: ClientOptions) -> str:
    """Why start-up (or an administrative step) failed, without the driver's message (it
    can quote hosts and values)."""
    if isinstance(error, ConnectionFailure):
        return f"no answer within {options.server_selection_timeout_ms} ms ({type(error).__name__})"
    if isinstance(error, OperationFailure):
        code_name = (error.details or {}).get("codeName") or type(error).__name__
        return f"the database refused the request ({code_name})"
    return f"the database failed ({type(error).__name__})"


async def _require_indexes() -> None:
    """Under the append-only role the service may not create indexes (a TTL index is a way
    to delete): they must exist already, made by `auditlog-mongodb-role create`."""
    for model in DOCUMENT_MODELS:
        wanted = {index.document["name"] for index in getattr(model.Settings, "indexes", [])}
        present = set(await model.get_motor_collection().index_information())
        missing = sorted(wanted - present)
        if missing:
            raise StoreUnreachable(
                f"indexes {', '.join(missing)} are missing on {model.get_collection_name()}: "
                "create them with auditlog-mongodb-role create"
            )
