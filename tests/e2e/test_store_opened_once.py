"""`auditlog-server` opens the store before serving, to stop at once without a database;
the lifespan then serves on that store, not on a second one."""

from typing import Any

import pytest

from adapters.outbound.mongo.store import MongoStore
from entrypoints.app import create_app
from tests.e2e.conftest import settings


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[MongoStore]:
    """Every store opened while the test runs, in order."""
    stores: list[MongoStore] = []
    real_open = MongoStore.open

    async def counting_open(*args: Any, **kwargs: Any) -> MongoStore:
        store = await real_open(*args, **kwargs)
        stores.append(store)
        return store

    monkeypatch.setattr(MongoStore, "open", counting_open)
    return stores


async def test_the_lifespan_serves_on_the_store_opened_ahead(opened: list[MongoStore]) -> None:
    app = create_app(settings())

    await app.state.stores.open_ahead()
    async with app.router.lifespan_context(app):
        assert app.state.store is opened[0]
    assert len(opened) == 1

    # That store was closed with the run it served: another run opens its own.
    async with app.router.lifespan_context(app):
        assert app.state.store is opened[1]


async def test_without_a_store_opened_ahead_the_lifespan_opens_one_per_run(
    opened: list[MongoStore],
) -> None:
    app = create_app(settings())

    for _ in range(2):
        async with app.router.lifespan_context(app):
            assert app.state.store is opened[-1]

    assert len(opened) == 2
