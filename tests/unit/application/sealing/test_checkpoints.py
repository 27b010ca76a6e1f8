"""Signed checkpoints: the sealer writes one chain of them, starts each pass from the latest,
and the verifier trusts only them for how far the trail is sealed. The attacks of issue 15
done on the fakes' dicts, as a database user with write access would: rewinding the
sealer's stored progress (with a forgery in each kind of empty stretch), replacing or
editing a checkpoint; and the legitimate cases that must stay quiet (a catch-up after
downtime, a crash between a seal and its checkpoint)."""

import dataclasses
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from application.access.principal import Operator
from application.integrity.verify import VerifyAuditLogs
from application.integrity.witnessing import WitnessUnavailable
from domain.checkpoint import Checkpoint, SealedHead, extends
from domain.entry import AuditEntry
from domain.integrity import (
    CHECKPOINT_INVALID,
    INJECTED,
    SEAL_MISSING,
    WITNESS_UNAVAILABLE,
    Findings,
    seal_id,
)
from tests import builders
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySealerState,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import closes, in_window, kinds, window

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]
Verify = Callable[..., Awaitable[Findings]]


def forge(entries: InMemoryAuditEntries, created_at: datetime) -> AuditEntry:
    """An entry written straight into the store, dated `created_at`."""
    forgery = builders.entry(
        account="acme", application="acme-web", created_at=created_at,
        entry_id="f0f0f0f0f0f0f0f0f0f0f0f0", action="user.login_succeeded",
    )  # fmt: skip
    entries.entries[forgery.id] = forgery
    return forgery


def chain(checkpoints: InMemoryCheckpoints) -> list[Checkpoint]:
    return sorted(checkpoints.checkpoints.values(), key=lambda c: c.sequence)


async def test_each_step_of_a_pass_ends_in_a_signed_checkpoint_linked_to_the_one_before(
    put: Put, seal_at: SealAt, checkpoints: InMemoryCheckpoints, seal_keys: HmacSealKeys
) -> None:
    for k in range(25):
        put(in_window(k))
    put(in_window(3), account="globex")
    # A catch-up: 25 windows closed, sealed ten at a time.
    assert await seal_at(closes(24)) == 26

    written = chain(checkpoints)
    assert [c.sequence for c in written] == [1, 2, 3]
    assert written[0].previous is None
    assert all(extends(newer, older) for older, newer in itertools.pairwise(written))
    assert [c.sealed_through for c in written] == [window(10), window(20), window(25)]
    assert all(seal_keys.verify(c.key_id, c.message(), c.signature) for c in written)
    # Each lists the seals of its own step, each seal once.
    for step in written:
        starts = {head.window_start for head in step.sealed}
        assert max(starts) < step.sealed_through <= min(starts) + 10 * (window(1) - window(0))
    listed = [head.seal_id for c in written for head in c.sealed]
    assert sorted(listed) == sorted(
        [seal_id("acme", window(k)) for k in range(25)] + [seal_id("globex", window(3))]
    )


async def test_a_catch_up_after_downtime_verifies_clean(
    put: Put, seal_at: SealAt, verify: Verify
) -> None:
    recorded = [put(in_window(k)) for k in range(0, 30, 2)]
    assert await seal_at(closes(29)) == len(recorded)
    findings = await verify()
    assert findings.problems == []
    assert findings.entries_verified == len(recorded)


async def test_rewinding_the_stored_progress_seals_nothing_again_and_a_forgery_after_the_latest_seal_is_injected(  # noqa: E501
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    sealer_state: InMemorySealerState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put(in_window(0))
    put(in_window(1))
    await seal_at(closes(5))  # acme recorded nothing in windows 2-5: sealed through 6
    forgery = forge(entries, in_window(4))
    sealer_state.through = window(2)  # the attack of issue 15: progress set back

    with caplog.at_level(logging.WARNING, logger="auditlog.sealing"):
        assert await seal_at(closes(7)) == 0
    assert seal_id("acme", window(4)) not in seals.seals  # the forgery was not signed in
    assert "differs from the latest signed checkpoint" in caplog.text
    assert kinds(await verify()) == [(INJECTED, forgery.id)]


@pytest.mark.parametrize(
    ("recorded", "forged_in"),
    [
        pytest.param((3, 5), 1, id="before-the-first-seal"),
        pytest.param((0, 5), 2, id="between-seals"),
        pytest.param((0, 1), 4, id="after-the-latest-seal"),
    ],
)
async def test_a_forgery_in_a_stretch_where_the_account_recorded_nothing_is_injected(
    recorded: tuple[int, int],
    forged_in: int,
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    entries: InMemoryAuditEntries,
    sealer_state: InMemorySealerState,
) -> None:
    put(in_window(0), account="globex")  # the trail starts at window 0 for the sealer
    for k in recorded:
        put(in_window(k))
    await seal_at(closes(6))
    forgery = forge(entries, in_window(forged_in))
    sealer_state.through = None  # and the stored progress gone: nothing unsigned decides

    await seal_at(closes(7))
    assert kinds(await verify()) == [(INJECTED, forgery.id)]


async def test_an_edited_checkpoint_is_invalid_and_closes_no_window(
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    checkpoints: InMemoryCheckpoints,
    entries: InMemoryAuditEntries,
) -> None:
    put(in_window(0))
    await seal_at(closes(3))
    latest = chain(checkpoints)[-1]
    # Its progress pushed back to before a forgery, without the key to sign it again.
    checkpoints.checkpoints[latest.sequence] = dataclasses.replace(latest, sealed_through=window(1))
    forge(entries, in_window(2))
    findings = await verify()
    assert [p.kind for p in findings.problems] == [CHECKPOINT_INVALID]
    assert "signature" in findings.problems[0].detail


@pytest.mark.parametrize("how", ["replaced", "deleted"])
async def test_the_checkpoint_before_the_latest_replaced_or_deleted_breaks_the_chain(
    how: str, put: Put, seal_at: SealAt, verify: Verify, checkpoints: InMemoryCheckpoints
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    put(in_window(1))
    await seal_at(closes(1))
    assert (await verify()).problems == []
    if how == "replaced":  # by one that says less was sealed
        checkpoints.checkpoints[1] = dataclasses.replace(checkpoints.checkpoints[1], sealed=())
    else:
        del checkpoints.checkpoints[1]
    findings = await verify()
    assert [p.kind for p in findings.problems] == [CHECKPOINT_INVALID]


async def test_a_seal_a_crash_left_unlisted_is_listed_by_the_next_checkpoint(
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    checkpoints: InMemoryCheckpoints,
    sealer_state: InMemorySealerState,
    clock: FakeClock,
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    put(in_window(1))
    await seal_at(closes(1))
    # As if the process died after writing window 1's seal and before its checkpoint.
    del checkpoints.checkpoints[2]
    sealer_state.through = window(1)

    assert await seal_at(closes(2)) == 0
    listed = [head.seal_id for c in chain(checkpoints) for head in c.sealed]
    assert listed == [seal_id("acme", window(0)), seal_id("acme", window(1))]
    assert (await verify()).problems == []


async def test_the_sealer_seals_nothing_on_top_of_a_checkpoint_that_does_not_verify(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    latest = chain(checkpoints)[-1]
    # Pushed ahead, so that the windows after it would be skipped unsealed.
    checkpoints.checkpoints[latest.sequence] = dataclasses.replace(
        latest, sealed_through=window(100)
    )
    put(in_window(2))

    with caplog.at_level(logging.ERROR, logger="auditlog.sealing"):
        assert await seal_at(closes(3)) == 0
    assert len(chain(checkpoints)) == 1
    assert seal_id("acme", window(2)) not in seals.seals
    assert "does not verify" in caplog.text


class SnapshotWitness:
    """A witness that accepted the chain as it stood when `take` was called."""

    name = "http://witness.test"

    def __init__(self) -> None:
        self.held: Checkpoint | None = None
        self.heads: dict[str, SealedHead] = {}
        self.down = False

    def take(self, checkpoints: InMemoryCheckpoints) -> None:
        for checkpoint in chain(checkpoints):
            self.held = checkpoint
            for head in checkpoint.sealed:
                self.heads[head.account] = head

    async def checkpoint(self) -> Checkpoint | None:
        if self.down:
            raise WitnessUnavailable("GET /checkpoints/latest timed out")
        return self.held

    async def head(self, account: str) -> SealedHead | None:
        if self.down:
            raise WitnessUnavailable("GET /heads timed out")
        return self.heads.get(account)


@pytest.fixture
def witness() -> SnapshotWitness:
    return SnapshotWitness()


@pytest.fixture
def witnessed_verify(
    make_verifier: Callable[..., VerifyAuditLogs], witness: SnapshotWitness, tenants: None
) -> Verify:
    verifier = make_verifier(witnesses=(witness,))

    async def run(account: str = "acme") -> Findings:
        return await verifier.execute(Operator(), account=account)

    return run


async def test_the_newest_checkpoints_cut_with_their_seal_and_entries_show_against_a_witness(
    put: Put,
    seal_at: SealAt,
    witnessed_verify: Verify,
    witness: SnapshotWitness,
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    newest = [put(in_window(1)), put(in_window(1, 20))]
    await seal_at(closes(1))
    witness.take(checkpoints)
    assert (await witnessed_verify()).problems == []

    # Everything the database holds of the newest window, its checkpoint included.
    del seals.seals[seal_id("acme", window(1))]
    for gone in newest:
        del entries.entries[gone.id]
    del checkpoints.checkpoints[chain(checkpoints)[-1].sequence]

    assert sorted(p.kind for p in (await witnessed_verify()).problems) == [
        CHECKPOINT_INVALID,
        SEAL_MISSING,
    ]


async def test_a_store_forked_from_what_the_witness_accepted_is_reported(
    put: Put,
    seal_at: SealAt,
    witnessed_verify: Verify,
    witness: SnapshotWitness,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    witness.take(checkpoints)
    # The store's checkpoint of that sequence signed again over another history (as a
    # service holding the key but rewritten behind would): the witness holds the first.
    latest = chain(checkpoints)[-1]
    checkpoints.checkpoints[latest.sequence] = dataclasses.replace(
        latest, sealed=(), listed=()
    ).signed(seal_keys.key_id, seal_keys.sign)
    findings = await witnessed_verify()
    assert CHECKPOINT_INVALID in [p.kind for p in findings.problems]
    assert any("another than the one witness" in p.detail for p in findings.problems)


async def test_a_witness_that_does_not_answer_fails_the_verification(
    put: Put, seal_at: SealAt, witnessed_verify: Verify, witness: SnapshotWitness
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    witness.down = True
    findings = await witnessed_verify()
    assert [p.kind for p in findings.problems] == [WITNESS_UNAVAILABLE]
    assert not findings.ok


async def test_a_verification_reads_the_checkpoints_from_the_newest_seal_held_on(
    put: Put,
    seal_at: SealAt,
    verify: Verify,
    checkpoints: InMemoryCheckpoints,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for k in range(6):
        put(in_window(k))
        await seal_at(closes(k))
    asked: list[tuple[datetime | None, datetime | None]] = []
    listing = checkpoints.listing

    async def spying(account: str, since: datetime | None, until: datetime | None) -> Any:
        asked.append((since, until))
        return await listing(account, since, until)

    monkeypatch.setattr(checkpoints, "listing", spying)
    assert (await verify()).problems == []
    # Not the six checkpoints of the whole trail: the one of its newest seal.
    assert asked == [(window(5), None)]
