"""`auditlog-server` opens the store before serving, to stop at once without a database;
the lifespan then serves on that store, not on a second one."""

from typing import Any

import pytest

from adapters.outbound.mongo.store import MongoStore
from adapters.outbound.sqlite.store import SqliteStore
from entrypoints.app import create_app
from entrypoints.settings import Settings
from tests.e2e.conftest import settings

ADAPTERS = {"sqlite": SqliteStore, "memory": MongoStore}


@pytest.fixture(params=sorted(ADAPTERS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, kind: str) -> list[Any]:
    """Every store of `kind` opened while the test runs, in order."""
    adapter: Any = ADAPTERS[kind]
    stores: list[Any] = []
    real_open = adapter.open

    async def counting_open(*args: Any, **kwargs: Any) -> Any:
        store = await real_open(*args, **kwargs)
        stores.append(store)
        return store

    monkeypatch.setattr(adapter, "open", counting_open)
    return stores


@pytest.fixture
def configured(kind: str) -> Settings:
    return settings(store=kind)  # type: ignore[arg-type]


async def test_the_lifespan_serves_on_the_store_opened_ahead(
    opened: list[Any], configured: Settings
) -> None:
    app = create_app(configured)

    await app.state.stores.open_ahead()
    async with app.router.lifespan_context(app):
        assert app.state.store is opened[0]
    assert len(opened) == 1

    # That store was closed with the run it served: another run opens its own.
    async with app.router.lifespan_context(app):
        assert app.state.store is opened[1]


async def test_without_a_store_opened_ahead_the_lifespan_opens_one_per_run(
    opened: list[Any], configured: Settings
) -> None:
    app = create_app(configured)

    for _ in range(2):
        async with app.router.lifespan_context(app):
            assert app.state.store is opened[-1]

    assert len(opened) == 2
