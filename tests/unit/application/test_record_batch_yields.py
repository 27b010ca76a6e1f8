"""A full batch is CPU work: ingestion hands the event loop back as it goes."""

import pytest

from application.access.principal import Principal
from application.recording import MAX_BATCH, YIELD_EVERY
from application.services import Services
from domain.entry import AuditEvent
from tests.loop_turns import turns_taken

pytestmark = pytest.mark.usefixtures("tenants")


async def test_ingesting_a_full_batch_yields_every_hundred_events(
    services: Services, operator: Principal
) -> None:
    events = [
        AuditEvent(application="acme-web", action="auth.login", success=True)
        for _ in range(MAX_BATCH)
    ]
    async with turns_taken() as turns:
        entries = await services.recording.record_many.execute(operator, events)

    assert len(entries) == MAX_BATCH
    assert turns.count >= MAX_BATCH // YIELD_EVERY - 1
