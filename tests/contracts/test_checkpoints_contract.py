"""The checkpoint store's contract: a checkpoint reads back exactly and verifiable, a sequence
is taken once (the first kept), checkpoints follow in sequence order and are found by the
seals they list, and an expired one is never returned."""

import random
from datetime import UTC, datetime, timedelta

from domain.checkpoint import Checkpoint
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import KEYS, T0, WINDOW
from tests.stores import Store, StoreFactory

MS = timedelta(milliseconds=1)


async def test_a_signed_checkpoint_reads_back_equal_in_every_field_and_in_utc(
    store: Store,
) -> None:
    first, second = chain((head("acme", 0),), (head("acme", 1), head("globex", 1)))

    assert await store.checkpoints.add(first) is True
    assert await store.checkpoints.add(second) is True
    read = await store.checkpoints.get(2)

    assert read == second
    assert await store.checkpoints.get(1) == first
    assert await store.checkpoints.latest() == second
    assert read is not None
    assert read.previous == first.hash()
    moments = [read.issued_at, read.sealed_through, read.previous_expires_at]
    moments += [m for h in read.sealed for m in (h.window_start, h.expires_at)]
    assert all(m is not None and m.tzinfo is UTC for m in moments)
    # What a verifier recomputes from the stored checkpoint is what was signed.
    assert read.hash() == second.hash()
    assert KEYS.verify(read.key_id, read.message(), read.signature)


async def test_an_empty_store_has_no_checkpoint(store: Store) -> None:
    assert await store.checkpoints.latest() is None
    assert await store.checkpoints.get(1) is None
    assert await store.checkpoints.after(0, 10) == []
    assert await store.checkpoints.listing("acme", None, None) == []


async def test_an_unknown_sequence_is_none(store: Store) -> None:
    [first] = chain((head(),))
    await store.checkpoints.add(first)

    assert await store.checkpoints.get(2) is None


async def test_adding_a_sequence_taken_already_is_refused_and_keeps_the_first(
    store: Store,
) -> None:
    [first] = chain((head("acme", 0),))
    [rival] = chain((head("initech", 3),), start=T0 + WINDOW)
    assert rival.sequence == first.sequence

    assert await store.checkpoints.add(first) is True
    assert await store.checkpoints.add(rival) is False

    assert await store.checkpoints.get(1) == first
    assert await store.checkpoints.latest() == first
    # Nothing of the refused one is kept, not even what it lists.
    assert await store.checkpoints.listing("initech", None, None) == []
    assert await store.checkpoints.listing("acme", None, None) == [first]


async def test_after_returns_the_later_checkpoints_in_sequence_order_up_to_the_limit(
    store: Store,
) -> None:
    checkpoints = chain(*[(head("acme", w),) for w in range(6)])
    shuffled = checkpoints[:]
    random.Random(11).shuffle(shuffled)
    for checkpoint in shuffled:
        assert await store.checkpoints.add(checkpoint)

    assert await store.checkpoints.after(0, 100) == checkpoints
    assert await store.checkpoints.after(2, 2) == checkpoints[2:4]
    assert await store.checkpoints.after(4, 100) == checkpoints[4:]
    assert await store.checkpoints.after(6, 100) == []
    assert await store.checkpoints.after(0, 0) == []
    assert await store.checkpoints.latest() == checkpoints[-1]


async def test_listing_finds_the_checkpoints_naming_a_window_of_that_account_in_sequence_order(
    store: Store,
) -> None:
    checkpoints = chain(
        (head("acme", 0), head("globex", 4)),  # 1
        (head("globex", 1),),  # 2
        (head("acme", 1), head("acme", 2)),  # 3: two of acme's, listed once
        (),  # 4
        (head("acme", 4),),  # 5
    )
    shuffled = checkpoints[:]
    random.Random(3).shuffle(shuffled)
    for checkpoint in shuffled:
        await store.checkpoints.add(checkpoint)
    one, two, three, _, five = checkpoints

    async def listing(since: datetime | None, until: datetime | None) -> list[Checkpoint]:
        return await store.checkpoints.listing("acme", since, until)

    assert await listing(None, None) == [one, three, five]
    # A seal's window is in [since, until) when its start is.
    assert await listing(T0 + WINDOW, T0 + 2 * WINDOW) == [three]
    assert await listing(T0 + WINDOW, T0 + 4 * WINDOW) == [three]
    assert await listing(T0 + WINDOW - MS, T0 + 4 * WINDOW + MS) == [three, five]
    assert await listing(None, T0 + WINDOW) == [one]
    assert await listing(T0 + 2 * WINDOW + MS, None) == [five]
    # Checkpoint 1 lists globex's window 4, not acme's: the account and window go together.
    assert await listing(T0 + 3 * WINDOW, None) == [five]
    assert await listing(T0 + 5 * WINDOW, None) == []
    assert await store.checkpoints.listing("globex", None, None) == [one, two]
    assert await store.checkpoints.listing("initech", None, None) == []


async def test_an_expired_checkpoint_is_never_returned(
    store: Store, store_factory: StoreFactory
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # Kept as long as a checkpoint is at least, and as the seal it lists: both run out.
    [kept] = chain((head("acme", 0),))
    [_, gone] = chain(
        (), (head("acme", 1, expires_at=now - timedelta(days=2)),), start=now - timedelta(days=31)
    )
    assert gone.sequence == 2
    assert gone.expires_at < now
    await store.checkpoints.add(kept)
    await store.checkpoints.add(gone)

    async def assert_only_the_live_one_is_read() -> None:
        assert await store.checkpoints.get(2) is None
        assert await store.checkpoints.latest() == kept
        assert await store.checkpoints.after(0, 10) == [kept]
        assert await store.checkpoints.listing("acme", None, None) == [kept]

    # Never returned, whether or not the store's own expiry has run yet.
    await assert_only_the_live_one_is_read()
    if store_factory.expire is not None:
        await store_factory.expire(store)
        await assert_only_the_live_one_is_read()
        assert await store.checkpoints.get(1) == kept
