"""The seal store's contract: a seal reads back exactly and verifiable, a window is sealed
once (the first seal kept), found by account and window, and gone once it has expired."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from domain.integrity import Seal, SealLink
from tests.contracts.seals import KEYS, T0, WINDOW, signed_seal
from tests.stores import Store, StoreFactory


async def test_a_signed_seal_reads_back_equal_in_every_field_and_in_utc(store: Store) -> None:
    first = signed_seal(window=0)
    second = signed_seal(window=1, entries=3, previous=first)

    assert await store.seals.add(first) is True
    assert await store.seals.add(second) is True
    read = await store.seals.get(second.id)

    assert read == second
    assert read is not None
    assert read.previous == SealLink(first.id, first.hash(), first.expires_at)
    moments = [read.window_start, read.window_end, read.sealed_at, read.previous.expires_at]
    moments += [e.expires_at for e in read.entries]
    assert all(m.tzinfo is UTC for m in moments)
    # What a verifier recomputes from the stored seal is what was signed.
    assert read.hash() == second.hash()
    assert KEYS.verify(read.key_id, read.message(), read.signature)


async def test_a_version_1_seal_reads_back_as_version_1_and_still_verifies(store: Store) -> None:
    # Written by a service before receipts: signed over its whole body.
    unsigned = dataclasses.replace(signed_seal(window=0), version=1, signature="")
    old = unsigned.signed(KEYS.key_id, KEYS.sign)[0]
    assert signed_seal(window=0).version == 2

    assert await store.seals.add(old) is True
    read = await store.seals.get(old.id)

    assert read == old
    assert read is not None
    assert read.version == 1
    assert KEYS.verify(read.key_id, read.message(), read.signature)


async def test_an_unknown_seal_is_none(store: Store) -> None:
    await store.seals.add(signed_seal(window=1))

    assert await store.seals.get(signed_seal(window=0).id) is None


async def test_adding_a_window_sealed_already_is_refused_and_keeps_the_first(
    store: Store,
) -> None:
    first = signed_seal(window=0, entries=2)
    again = signed_seal(window=0, entries=3)
    assert first.id == again.id

    assert await store.seals.add(first) is True
    assert await store.seals.add(again) is False

    assert await store.seals.get(first.id) == first
    assert await store.seals.in_range("acme", None, None) == [first]


async def test_latest_is_the_newest_window_of_that_account_only(store: Store) -> None:
    acme = [signed_seal("acme", window=w) for w in (0, 2, 1)]
    globex = signed_seal("globex", window=5)
    for seal in [*acme, globex]:
        await store.seals.add(seal)

    assert await store.seals.latest("acme") == acme[1]
    assert await store.seals.latest("globex") == globex
    assert await store.seals.latest("initech") is None


async def test_in_range_returns_the_overlapping_windows_of_the_account_oldest_first(
    store: Store,
) -> None:
    seals = [signed_seal("acme", window=w) for w in range(5)]
    shuffled = seals[:]
    random.Random(7).shuffle(shuffled)
    for seal in [*shuffled, signed_seal("globex", window=2)]:
        await store.seals.add(seal)
    ms = timedelta(milliseconds=1)

    async def windows(since: datetime | None, until: datetime | None) -> list[Seal]:
        return await store.seals.in_range("acme", since, until)

    assert await windows(None, None) == seals
    # A window overlaps [since, until) when it ends after since and starts before until.
    assert await windows(T0 + WINDOW, T0 + 2 * WINDOW) == [seals[1]]
    assert await windows(T0 + WINDOW - ms, T0 + 2 * WINDOW + ms) == seals[0:3]
    assert await windows(T0 + 3 * WINDOW, None) == seals[3:]
    assert await windows(None, T0 + WINDOW) == [seals[0]]
    assert await windows(T0 + 5 * WINDOW, None) == []
    assert await store.seals.in_range("initech", None, None) == []


async def test_a_seal_lasts_as_long_as_the_last_of_its_entries(
    store: Store, store_factory: StoreFactory
) -> None:
    if store_factory.expire is None:
        pytest.skip(f"{store_factory.name}: no expiry a test can run")
    # A downgrade in mid-window: entries of one window can have different retentions.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=30)
    lasting = [timedelta(days=7), timedelta(days=365), timedelta(days=1)]
    kept = signed_seal(window=0, entries=3, start_of_first=start, retention=lasting)
    ended = [timedelta(days=7), timedelta(days=29)]
    gone = signed_seal(window=1, entries=2, start_of_first=start, retention=ended)
    await store.seals.add(kept)
    await store.seals.add(gone)

    await store_factory.expire(store)

    assert await store.seals.get(kept.id) == kept
    assert await store.seals.get(gone.id) is None
    assert await store.seals.in_range("acme", None, None) == [kept]
