"""The witness's ledger, on SQLite and in the fake: what was added is read back as it was;
the last is the highest sequence; an account's head moves only forward; the SQLite file keeps
it all across a reopen, and is held by one witness at a time."""

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.outbound.witness_ledger import LedgerUnusable, SqliteWitnessLedger
from application.integrity.countersigning import WitnessLedger
from domain.checkpoint import Checkpoint
from domain.witnessing import Witnessed
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import T0
from tests.witnesses import InMemoryWitnessLedger

CHAIN = chain(
    (head("acme", 0), head("globex", 0)),
    (head("acme", 2), head("acme", 1)),  # two windows of one account in one step
    (head("globex", 3),),
)


def witnessed(checkpoint: Checkpoint) -> Witnessed:
    return Witnessed(
        checkpoint=checkpoint,
        witnessed_at=T0 + timedelta(hours=checkpoint.sequence, milliseconds=7),
        cosignature=f"cosignature-{checkpoint.sequence}",
    )


@pytest.fixture(params=["in-memory", "sqlite"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WitnessLedger]:
    if request.param == "in-memory":
        yield InMemoryWitnessLedger()
        return
    opened = SqliteWitnessLedger.open(tmp_path / "witness.sqlite3")
    try:
        yield opened
    finally:
        opened.close()


async def test_an_empty_ledger_has_no_last_and_no_heads(ledger: WitnessLedger) -> None:
    assert await ledger.last() is None
    assert await ledger.get(1) is None
    assert await ledger.head("acme") is None


async def test_what_was_added_is_read_back_as_it_was(ledger: WitnessLedger) -> None:
    for checkpoint in CHAIN:
        await ledger.add(witnessed(checkpoint))

    assert await ledger.last() == witnessed(CHAIN[2])
    assert await ledger.get(2) == witnessed(CHAIN[1])
    assert (await ledger.get(2)).checkpoint_hash == CHAIN[1].hash()  # type: ignore[union-attr]
    assert await ledger.get(4) is None


async def test_an_accounts_head_is_its_newest_window_seen_and_where_it_was_seen(
    ledger: WitnessLedger,
) -> None:
    for checkpoint in CHAIN:
        await ledger.add(witnessed(checkpoint))

    acme = await ledger.head("acme")
    globex = await ledger.head("globex")

    assert acme is not None
    assert globex is not None
    assert acme.head == head("acme", 2)
    assert (acme.sequence, acme.checkpoint_hash) == (2, CHAIN[1].hash())
    assert acme.witnessed_at == witnessed(CHAIN[1]).witnessed_at
    assert globex.head == head("globex", 3)
    assert globex.sequence == 3


async def test_a_later_checkpoint_listing_an_older_window_does_not_move_a_head_back(
    ledger: WitnessLedger,
) -> None:
    late = chain((head("acme", 5),), (head("acme", 4),))
    for checkpoint in late:
        await ledger.add(witnessed(checkpoint))

    assert (await ledger.head("acme")).head == head("acme", 5)  # type: ignore[union-attr]


async def test_the_sqlite_ledger_keeps_everything_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "witness.sqlite3"
    first = SqliteWitnessLedger.open(path)
    for checkpoint in CHAIN:
        await first.add(witnessed(checkpoint))
    first.close()

    again = SqliteWitnessLedger.open(path)
    try:
        assert await again.last() == witnessed(CHAIN[2])
        assert (await again.head("acme")).head == head("acme", 2)  # type: ignore[union-attr]
    finally:
        again.close()


def test_a_second_witness_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "witness.sqlite3"
    first = SqliteWitnessLedger.open(path)
    try:
        with pytest.raises(LedgerUnusable, match="in use by another auditlog-witness"):
            SqliteWitnessLedger.open(path)
    finally:
        first.close()
    SqliteWitnessLedger.open(path).close()


def test_a_file_that_is_not_a_witness_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "witness.sqlite3"
    path.write_bytes(b"someone else's file" * 500)

    with pytest.raises(LedgerUnusable, match="is not a witness's database"):
        SqliteWitnessLedger.open(path)


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "witness.sqlite3"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE entries (id TEXT)")
    other.close()

    with pytest.raises(LedgerUnusable, match="is not a witness's database"):
        SqliteWitnessLedger.open(path)


def test_the_sqlite_ledger_fsyncs_each_commit_in_wal(tmp_path: Path) -> None:
    ledger = SqliteWitnessLedger.open(tmp_path / "witness.sqlite3")
    try:
        conn = ledger._conn  # what the README promises is a setting of this connection
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    finally:
        ledger.close()
