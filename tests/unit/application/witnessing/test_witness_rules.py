"""The witness's rules (issue 15): the first checkpoint is trusted on first use; each later
one must be signed by the service and extend the last one accepted; a resend is answered as
before; a gap is refused with the sequence expected; another checkpoint of a sequence held
(a split view) is a FORK, one that does not link to the last is a REWIND, both logged."""

import asyncio
import dataclasses
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from adapters.outbound.witness_ledger import SqliteWitnessLedger
from application.integrity.countersigning import Accepted, Countersigning, Refused
from domain.checkpoint import Checkpoint, next_checkpoint
from domain.witnessing import (
    BAD_SIGNATURE,
    FORK,
    GAP,
    REWIND,
    WitnessedHead,
    checkpoint_statement,
    head_statement,
)
from tests.contracts.checkpoints import chain, head, signed
from tests.contracts.seals import KEYS, WINDOW
from tests.fakes import FakeClock
from tests.witnesses import InMemoryWitnessLedger

WITNESS_KEYS = Ed25519SealKeys(new_signing_key())
# One chain, and a second that shares its first checkpoint and then goes another way.
CHAIN = chain((head("acme", 0),), (head("acme", 1),), (head("acme", 2),), (head("acme", 3),))
OTHER = chain((head("acme", 0),), (head("globex", 1),), (head("globex", 2),))


@pytest.fixture
def ledger() -> InMemoryWitnessLedger:
    return InMemoryWitnessLedger()


@pytest.fixture
def witness(ledger: InMemoryWitnessLedger) -> Countersigning:
    return Countersigning(ledger=ledger, service_keys=KEYS, signer=WITNESS_KEYS, clock=FakeClock())


async def accept(witness: Countersigning, *checkpoints: Checkpoint) -> None:
    for checkpoint in checkpoints:
        assert isinstance(await witness.execute(checkpoint), Accepted), checkpoint.sequence


async def test_the_first_checkpoint_is_trusted_on_first_use_whatever_its_sequence(
    witness: Countersigning,
) -> None:
    result = await witness.execute(CHAIN[2])

    assert isinstance(result, Accepted)
    assert result.first_use
    assert result.witnessed.sequence == 3
    assert (await witness.latest()) == result.witnessed


async def test_the_next_checkpoint_that_extends_the_last_is_accepted_and_countersigned(
    witness: Countersigning,
) -> None:
    await accept(witness, CHAIN[0])

    result = await witness.execute(CHAIN[1])

    assert isinstance(result, Accepted)
    assert not result.first_use
    assert not result.again
    witnessed = result.witnessed
    statement = checkpoint_statement(CHAIN[1].hash(), 2, witnessed.witnessed_at)
    assert WITNESS_KEYS.verify(WITNESS_KEYS.key_id, statement, witnessed.cosignature)


async def test_a_checkpoint_not_signed_by_the_service_is_refused(witness: Countersigning) -> None:
    forged = next_checkpoint(
        None, issued_at=CHAIN[0].issued_at, sealed_through=CHAIN[0].sealed_through, sealed=()
    )
    stranger = Ed25519SealKeys(new_signing_key())
    edited = dataclasses.replace(CHAIN[0], sealed_through=CHAIN[0].sealed_through + WINDOW)

    for checkpoint in (forged, forged.signed(stranger.key_id, stranger.sign), edited):
        assert await witness.execute(checkpoint) == Refused(error=BAD_SIGNATURE)
    assert await witness.latest() is None, "not even trusted on first use"


async def test_a_checkpoint_sent_again_is_answered_with_the_countersignature_given_then(
    witness: Countersigning, ledger: InMemoryWitnessLedger
) -> None:
    await accept(witness, CHAIN[0], CHAIN[1])
    before = dict(ledger.checkpoints)

    for checkpoint in (CHAIN[0], CHAIN[1]):
        result = await witness.execute(checkpoint)
        assert isinstance(result, Accepted)
        assert result.again
        assert result.witnessed == before[checkpoint.sequence]
    assert ledger.checkpoints == before


async def test_a_checkpoint_past_the_next_is_a_gap_naming_the_sequence_expected(
    witness: Countersigning,
) -> None:
    await accept(witness, CHAIN[0])

    assert await witness.execute(CHAIN[2]) == Refused(error=GAP, expected=2)
    assert (await witness.latest()).sequence == 1  # type: ignore[union-attr]


async def test_another_checkpoint_of_a_sequence_held_is_a_fork_and_is_logged(
    witness: Countersigning, caplog: pytest.LogCaptureFixture
) -> None:
    await accept(witness, *CHAIN[:3])

    with caplog.at_level(logging.WARNING, logger="auditlog.witness"):
        for split in (OTHER[1], OTHER[2]):  # one held before the last, and the last
            assert await witness.execute(split) == Refused(error=FORK)

    assert (await witness.latest()).checkpoint == CHAIN[2]  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "as FORK" in warnings[0].getMessage()


async def test_a_next_checkpoint_that_does_not_link_to_the_last_is_a_rewind(
    witness: Countersigning, caplog: pytest.LogCaptureFixture
) -> None:
    await accept(witness, OTHER[0], OTHER[1])
    # The service's chain cut back to 1 and grown again: its 3 links to another 2.
    regrown = CHAIN[2]

    with caplog.at_level(logging.WARNING, logger="auditlog.witness"):
        assert await witness.execute(regrown) == Refused(error=REWIND)

    assert (await witness.latest()).checkpoint == OTHER[1]  # type: ignore[union-attr]
    assert len(caplog.records) == 1
    assert "as REWIND" in caplog.records[0].getMessage()


async def test_a_next_checkpoint_sealed_less_far_than_the_last_is_a_rewind(
    witness: Countersigning,
) -> None:
    await accept(witness, CHAIN[0], CHAIN[1])
    back = signed(
        next_checkpoint(
            CHAIN[1],
            issued_at=CHAIN[1].issued_at + WINDOW,
            sealed_through=CHAIN[1].sealed_through - timedelta(milliseconds=1),
            sealed=(),
        )
    )

    assert await witness.execute(back) == Refused(error=REWIND)


async def test_a_checkpoint_older_than_any_held_is_a_rewind(witness: Countersigning) -> None:
    await accept(witness, CHAIN[2])

    assert await witness.execute(CHAIN[0]) == Refused(error=REWIND)


async def test_each_accounts_newest_head_is_kept_and_countersigned(
    witness: Countersigning,
) -> None:
    await accept(witness, OTHER[0], OTHER[1], OTHER[2])

    found = await witness.head("globex")

    assert found is not None
    seen, cosignature = found
    assert seen.head == OTHER[2].sealed[0]
    assert (seen.sequence, seen.checkpoint_hash) == (3, OTHER[2].hash())
    assert WITNESS_KEYS.verify(WITNESS_KEYS.key_id, head_statement(seen), cosignature)
    assert (await witness.head("acme")) is not None
    assert (await witness.head("initech")) is None


def test_a_head_statement_is_not_a_checkpoint_statement() -> None:
    seen = WitnessedHead(
        head=head(), sequence=1, checkpoint_hash=CHAIN[0].hash(), witnessed_at=CHAIN[0].issued_at
    )

    assert head_statement(seen) != checkpoint_statement(CHAIN[0].hash(), 1, CHAIN[0].issued_at)


async def test_two_checkpoints_of_one_sequence_sent_at_once_are_one_accepted_one_fork(
    tmp_path: Path,
) -> None:
    ledger = SqliteWitnessLedger.open(tmp_path / "witness.sqlite3")
    witness = Countersigning(
        ledger=ledger, service_keys=KEYS, signer=WITNESS_KEYS, clock=FakeClock()
    )
    try:
        await accept(witness, CHAIN[0])

        results = await asyncio.gather(witness.execute(CHAIN[1]), witness.execute(OTHER[1]))
    finally:
        ledger.close()

    assert isinstance(results[0], Accepted)
    assert results[1] == Refused(error=FORK)
