"""One contract suite per port, run against every store that implements it.

Each test takes the `store` fixture and runs once per factory in `FACTORIES`. To add a store,
add its `StoreFactory` here: a name, an async context manager that opens it in the test's
temporary directory and closes it, and (if it has one) a way to run its physical expiry.
A store that fails a rule fails here by the rule's name; a divergence known and reported,
not yet fixed, goes in the factory's `diverges` (a strict xfail, see tests/stores.py).
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.stores import IN_MEMORY, MONGODB, MONGOMOCK, SQLITE, Store, StoreFactory

FACTORIES: list[StoreFactory] = [
    IN_MEMORY,
    MONGOMOCK,
    MONGODB,  # skipped unless AUDITLOG_TEST_MONGODB_URI is set
    SQLITE,
]


@pytest.fixture(params=FACTORIES, ids=lambda factory: factory.name)
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    factory: StoreFactory = request.param
    why = factory.diverges.get(request.node.originalname)
    if why is not None:
        request.node.add_marker(pytest.mark.xfail(reason=f"{factory.name}: {why}", strict=True))
    return factory


@pytest.fixture
async def store(store_factory: StoreFactory, tmp_path: Path) -> AsyncIterator[Store]:
    async with store_factory.open(tmp_path) as opened:
        yield opened
