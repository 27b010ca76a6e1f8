"""The adapter suite: what is particular to the Beanie store (indexes, the role, driver
errors, the TTL monitor), on mongomock-motor and on a real MongoDB when one is given (see
tests/stores.py). The rules every store shares are in tests/contracts/."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.outbound.mongo.store import MongoStore
from tests.stores import (
    MONGO_FACTORIES,
    NO_REAL_MONGODB,
    REAL_MONGODB_URI,
    StoreFactory,
    mongomock,
)

__all__ = ["NO_REAL_MONGODB", "REAL_MONGODB_URI"]  # imported from here by test_mongodb_role


@pytest.fixture(params=MONGO_FACTORIES, ids=lambda factory: factory.name)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MongoStore]:
    factory: StoreFactory = request.param
    async with factory.open(tmp_path) as opened:
        assert isinstance(opened, MongoStore)
        yield opened


@pytest.fixture
async def embedded_store(tmp_path: Path) -> AsyncIterator[MongoStore]:
    async with mongomock(tmp_path) as opened:
        yield opened
