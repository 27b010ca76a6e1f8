"""Seals and the sealer's lease on the store: inserted and read back exactly, never replaced,
found by account and window, deleted by TTL with their last entry; one sealer at a time."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from adapters.outbound.mongo.documents import SealDocument
from adapters.outbound.mongo.store import MongoStore
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from domain.integrity import Seal, SealLink, new_seal

WINDOW = timedelta(minutes=1)
# Window-aligned (a whole minute) and at MongoDB's millisecond precision.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEYS = Ed25519SealKeys(new_signing_key())


def signed_seal(
    account: str = "acme",
    *,
    window: int = 0,
    entries: int = 2,
    previous: Seal | None = None,
    retention: list[timedelta] | None = None,
) -> Seal:
    """A seal over `entries` made-up rows of window number `window` after T0, signed."""
    start = T0 + window * WINDOW
    retention = retention or [timedelta(days=90)] * entries
    rows = [
        (
            f"{account}-{window}-{i}".ljust(24, "0"),
            start + timedelta(seconds=i, milliseconds=123),
            start + timedelta(seconds=i, milliseconds=123) + retention[i],
            f"{window:02d}{i:02d}".ljust(64, "a"),
        )
        for i in range(entries)
    ]
    seal = new_seal(
        account=account,
        window_start=start,
        window=WINDOW,
        entries=rows,
        previous=None if previous is None else previous.link(),
        sealed_at=start + WINDOW + timedelta(minutes=2, milliseconds=7),
    )
    return dataclasses.replace(seal, key_id=KEYS.key_id, signature=KEYS.sign(seal.message()))


class TestSeals:
    async def test_a_signed_seal_reads_back_equal_in_every_field_and_in_utc(
        self, store: MongoStore
    ) -> None:
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

    async def test_an_unknown_seal_is_none(self, store: MongoStore) -> None:
        assert await store.seals.get("acme/2026-03-02T10:00:00.000+00:00") is None

    async def test_adding_a_window_sealed_already_is_refused_and_keeps_the_first(
        self, store: MongoStore
    ) -> None:
        first = signed_seal(window=0, entries=2)
        again = signed_seal(window=0, entries=3)
        assert first.id == again.id

        assert await store.seals.add(first) is True
        assert await store.seals.add(again) is False

        assert await store.seals.get(first.id) == first
        assert await SealDocument.get_motor_collection().count_documents({}) == 1

    async def test_latest_is_the_newest_window_of_that_account_only(
        self, store: MongoStore
    ) -> None:
        acme = [signed_seal("acme", window=w) for w in (0, 2, 1)]
        globex = signed_seal("globex", window=5)
        for seal in [*acme, globex]:
            await store.seals.add(seal)

        assert await store.seals.latest("acme") == acme[1]
        assert await store.seals.latest("globex") == globex
        assert await store.seals.latest("initech") is None

    async def test_in_range_returns_the_overlapping_windows_of_the_account_oldest_first(
        self, store: MongoStore
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


class TestSealExpiry:
    async def test_audit_seals_has_a_ttl_index_on_expires_at_deleting_at_that_moment(
        self, store: MongoStore
    ) -> None:
        collection = SealDocument.get_motor_collection()
        indexes = await collection.index_information()

        assert collection.name == "audit_seals"
        ttl = [ix for ix in indexes.values() if "expireAfterSeconds" in ix]
        assert len(ttl) == 1
        assert [(f, int(d)) for f, d in ttl[0]["key"]] == [("expires_at", 1)]
        assert ttl[0]["expireAfterSeconds"] == 0

    async def test_a_seal_is_stored_to_expire_with_the_last_of_its_entries(
        self, store: MongoStore
    ) -> None:
        # A downgrade in mid-window: entries of one window can have different retentions.
        retention = [timedelta(days=90), timedelta(days=365), timedelta(days=7)]
        seal = signed_seal(window=0, entries=3, retention=retention)
        await store.seals.add(seal)

        document = await SealDocument.get_motor_collection().find_one({"_id": seal.id})

        assert document is not None
        longest = max(e.expires_at for e in seal.entries)
        assert longest == seal.entries[1].expires_at
        assert document["expires_at"].astimezone(UTC) == longest
        assert seal.expires_at == longest


LEASE = timedelta(minutes=2)


class TestSealerState:
    async def test_the_first_sealer_gets_the_lease(self, store: MongoStore) -> None:
        assert await store.sealer_state.acquire("a", now=T0, until=T0 + LEASE) is True

    async def test_another_sealer_is_refused_while_the_lease_runs(self, store: MongoStore) -> None:
        state = store.sealer_state
        await state.acquire("a", now=T0, until=T0 + LEASE)

        assert (
            await state.acquire("b", now=T0 + timedelta(seconds=1), until=T0 + 2 * LEASE) is False
        )
        assert await state.acquire("b", now=T0 + LEASE - timedelta(milliseconds=1),
                                   until=T0 + 2 * LEASE) is False  # fmt: skip

    async def test_another_sealer_takes_over_once_the_lease_has_run_out(
        self, store: MongoStore
    ) -> None:
        state = store.sealer_state
        await state.acquire("a", now=T0, until=T0 + LEASE)

        assert await state.acquire("b", now=T0 + LEASE, until=T0 + 2 * LEASE) is True
        # And now the first one is the other one.
        assert await state.acquire("a", now=T0 + LEASE, until=T0 + 3 * LEASE) is False

    async def test_the_holder_renews_its_lease_before_it_runs_out(self, store: MongoStore) -> None:
        state = store.sealer_state
        await state.acquire("a", now=T0, until=T0 + LEASE)

        assert await state.acquire("a", now=T0 + timedelta(minutes=1), until=T0 + 3 * LEASE)
        # Renewed: past the first lease's end, another sealer is still refused.
        assert await state.acquire("b", now=T0 + 2 * LEASE, until=T0 + 4 * LEASE) is False
        assert await state.acquire("b", now=T0 + 3 * LEASE, until=T0 + 4 * LEASE) is True

    async def test_the_watermark_starts_unset_and_only_the_holder_advances_it(
        self, store: MongoStore
    ) -> None:
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
