"""The clock each store expires by, as the verifier reads it: a real MongoDB's server clock
(its TTL monitor's), and none for the stores that expire by this machine's clock."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.stores import MONGODB, MONGOMOCK, SQLITE, StoreFactory


@pytest.mark.parametrize("factory", [SQLITE, MONGOMOCK], ids=lambda f: f.name)
async def test_the_embedded_stores_expire_by_this_machine_s_clock(
    factory: StoreFactory, tmp_path: Path
) -> None:
    async with factory.open(tmp_path) as store:
        assert await store.database_now() is None  # type: ignore[attr-defined]


async def test_a_real_mongodb_states_its_own_clock(tmp_path: Path) -> None:
    async with MONGODB.open(tmp_path) as store:
        now = await store.database_now()  # type: ignore[attr-defined]
    assert now is not None
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=5)
