"""Pushing checkpoints to witnesses: each gets what it lacks, in order; a GAP restarts from
the sequence it names; a witness that holds another chain, or more of it than the store, or
refuses one as FORK or REWIND is warned of once, naming it, and sent nothing more; one that
cannot be reached does not keep the others waiting."""

import logging

import pytest

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.integrity.countersigning import Countersigning
from application.integrity.witnessing import PushToWitnesses
from domain.checkpoint import Checkpoint
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import KEYS
from tests.fakes import FakeClock, InMemoryCheckpoints
from tests.witnesses import InMemoryWitnessLedger, InProcessWitness

CHAIN = chain(*[(head("acme", window),) for window in range(5)])
OTHER = chain((head("acme", 0),), (head("globex", 1),), (head("globex", 2),))


def witness(name: str = "https://w1.example") -> InProcessWitness:
    return InProcessWitness(
        name,
        Countersigning(
            ledger=InMemoryWitnessLedger(),
            service_keys=KEYS,
            signer=Ed25519SealKeys(new_signing_key()),
            clock=FakeClock(),
        ),
    )


async def store(*checkpoints: Checkpoint) -> InMemoryCheckpoints:
    held = InMemoryCheckpoints()
    for checkpoint in checkpoints:
        assert await held.add(checkpoint)
    return held


async def holding(*checkpoints: Checkpoint) -> InProcessWitness:
    given = witness()
    for checkpoint in checkpoints:
        await given.witness.execute(checkpoint)
    return given


async def held(witness: InProcessWitness) -> int | None:
    latest = await witness.witness.latest()
    return None if latest is None else latest.sequence


async def test_a_new_witness_gets_every_checkpoint_in_order_and_then_only_new_ones() -> None:
    checkpoints = await store(*CHAIN[:3])
    one = witness()
    push = PushToWitnesses(checkpoints=checkpoints, witnesses=[one])

    assert await push.run_once() == 3
    await checkpoints.add(CHAIN[3])
    assert await push.run_once() == 1

    assert one.sent == [1, 2, 3, 4]
    assert await held(one) == 4


async def test_a_witness_behind_gets_only_what_it_lacks() -> None:
    behind = await holding(*CHAIN[:2])
    push = PushToWitnesses(checkpoints=await store(*CHAIN), witnesses=[behind])

    await push.run_once()

    assert behind.sent == [3, 4, 5]
    assert await held(behind) == 5


class ClaimsMore(InProcessWitness):
    """Says it holds one more than it does (it accepted one since it was asked)."""

    async def latest(self) -> tuple[int, str] | None:
        sequence, _ = await super().latest() or (0, "")
        return sequence + 1, CHAIN[sequence].hash()


async def test_a_gap_restarts_from_the_sequence_the_witness_expects() -> None:
    gappy = ClaimsMore("https://w1.example", (await holding(CHAIN[0])).witness)
    push = PushToWitnesses(checkpoints=await store(*CHAIN), witnesses=[gappy])

    await push.run_once()

    assert gappy.sent == [3, 2, 3, 4, 5]
    assert await held(gappy) == 5


async def test_a_witness_that_needs_a_checkpoint_the_store_lost_is_reported_not_looped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stuck = await holding(CHAIN[0])
    push = PushToWitnesses(checkpoints=await store(CHAIN[0], *CHAIN[2:]), witnesses=[stuck])

    with caplog.at_level(logging.WARNING, logger="auditlog.witnessing"):
        assert await push.run_once() == 0

    assert stuck.sent == [3, 3]
    assert "needs checkpoint 2" in caplog.text


async def test_a_witness_holding_another_chain_is_warned_of_once_and_sent_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    split = await holding(*OTHER[:2])
    sent_before = list(split.sent)
    push = PushToWitnesses(checkpoints=await store(*CHAIN), witnesses=[split])

    with caplog.at_level(logging.WARNING, logger="auditlog.witnessing"):
        await push.run_once()
        await push.run_once()

    assert split.sent == sent_before
    assert await held(split) == 2
    [warning] = caplog.records
    assert "witness https://w1.example holds another checkpoint 2" in warning.getMessage()


async def test_a_witness_ahead_of_the_store_shows_the_store_was_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ahead = await holding(*CHAIN)
    push = PushToWitnesses(checkpoints=await store(*CHAIN[:3]), witnesses=[ahead])

    with caplog.at_level(logging.WARNING, logger="auditlog.witnessing"):
        await push.run_once()

    assert "holds checkpoint 5, beyond ours" in caplog.text


class ClaimsLess(InProcessWitness):
    """Says it holds only the first: the refusal comes from its answer, not from the check
    before sending."""

    async def latest(self) -> tuple[int, str] | None:
        return 1, CHAIN[0].hash()


@pytest.mark.parametrize(
    ("theirs", "error"),
    [(OTHER[:2], "FORK"), (chain((head("globex", 0),)), "REWIND")],
    ids=["another-2", "another-1"],
)
async def test_a_fork_or_rewind_answer_stops_the_push_to_that_witness(
    caplog: pytest.LogCaptureFixture, theirs: list[Checkpoint], error: str
) -> None:
    refusing = ClaimsLess("https://w1.example", (await holding(*theirs)).witness)
    push = PushToWitnesses(checkpoints=await store(*CHAIN), witnesses=[refusing])

    with caplog.at_level(logging.WARNING, logger="auditlog.witnessing"):
        assert await push.run_once() == 0

    assert len(refusing.sent) == 1
    assert f"as {error}" in caplog.text
    assert "witness https://w1.example" in caplog.text


async def test_a_witness_that_cannot_be_reached_is_reported_and_the_others_still_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down, up = witness("https://down.example"), witness("https://up.example")
    down.down = True
    push = PushToWitnesses(checkpoints=await store(*CHAIN[:2]), witnesses=[down, up])

    with caplog.at_level(logging.WARNING, logger="auditlog.witnessing"):
        assert await push.run_once() == 2
        down.down = False
        assert await push.run_once() == 2

    assert "witness https://down.example is unavailable: connection refused" in caplog.text
    assert await held(down) == await held(up) == 2
