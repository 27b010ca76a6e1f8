"""The entry repository's contract for what an event says beyond the basics: when it
happened, its idempotency key (unique per account while the entry is stored), its actor,
targets and metadata (stored and read back exactly, and filtered on), and pages oldest first."""

from datetime import UTC, datetime, timedelta

import pytest

from application.errors import Conflict, IdempotencyKeyTaken
from application.reading.criteria import EntryCriteria, LogFilter, Order, Position
from domain.entry import AuditEntry
from domain.event_parts import Party
from tests.builders import entry
from tests.stores import Store

T0 = datetime(2036, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
ALICE = Party("user_01HALICE", "user", "Alice Example")
BOB = Party("user_01HBOB", "user")
KEY = Party("0a1b2c3d4e5f6a7b", "api_key", "ci deploy key")


def criteria(**narrowing: object) -> EntryCriteria:
    return EntryCriteria(LogFilter(**narrowing))  # type: ignore[arg-type]


def at(seconds_before: float, **fields: object) -> AuditEntry:
    return entry(created_at=T0 - timedelta(seconds=seconds_before), **fields)  # type: ignore[arg-type]


async def ids(store: Store, **narrowing: object) -> list[str]:
    rows = await store.entries.query(criteria(**narrowing), now=T0, after=None, limit=1_000)
    return [row.id for row in rows]


async def test_every_new_field_reads_back_exactly_as_it_was_added(store: Store) -> None:
    full = at(
        5,
        occurred_at=T0 - timedelta(hours=3, milliseconds=7),
        idempotency_key="evt_2036-03-01/ünïcode key",
        actor=ALICE,
        targets=(BOB, KEY),
        metadata={"plan": "pro", "seats": 12, "ratio": 0.25, "trial": False, "note": None},
    )
    bare = at(4)  # as an entry recorded before these fields existed
    await store.entries.add(full)
    await store.entries.add_many([bare])

    rows = await store.entries.query(criteria(), now=T0, after=None, limit=10)

    assert rows == [bare, full]
    assert rows[1].occurred_at is not None
    assert rows[1].occurred_at.tzinfo is UTC
    assert rows[1].content_digest() == full.digest
    assert (rows[0].occurred_at, rows[0].targets, rows[0].metadata) == (None, (), None)
    assert await store.entries.get(full.id, now=T0) == full


async def test_holding_keys_finds_the_entries_of_those_account_and_key_pairs(
    store: Store,
) -> None:
    mine = at(3, idempotency_key="k1")
    theirs = at(2, account="globex", idempotency_key="k1")
    other = at(1, idempotency_key="k2")
    await store.entries.add_many([mine, theirs, other, at(0.5)])

    found = await store.entries.holding_keys([("acme", "k1"), ("acme", "nope"), ("acme", "k1")])

    assert found == [mine]
    assert sorted(
        e.id for e in await store.entries.holding_keys([("globex", "k1"), ("acme", "k2")])
    ) == sorted([theirs.id, other.id])
    assert await store.entries.holding_keys([]) == []


async def test_a_key_taken_in_the_account_refuses_the_insert_and_keeps_the_original(
    store: Store,
) -> None:
    original = at(3, idempotency_key="once")
    await store.entries.add(original)

    with pytest.raises(IdempotencyKeyTaken) as single:
        await store.entries.add(at(2, idempotency_key="once"))
    with pytest.raises(IdempotencyKeyTaken) as batch:
        await store.entries.add_many([at(1.5), at(1, idempotency_key="once")])

    assert (single.value.account, single.value.key) == ("acme", "once")
    assert (batch.value.account, batch.value.key) == ("acme", "once")
    assert await ids(store) == [original.id]


async def test_one_key_twice_in_a_batch_stores_none_of_it(store: Store) -> None:
    with pytest.raises(IdempotencyKeyTaken):
        await store.entries.add_many(
            [at(2, idempotency_key="twice"), at(1, idempotency_key="twice")]
        )

    assert await ids(store) == []


async def test_the_same_key_in_another_account_and_no_key_at_all_are_free(store: Store) -> None:
    await store.entries.add_many(
        [at(4, idempotency_key="k"), at(3, account="globex", idempotency_key="k"), at(2), at(1)]
    )

    assert len(await store.entries.query(criteria(), now=T0, after=None, limit=10)) == 4


async def test_a_taken_id_is_still_a_conflict_with_a_key_beside_it(store: Store) -> None:
    first = at(2, idempotency_key="a")
    await store.entries.add(first)

    with pytest.raises(Conflict):
        await store.entries.add(entry(entry_id=first.id, created_at=T0, idempotency_key="b"))


async def test_a_retried_delivery_with_keys_adds_only_what_is_missing(store: Store) -> None:
    attempt = [at(3 - i, idempotency_key=f"d-{i}") for i in range(3)]
    await store.entries.add(attempt[0])

    await store.entries.add_many(attempt, skip_existing=True)

    assert sorted(await ids(store)) == sorted(e.id for e in attempt)


async def test_a_key_stays_taken_while_its_expired_entry_is_still_stored(store: Store) -> None:
    expired = entry(
        created_at=T0 - timedelta(days=2), retention=timedelta(days=1), idempotency_key="old"
    )
    await store.entries.add(expired)

    assert await ids(store) == []  # expired: never served
    assert await store.entries.holding_keys([("acme", "old")]) == [expired]
    with pytest.raises(IdempotencyKeyTaken):
        await store.entries.add(at(1, idempotency_key="old"))


async def test_oldest_first_pages_forward_in_ingestion_order_with_ties_by_id(store: Store) -> None:
    tied = T0 - timedelta(seconds=10)
    rows = [at(20), entry(created_at=tied), entry(created_at=tied), entry(created_at=tied), at(1)]
    await store.entries.add_many(list(reversed(rows)))
    expected = [e.id for e in sorted(rows, key=lambda e: (e.created_at, e.id))]

    seen: list[str] = []
    after: Position | None = None
    while True:
        page = await store.entries.query(
            criteria(), now=T0, after=after, limit=2, order=Order.OLDEST_FIRST
        )
        if not page:
            break
        seen += [e.id for e in page]
        after = Position(page[-1].created_at, page[-1].id)

    assert seen == expected
    newest = await store.entries.query(criteria(), now=T0, after=None, limit=10)
    assert [e.id for e in newest] == list(reversed(expected))


async def test_oldest_first_honours_the_filter_time_range_and_expiry(store: Store) -> None:
    expired = entry(created_at=T0 - timedelta(days=2), retention=timedelta(days=1))
    inside = [at(50, action="auth.logout"), at(40), at(30, action="auth.logout")]
    await store.entries.add_many([expired, *inside, at(5)])

    page = await store.entries.query(
        criteria(since=T0 - timedelta(seconds=60), until=T0 - timedelta(seconds=10)),
        now=T0,
        after=None,
        limit=10,
        order=Order.OLDEST_FIRST,
    )
    logouts = await store.entries.query(
        criteria(actions=("auth.logout",)), now=T0, after=None, limit=10, order=Order.OLDEST_FIRST
    )
    two_actions = await store.entries.query(
        criteria(actions=("auth.logout", "auth.login")),
        now=T0,
        after=Position(inside[0].created_at, inside[0].id),
        limit=10,
        order=Order.OLDEST_FIRST,
    )

    assert [e.id for e in page] == [e.id for e in inside]
    assert [e.id for e in logouts] == [inside[0].id, inside[2].id]
    assert [e.id for e in two_actions][:2] == [inside[1].id, inside[2].id]


async def test_filters_on_actor_and_targets_select_what_admits_selects(store: Store) -> None:
    by_alice_on_bob = at(6, actor=ALICE, targets=(BOB,))
    by_alice_on_key = at(5, actor=ALICE, targets=(KEY, Party("acme", "account")))
    by_bob_on_alice = at(4, actor=BOB, targets=(ALICE,))
    by_key = at(3, actor=KEY)
    untouched = at(2)
    mixed = at(1, actor=BOB, targets=(Party("user_01HBOB", "api_key"), Party("x1", "user")))
    everything = [by_alice_on_bob, by_alice_on_key, by_bob_on_alice, by_key, untouched, mixed]
    await store.entries.add_many(everything)

    cases = [
        {"actor_id": ALICE.id},
        {"actor_id": "user_01HBOB"},
        {"target_id": "user_01HBOB"},
        {"target_type": "api_key"},
        {"target_type": "account", "actor_id": ALICE.id},
        # id and type together: one target must have both (mixed has each on another target)
        {"target_id": "user_01HBOB", "target_type": "user"},
        {"target_id": "x1", "target_type": "api_key"},
        {"actor_id": "nobody"},
    ]
    for narrowing in cases:
        wanted = criteria(**narrowing)
        expected = [
            e.id
            for e in sorted(everything, key=lambda e: (e.created_at, e.id), reverse=True)
            if wanted.admits(e)
        ]
        assert await ids(store, **narrowing) == expected, narrowing
        oldest = await store.entries.query(
            wanted, now=T0, after=None, limit=100, order=Order.OLDEST_FIRST
        )
        assert [e.id for e in oldest] == list(reversed(expected)), narrowing
    assert await ids(store, target_id="user_01HBOB", target_type="user") == [by_alice_on_bob.id]


async def test_actor_and_target_filters_page_by_keyset(store: Store) -> None:
    rows = [at(10 - i, actor=ALICE, targets=(BOB,)) for i in range(7)]
    await store.entries.add_many([*rows, at(0.5, actor=BOB)])

    for narrowing in ({"actor_id": ALICE.id}, {"target_id": BOB.id}):
        seen: list[str] = []
        after: Position | None = None
        while page := await store.entries.query(
            criteria(**narrowing), now=T0, after=after, limit=3
        ):
            seen += [e.id for e in page]
            after = Position(page[-1].created_at, page[-1].id)
        assert seen == [e.id for e in reversed(rows)]
