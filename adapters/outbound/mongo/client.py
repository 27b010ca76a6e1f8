"""The one place a MongoDB client is made.

Beanie 1.30 runs on Motor, and mongomock-motor stands in for Motor in the embedded store.
Moving to Beanie 2 and PyMongo's async client is a change to this file only.
"""

from dataclasses import dataclass
from typing import Any

from mongomock_motor import AsyncMongoMockClient
from motor.motor_asyncio import AsyncIOMotorClient


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    uri: str | None
    """None selects the embedded in-memory store."""
    server_selection_timeout_ms: int
    socket_timeout_ms: int
    operation_timeout_ms: int
    """Bound on one store call as the service sees it, whatever the driver does."""
    embedded_ttl_sweep_seconds: float
    """How often the embedded store deletes expired entries."""


def create_client(options: ClientOptions) -> "AsyncIOMotorClient[Any]":
    # tz_aware: MongoDB stores UTC; without it both drivers hand back naive datetimes.
    if options.uri is None:
        # mongomock-motor mimics Motor's interface (its stubs say it is one).
        client: AsyncIOMotorClient[Any] = AsyncMongoMockClient(tz_aware=True)
        return client
    return AsyncIOMotorClient(
        options.uri,
        tz_aware=True,
        appname="auditlog",
        serverSelectionTimeoutMS=options.server_selection_timeout_ms,
        connectTimeoutMS=options.server_selection_timeout_ms,
        socketTimeoutMS=options.socket_timeout_ms,
    )
