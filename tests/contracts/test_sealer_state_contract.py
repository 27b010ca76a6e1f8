"""The sealer's lease: one holder at a time, taken over once it runs out, renewed by its
holder, and read as who holds it until when; and the watermark of what is sealed, moved by
the holder only."""

from datetime import UTC, timedelta

from application.ports import Lease
from tests.contracts.seals import T0, WINDOW
from tests.stores import Store

LEASE = timedelta(minutes=2)


async def test_the_first_sealer_gets_the_lease(store: Store) -> None:
    assert await store.sealer_state.acquire("a", now=T0, until=T0 + LEASE) is True


async def test_another_sealer_is_refused_while_the_lease_runs(store: Store) -> None:
    state = store.sealer_state
    await state.acquire("a", now=T0, until=T0 + LEASE)

    assert await state.acquire("b", now=T0 + timedelta(seconds=1), until=T0 + 2 * LEASE) is False
    assert await state.acquire("b", now=T0 + LEASE - timedelta(milliseconds=1),
                               until=T0 + 2 * LEASE) is False  # fmt: skip


async def test_another_sealer_takes_over_once_the_lease_has_run_out(store: Store) -> None:
    state = store.sealer_state
    await state.acquire("a", now=T0, until=T0 + LEASE)

    assert await state.acquire("b", now=T0 + LEASE, until=T0 + 2 * LEASE) is True
    # And now the first one is the other one.
    assert await state.acquire("a", now=T0 + LEASE, until=T0 + 3 * LEASE) is False


async def test_the_holder_renews_its_lease_before_it_runs_out(store: Store) -> None:
    state = store.sealer_state
    await state.acquire("a", now=T0, until=T0 + LEASE)

    assert await state.acquire("a", now=T0 + timedelta(minutes=1), until=T0 + 3 * LEASE)
    # Renewed: past the first lease's end, another sealer is still refused.
    assert await state.acquire("b", now=T0 + 2 * LEASE, until=T0 + 4 * LEASE) is False
    assert await state.acquire("b", now=T0 + 3 * LEASE, until=T0 + 4 * LEASE) is True


async def test_the_lease_reads_as_its_holder_and_end_once_taken(store: Store) -> None:
    state = store.sealer_state
    assert await state.lease() is None

    await state.acquire("a", now=T0, until=T0 + LEASE)
    assert await state.lease() == Lease("a", T0 + LEASE)
    await state.acquire("b", now=T0 + timedelta(seconds=1), until=T0 + 2 * LEASE)  # refused
    assert await state.lease() == Lease("a", T0 + LEASE)
    await state.acquire("b", now=T0 + LEASE, until=T0 + 2 * LEASE + timedelta(milliseconds=5))

    lease = await state.lease()
    assert lease == Lease("b", T0 + 2 * LEASE + timedelta(milliseconds=5))
    assert lease is not None
    assert lease.until.tzinfo is UTC


async def test_the_watermark_starts_unset_and_only_the_holder_advances_it(store: Store) -> None:
    state = store.sealer_state
    assert await state.sealed_through() is None
    await state.acquire("a", now=T0, until=T0 + LEASE)

    await state.advance("a", T0 + WINDOW)
    assert await state.sealed_through() == T0 + WINDOW
    through = await state.sealed_through()
    assert through is not None
    assert through.tzinfo is UTC

    await state.advance("b", T0 + 5 * WINDOW)
    assert await state.sealed_through() == T0 + WINDOW

    await state.acquire("b", now=T0 + LEASE, until=T0 + 2 * LEASE)
    await state.advance("a", T0 + 7 * WINDOW)
    assert await state.sealed_through() == T0 + WINDOW
    await state.advance("b", T0 + 3 * WINDOW)
    assert await state.sealed_through() == T0 + 3 * WINDOW
