"""The sealer: one signed seal per account and closed window with entries, chained, in order."""

import dataclasses
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from application.integrity.sealing import SealTrail
from application.integrity.verify import VerifyAuditLogs
from application.services import Services
from domain.entry import AuditEntry, AuditEvent
from domain.integrity import MODIFIED, Findings, SealedEntry, merkle_root, seal_id, window_of
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAuditEntries,
    InMemorySealerState,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import (
    GRACE,
    WINDOW,
    closes,
    in_window,
    kinds,
    sorted_seals,
    window,
)
from tests.unit.application.support import KeyFactory

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]
Verify = Callable[..., Awaitable[Findings]]


async def test_nothing_is_sealed_before_the_window_end_plus_grace(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    put(in_window(0, 59.999))
    assert await seal_at(closes(0) - timedelta(milliseconds=1)) == 0
    assert seals.seals == {}
    assert await seal_at(closes(0)) == 1
    assert list(seals.seals) == [seal_id("acme", window(0))]


async def test_a_window_is_not_sealed_while_a_later_one_is_still_open(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    put(in_window(0))
    late = put(in_window(1))
    await seal_at(closes(0) + timedelta(seconds=59))
    assert list(seals.seals) == [seal_id("acme", window(0))]
    await seal_at(closes(1))
    assert seals.seals[seal_id("acme", window(1))].entries[0].id == late.id


async def test_one_seal_per_account_and_window_with_entries(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    acme_0 = [put(in_window(0, 5)), put(in_window(0, 50))]
    globex_0 = put(in_window(0, 30), account="globex")
    acme_2 = put(in_window(2))
    assert await seal_at(closes(2)) == 3
    assert set(seals.seals) == {
        seal_id("acme", window(0)),
        seal_id("globex", window(0)),
        seal_id("acme", window(2)),
    }
    assert {e.id for e in seals.seals[seal_id("acme", window(0))].entries} == {e.id for e in acme_0}
    assert [e.id for e in seals.seals[seal_id("globex", window(0))].entries] == [globex_0.id]
    assert [e.id for e in seals.seals[seal_id("acme", window(2))].entries] == [acme_2.id]
    # The empty window 1 has no seal, for either account.
    assert seal_id("acme", window(1)) not in seals.seals


async def test_entries_are_listed_by_created_at_then_id_with_their_ingestion_digests(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    late = put(in_window(0, 40), entry_id="000000000000000000000001")
    tie_b = put(in_window(0, 20), entry_id="0000000000000000000000bb")
    early = put(in_window(0, 1), entry_id="0000000000000000000000ff")
    tie_a = put(in_window(0, 20), entry_id="0000000000000000000000aa")
    await seal_at(closes(0))
    seal = seals.seals[seal_id("acme", window(0))]
    ordered = [early, tie_a, tie_b, late]
    assert seal.entries == tuple(SealedEntry(e.id, e.expires_at, e.digest) for e in ordered)
    assert seal.merkle_root == merkle_root([e.digest for e in ordered])
    assert (seal.account, seal.window_start, seal.window_end) == ("acme", window(0), window(1))
    assert seal.sealed_at == closes(0)
    assert seal.expires_at == late.expires_at


async def test_each_seal_links_to_the_accounts_previous_seal(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    for k in (0, 1, 3):
        put(in_window(k))
    put(in_window(2), account="globex")
    await seal_at(closes(0))
    await seal_at(closes(3))
    first, second, third = sorted_seals(seals)
    assert first.previous is None
    assert second.previous == first.link()
    assert second.previous is not None
    assert second.previous.hash == first.hash()
    assert third.previous == second.link()
    # Each account has its own chain.
    [globex] = sorted_seals(seals, "globex")
    assert globex.previous is None


async def test_the_signature_verifies_with_the_signing_key_only(
    put: Put, seal_at: SealAt, seals: InMemorySeals, seal_keys: HmacSealKeys
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    [seal] = seals.seals.values()
    assert seal.key_id == HmacSealKeys.key_id
    assert seal_keys.verify(seal.key_id, seal.message(), seal.signature)
    assert not HmacSealKeys(b"another secret").verify(seal.key_id, seal.message(), seal.signature)
    altered = dataclasses.replace(seal, sealed_at=seal.sealed_at + timedelta(seconds=1))
    assert not seal_keys.verify(altered.key_id, altered.message(), altered.signature)


async def test_running_again_writes_nothing_new(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    sealer: SealTrail,
    sealer_state: InMemorySealerState,
) -> None:
    put(in_window(0))
    put(in_window(1))
    assert await seal_at(closes(1)) == 2
    before = dict(seals.seals)
    assert await seal_at(closes(1)) == 0
    assert await seal_at(closes(1) + timedelta(minutes=10)) == 0
    assert seals.seals == before
    assert sealer.sealed == 2
    # Even with the watermark lost, a window sealed already is skipped, not sealed twice.
    sealer_state.through = None
    assert await seal_at(closes(1) + timedelta(minutes=11)) == 0
    assert seals.seals == before
    assert all(seals.seals[k] is before[k] for k in before)


async def test_an_empty_trail_seals_nothing_and_sets_no_watermark(
    seal_at: SealAt, seals: InMemorySeals, sealer_state: InMemorySealerState
) -> None:
    assert await seal_at(closes(10)) == 0
    assert seals.seals == {}
    assert sealer_state.through is None


async def test_catch_up_after_downtime_seals_every_window_in_order_with_a_continuous_chain(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    sealer_state: InMemorySealerState,
    clock: FakeClock,
) -> None:
    put(in_window(0))
    assert await seal_at(closes(0)) == 1
    # The sealer is down for an hour while entries keep coming, in most windows.
    windows_with_entries = [k for k in range(1, 61) if k % 4 != 2]
    for k in windows_with_entries:
        put(in_window(k, 7))
        if k % 3 == 0:
            put(in_window(k, 42))
        if k % 5 == 0:
            put(in_window(k, 30), account="globex")
    clock.set(closes(0) + timedelta(hours=1))
    written = await seal_at(clock.now())
    acme = sorted_seals(seals)
    globex = sorted_seals(seals, "globex")
    assert written == len(windows_with_entries) + len(globex)
    assert [s.window_start for s in acme] == [window(k) for k in [0, *windows_with_entries]]
    for chain in (acme, globex):
        assert chain[0].previous is None
        for before, after in itertools.pairwise(chain):
            assert after.previous == before.link()
            assert after.sealed_at >= before.sealed_at
    assert {len(s.entries) for s in acme[1:]} == {1, 2}
    assert sealer_state.through == window_of(clock.now() - GRACE, WINDOW)


async def test_a_second_instance_cannot_seal_while_the_first_holds_the_lease(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    clock: FakeClock,
    make_sealer: Callable[[str], SealTrail],
    sealer_state: InMemorySealerState,
) -> None:
    put(in_window(0))
    put(in_window(1))
    await seal_at(closes(0))  # sealer-1 takes the lease until closes(0) + 2 min
    other = make_sealer("sealer-2")
    clock.set(closes(1))
    assert await other.run_once() == 0
    assert seal_id("acme", window(1)) not in seals.seals
    clock.set(closes(0) + timedelta(minutes=2) - timedelta(milliseconds=1))
    assert await other.run_once() == 0
    assert sealer_state.through == window(1)
    # Once the lease has run out, the other instance takes over from the watermark.
    clock.set(closes(0) + timedelta(minutes=2))
    assert await other.run_once() == 1
    sealed = seals.seals[seal_id("acme", window(1))]
    assert sealed.previous == seals.seals[seal_id("acme", window(0))].link()
    assert sealer_state.holder == "sealer-2"
    assert other.sealed == 1


async def test_the_first_instance_is_locked_out_once_another_took_over(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    clock: FakeClock,
    make_sealer: Callable[[str], SealTrail],
) -> None:
    put(in_window(0))
    await seal_at(closes(0))
    other = make_sealer("sealer-2")
    clock.set(closes(0) + timedelta(minutes=5))
    assert await other.run_once() == 0  # nothing to seal, but it now holds the lease
    put(in_window(6))
    assert await seal_at(closes(6)) == 0  # sealer-1, within sealer-2's lease
    assert seal_id("acme", window(6)) not in seals.seals
    assert await other.run_once() == 1
    assert seal_id("acme", window(6)) in seals.seals


async def test_a_sealer_links_to_what_another_instance_sealed_since_its_own_last_seal(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    clock: FakeClock,
    make_sealer: Callable[[str], SealTrail],
) -> None:
    for k in (0, 1, 9):
        put(in_window(k))
    await seal_at(closes(0))  # sealer-1 seals window 0 and holds the lease for 2 minutes
    other = make_sealer("sealer-2")
    clock.set(closes(1) + timedelta(minutes=2))
    assert await other.run_once() == 1  # sealer-2 seals window 1
    assert await seal_at(closes(9) + timedelta(minutes=2)) == 1  # sealer-1 again, window 9
    first, second, third = sorted_seals(seals)
    assert second.previous == first.link()
    assert third.previous == second.link()


async def test_a_sealer_links_to_its_last_seal_as_stored_if_that_was_replaced(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    put(in_window(0))
    put(in_window(1))
    await seal_at(closes(0))
    [first] = sorted_seals(seals)
    replaced = dataclasses.replace(first, signature="cmVwbGFjZWQ=")
    seals.seals[first.id] = replaced
    await seal_at(closes(1))
    second = sorted_seals(seals)[1]
    assert second.previous == replaced.link() != first.link()


async def test_the_watermark_advances_to_the_last_closed_window(
    put: Put, seal_at: SealAt, sealer_state: InMemorySealerState
) -> None:
    put(in_window(0))
    assert sealer_state.through is None
    await seal_at(closes(0))
    assert sealer_state.through == window(1)
    # Advances over empty windows too.
    await seal_at(closes(0) + timedelta(minutes=7, seconds=30))
    assert sealer_state.through == window(8)
    assert await sealer_state.sealed_through() == window(8)


async def test_an_entry_changed_before_sealing_is_sealed_with_its_ingestion_digest(
    put: Put,
    seal_at: SealAt,
    seals: InMemorySeals,
    verify: Verify,
    entries: InMemoryAuditEntries,
) -> None:
    original = put(in_window(0))
    store = entries.entries
    store[original.id] = dataclasses.replace(original, email="mallory@example.com")
    await seal_at(closes(0))
    [seal] = seals.seals.values()
    assert seal.entries[0].digest == original.digest
    assert seal.entries[0].digest != store[original.id].content_digest()
    assert kinds(await verify()) == [(MODIFIED, original.id)]


async def test_entries_already_expired_when_the_sealer_catches_up_are_sealed_too(
    put: Put, seal_at: SealAt, seals: InMemorySeals
) -> None:
    short = put(in_window(0), retention=timedelta(minutes=1))
    await seal_at(closes(0) + timedelta(hours=1))
    [seal] = seals.seals.values()
    assert [e.id for e in seal.entries] == [short.id]


async def test_entries_recorded_through_the_use_case_are_sealed_with_their_receipt_digest(
    services: Services,
    key_for: KeyFactory,
    clock: FakeClock,
    seal_at: SealAt,
    seals: InMemorySeals,
    verifier: VerifyAuditLogs,
) -> None:
    key = await key_for("acme")
    recorded = []
    for seconds in (5, 25, 45):
        clock.set(in_window(0, seconds))
        event = AuditEvent(application="acme-web", action="auth.login", success=True)
        recorded.append(await services.recording.record.execute(key, event))
    clock.set(in_window(1))
    batch = await services.recording.record_many.execute(
        key, [AuditEvent(application="acme-web", action="auth.logout", success=True)] * 2
    )
    await seal_at(closes(1))
    first, second = sorted_seals(seals)
    assert [(e.id, e.digest) for e in first.entries] == [(e.id, e.digest) for e in recorded]
    assert [(e.id, e.digest) for e in second.entries] == [(e.id, e.digest) for e in batch]
    assert second.previous == first.link()
    findings = await verifier.execute(key, account=None)
    assert findings.ok
    assert findings.entries_verified == 5
