"""A full batch is CPU work: ingestion hands the event loop back as it goes."""

import asyncio

import pytest

from application.principal import Principal
from application.record import MAX_BATCH, YIELD_EVERY
from application.services import Services
from domain.entry import AuditEvent

pytestmark = pytest.mark.usefixtures("tenants")


async def test_ingesting_a_full_batch_yields_every_hundred_events(
    services: Services, operator: Principal
) -> None:
    events = [
        AuditEvent(application="acme-web", action="auth.login", success=True)
        for _ in range(MAX_BATCH)
    ]
    turns = 0
    done = asyncio.Event()

    async def count_turns() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    await asyncio.sleep(0)
    before = turns
    # The fakes never wait: without the yields the counter could not run at all.
    entries = await services.record_many.execute(operator, events)
    done.set()
    await counter

    assert len(entries) == MAX_BATCH
    assert turns - before >= MAX_BATCH // YIELD_EVERY - 1
