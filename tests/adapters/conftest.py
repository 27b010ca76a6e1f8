"""The adapter suite runs on mongomock-motor, and on a real MongoDB when one is given.

Set AUDITLOG_TEST_MONGODB_URI (e.g. mongodb://localhost:27017) to run every test marked
with the `store` fixture against it too; each test gets its own database, dropped after.
"""

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.outbound.mongo.store import MongoStore
from tests import configs

REAL_MONGODB_URI = os.environ.get("AUDITLOG_TEST_MONGODB_URI")
NO_REAL_MONGODB = "AUDITLOG_TEST_MONGODB_URI is not set: this ran on mongomock only"


async def open_embedded_store(sweep_seconds: float = 3600.0) -> MongoStore:
    # A long sweep interval: tests trigger sweeps themselves unless they test the timer.
    return await MongoStore.open(
        configs.client_options(None, embedded_ttl_sweep_seconds=sweep_seconds),
        database="auditlog_test",
        manage_indexes=True,
    )


@pytest.fixture(params=["mongomock", "mongodb"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MongoStore]:
    if request.param == "mongomock":
        opened = await open_embedded_store()
        yield opened
        await opened.close()
        return
    if REAL_MONGODB_URI is None:
        pytest.skip(NO_REAL_MONGODB)
    database = f"auditlog_test_{uuid.uuid4().hex[:12]}"
    opened = await MongoStore.open(
        configs.client_options(REAL_MONGODB_URI), database=database, manage_indexes=True
    )
    yield opened
    await opened.client.drop_database(database)
    await opened.close()


@pytest.fixture
async def embedded_store() -> AsyncIterator[MongoStore]:
    opened = await open_embedded_store()
    yield opened
    await opened.close()
