"""Idempotency keys over GraphQL: the same event again is the original entry and stores
nothing; another event under a held key is CONFLICT (IDEMPOTENCY_KEY_REUSED); per event in a
batch, which stays all or nothing; and two instances on one store agree under concurrency."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.outbound.sqlite.entries import SqliteAuditEntryRepository
from entrypoints.app import Overrides, create_app
from tests.e2e.api import OPERATOR_TOKEN, Api, Result
from tests.e2e.conftest import Tenants, settings
from tests.e2e.test_event_parts import RECORD, RECORD_MANY, entries, event, iso
from tests.fakes import FakeClock


async def record(api: Api, token: str, **fields: Any) -> Result:
    return await api.gql(RECORD, {"input": event(**fields)}, token=token)


async def record_many(api: Api, token: str, *events: dict[str, Any]) -> Result:
    return await api.gql(RECORD_MANY, {"inputs": list(events)}, token=token)


def reused(result: Result) -> None:
    assert result.code == "CONFLICT", result.body
    assert result.error["extensions"]["reason"] == "IDEMPOTENCY_KEY_REUSED"


async def test_the_same_key_and_content_return_the_original_and_store_nothing(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    first = (await record(api, tenants.acme_rw, idempotencyKey="k-1", metadata={"n": 1})).data
    clock.advance(seconds=30)
    again = (await record(api, tenants.acme_rw, idempotencyKey="k-1", metadata={"n": 1})).data

    assert again == first  # same id, createdAt, occurredAt and digest
    assert len(await entries(api)) == 1


async def test_a_retry_without_occurred_at_matches_the_original_whatever_its_time(
    api: Api, tenants: Tenants, clock: FakeClock
) -> None:
    happened = iso(clock.now() - timedelta(minutes=3))
    first = (await record(api, tenants.acme_rw, idempotencyKey="k", occurredAt=happened)).data
    clock.advance(seconds=5)

    assert (await record(api, tenants.acme_rw, idempotencyKey="k")).data == first
    reused(await record(api, tenants.acme_rw, idempotencyKey="k", occurredAt=iso(clock.now())))
    assert len(await entries(api)) == 1


async def test_another_event_under_a_held_key_is_a_conflict_that_says_why(
    api: Api, tenants: Tenants
) -> None:
    await record(api, tenants.acme_rw, idempotencyKey="k-2", success=True)

    for different in ({"success": False}, {"metadata": {"x": 1}}, {"action": "mfa.enrolled"}):
        reused(await record(api, tenants.acme_rw, idempotencyKey="k-2", **different))
    assert len(await entries(api)) == 1


async def test_keys_are_per_account(api: Api, tenants: Tenants) -> None:
    acme = (await record(api, tenants.acme_rw, idempotencyKey="shared")).data
    globex = (
        await record(api, tenants.globex_rw, application="shop", idempotencyKey="shared")
    ).data

    assert acme["recordAuditEvent"]["id"] != globex["recordAuditEvent"]["id"]
    # Neither tenant learns of the other's entry through the key.
    assert (await record(api, tenants.acme_rw, idempotencyKey="shared")).data == acme


async def test_in_a_batch_the_key_applies_per_event_and_the_batch_stays_all_or_nothing(
    api: Api, tenants: Tenants
) -> None:
    held = (await record(api, tenants.acme_rw, idempotencyKey="held")).data["recordAuditEvent"]

    mixed = (
        await record_many(
            api,
            tenants.acme_rw,
            event(idempotencyKey="new-1"),
            event(idempotencyKey="held"),
            event(),
            event(idempotencyKey="new-1"),  # the same event twice in one batch: one entry
        )
    ).data["recordAuditEvents"]
    refused = await record_many(
        api,
        tenants.acme_rw,
        event(idempotencyKey="new-2"),
        event(idempotencyKey="held", success=False),
    )

    assert mixed["recorded"] == 4
    answered = mixed["entries"]
    assert answered[1] == held
    assert answered[0] == answered[3]
    reused(refused)
    assert refused.error["extensions"]["index"] == 1
    stored = await entries(api)
    assert len(stored) == 3  # held, new-1 and the keyless one: nothing of the refused batch
    assert "new-2" not in {e["idempotencyKey"] for e in stored}


async def test_one_key_with_two_contents_in_one_batch_is_a_conflict(
    api: Api, tenants: Tenants
) -> None:
    refused = await record_many(
        api,
        tenants.acme_rw,
        event(idempotencyKey="dup"),
        event(idempotencyKey="dup", success=False),
    )

    reused(refused)
    assert await entries(api) == []


async def _instances(count: int, clock: FakeClock) -> AsyncIterator[list[Api]]:
    shared = settings()  # one data directory: one store
    async with AsyncExitStack() as stack:
        apis = []
        for _ in range(count):
            app = create_app(replace(shared), Overrides(clock=clock))
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a")
            )
            apis.append(Api(http, app.state.services.emitter.drain))
        yield apis


async def test_two_instances_on_one_store_receiving_the_same_keys_at_once_store_each_once(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each look-up answers late: both instances look a key up before either inserts it, so
    # the store's unique key decides, and the one refused looks again.
    looked_up = SqliteAuditEntryRepository.holding_keys

    async def late(self: SqliteAuditEntryRepository, keys: Any) -> Any:
        found = await looked_up(self, keys)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(SqliteAuditEntryRepository, "holding_keys", late)
    async for first, second in _instances(2, clock):
        await first.create_account("acme")
        await first.create_application("acme", "portal")
        _, key = await first.issue_key("acme", ["RECORD", "READ"])
        keys = [f"race-{i}" for i in range(40)]

        answers = await asyncio.gather(
            *(
                instance.gql(RECORD, {"input": event(idempotencyKey=k)}, token=key)
                for k in keys
                for instance in (first, second)
            )
        )

        ids = [answer.data["recordAuditEvent"]["id"] for answer in answers]
        assert all(ids[i] == ids[i + 1] for i in range(0, len(ids), 2))  # both got the one
        assert len(set(ids)) == len(keys)
        stored = await entries(first, key)
        assert sorted(e["idempotencyKey"] for e in stored) == sorted(keys)
        assert await entries(second, OPERATOR_TOKEN) == await entries(first, OPERATOR_TOKEN)
