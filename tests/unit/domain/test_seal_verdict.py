"""Judging one seal: its signature and Merkle root, its link to its predecessor, and the
entries held now of its window, as both verifiers ask it."""

import dataclasses
from datetime import datetime, timedelta

import pytest

from domain.integrity import (
    INJECTED,
    MISSING,
    MODIFIED,
    SEAL_INVALID,
    SEAL_MISSING,
    Seal,
    merkle_root,
)
from domain.seal_verdict import Absence, Held, Verdict, judge_seal
from tests.unit.domain.test_integrity import LINK, MINUTE, T0, a_seal, digests

GONE = "a live entry is gone"


def as_sealed(seal: Seal) -> dict[str, Held]:
    return {e.id: Held(e.digest, e.digest) for e in seal.entries}


def judge(
    seal: Seal,
    held: dict[str, Held] | None = None,
    *,
    signature_ok: bool = True,
    predecessor: Seal | None = None,
    gone_after: datetime | None = T0,
    live_after: datetime | None = T0,
) -> Verdict:
    return judge_seal(
        seal,
        signature_ok=signature_ok,
        predecessor=predecessor,
        predecessor_gone_after=gone_after,
        held=as_sealed(seal) if held is None else held,
        absent=None if live_after is None else Absence(live_after, GONE),
    )


def found(verdict: Verdict) -> list[tuple[str, str | None, datetime | None]]:
    return sorted(
        ((p.kind, p.entry_id, p.window) for p in verdict.problems), key=lambda p: (p[0], p[1] or "")
    )


# --- the entries of its window -------------------------------------------------------------


def test_a_clean_window_has_no_problems_and_every_entry_verified() -> None:
    seal = a_seal()
    verdict = judge(seal)
    assert verdict.problems == []
    assert verdict.holds
    assert verdict.verified == {e.id for e in seal.entries}


def test_an_entry_whose_digest_differs_is_modified() -> None:
    seal = a_seal()
    held = as_sealed(seal)
    changed = seal.entries[1].id
    held[changed] = Held("ff" * 32, "ff" * 32)
    verdict = judge(seal, held)
    assert found(verdict) == [(MODIFIED, changed, T0)]
    assert verdict.problems[0].detail == "the entry differs from what was sealed"
    assert changed not in verdict.verified


@pytest.mark.parametrize(
    ("fields", "stated", "detail"),
    [
        ("ff", None, "the entry's fields differ from what was sealed, its digest does not"),
        (None, "ff", "the entry's digest differs from what was sealed, its fields do not"),
        ("ff", "ee", "the entry differs from what was sealed"),
    ],
)
def test_a_modified_entry_says_whether_its_fields_its_stated_digest_or_both_changed(
    fields: str | None, stated: str | None, detail: str
) -> None:
    seal = a_seal()
    held = as_sealed(seal)
    target = seal.entries[0]
    held[target.id] = Held(
        target.digest if fields is None else fields * 32,
        target.digest if stated is None else stated * 32,
    )
    [problem] = judge(seal, held).problems
    assert (problem.kind, problem.entry_id, problem.detail) == (MODIFIED, target.id, detail)


def test_a_listed_entry_gone_before_it_expired_is_missing() -> None:
    seal = a_seal()
    held = as_sealed(seal)
    gone = seal.entries[0]
    del held[gone.id]
    verdict = judge(seal, held, live_after=gone.expires_at - timedelta(milliseconds=1))
    assert found(verdict) == [(MISSING, gone.id, T0)]
    assert verdict.problems[0].detail == GONE


@pytest.mark.parametrize("after", [timedelta(0), timedelta(milliseconds=1), timedelta(days=1)])
def test_a_listed_entry_gone_once_it_expired_is_not_a_problem(after: timedelta) -> None:
    seal = a_seal()
    held = as_sealed(seal)
    gone = seal.entries[0]
    del held[gone.id]
    assert judge(seal, held, live_after=gone.expires_at + after).problems == []


def test_a_listed_entry_not_held_where_absence_proves_nothing_is_not_a_problem() -> None:
    seal = a_seal()
    verdict = judge(seal, {}, live_after=None)
    assert (verdict.problems, verdict.verified) == ([], frozenset())


def test_a_held_entry_the_seal_does_not_list_is_injected() -> None:
    seal = a_seal()
    held = {**as_sealed(seal), "f" * 24: Held("ee" * 32, "ee" * 32)}
    assert found(judge(seal, held)) == [(INJECTED, "f" * 24, T0)]


def test_every_problem_of_a_window_is_reported() -> None:
    seal = a_seal(count=4)
    first, second, third, _ = (e.id for e in seal.entries)
    held = as_sealed(seal)
    held[first] = Held("ff" * 32, "ff" * 32)
    del held[second]
    held["f" * 24] = Held("ee" * 32, "ee" * 32)
    verdict = judge(seal, held)
    assert sorted((p.kind, p.entry_id) for p in verdict.problems) == [
        (INJECTED, "f" * 24),
        (MISSING, second),
        (MODIFIED, first),
    ]
    assert third in verdict.verified


# --- the seal itself -----------------------------------------------------------------------


def test_a_signature_that_does_not_verify_is_invalid_and_nothing_is_checked_against_it() -> None:
    seal = a_seal(previous=LINK)
    held = {**as_sealed(seal), "f" * 24: Held("ee" * 32, "ee" * 32)}
    verdict = judge(seal, held, signature_ok=False)
    # Not the link (what it says of its predecessor is not its signer's), nor the entries.
    assert [(p.kind, p.detail, p.window) for p in verdict.problems] == [
        (SEAL_INVALID, "the signature does not verify", T0)
    ]
    assert (verdict.holds, verdict.verified) == (False, frozenset())


def test_a_merkle_root_that_does_not_match_the_listed_digests_is_invalid() -> None:
    seal = dataclasses.replace(a_seal(), merkle_root=merkle_root(digests(2)))
    verdict = judge(seal, {})
    assert found(verdict) == [(SEAL_INVALID, None, T0)]
    assert "Merkle" in verdict.problems[0].detail
    assert (verdict.holds, verdict.verified) == (False, frozenset())


def predecessor_and_successor() -> tuple[Seal, Seal]:
    predecessor = dataclasses.replace(a_seal(), window_start=T0 - MINUTE, window_end=T0)
    return predecessor, a_seal(previous=predecessor.link())


def test_a_seal_linked_to_its_predecessor_as_it_is_holds() -> None:
    predecessor, seal = predecessor_and_successor()
    assert judge(seal, predecessor=predecessor).problems == []


def test_a_predecessor_altered_since_it_was_linked_is_invalid_at_its_own_window() -> None:
    predecessor, seal = predecessor_and_successor()
    altered = dataclasses.replace(predecessor, sealed_at=predecessor.sealed_at + MINUTE)
    verdict = judge(seal, predecessor=altered)
    assert [(p.kind, p.detail, p.window) for p in verdict.problems] == [
        (SEAL_INVALID, "the previous seal was altered", T0 - MINUTE)
    ]
    # The seal itself holds: its entries are checked.
    assert verdict.holds
    assert verdict.verified == {e.id for e in seal.entries}


def test_a_predecessor_gone_before_it_expired_is_missing_at_its_own_window() -> None:
    seal = a_seal(previous=LINK)
    verdict = judge(seal, gone_after=LINK.expires_at - timedelta(milliseconds=1))
    [problem] = verdict.problems
    assert (problem.kind, problem.window) == (SEAL_MISSING, T0 - MINUTE)
    assert LINK.seal_id in problem.detail
    assert verdict.predecessor_gone == T0 - MINUTE


def test_another_seal_at_hand_than_the_one_linked_is_a_predecessor_gone() -> None:
    seal = a_seal(previous=LINK)
    other = dataclasses.replace(a_seal(), window_start=T0 - 2 * MINUTE)
    assert [p.kind for p in judge(seal, predecessor=other).problems] == [SEAL_MISSING]


def test_a_predecessor_whose_id_names_no_window_is_missing_at_the_seals_window() -> None:
    seal = a_seal(previous=dataclasses.replace(LINK, seal_id="acme/yesterday"))
    verdict = judge(seal)
    assert found(verdict) == [(SEAL_MISSING, None, T0)]
    assert verdict.predecessor_gone is None


@pytest.mark.parametrize("gone_after", [LINK.expires_at, LINK.expires_at + MINUTE, None])
def test_a_predecessor_gone_once_it_expired_or_where_absence_proves_nothing_is_fine(
    gone_after: datetime | None,
) -> None:
    verdict = judge(a_seal(previous=LINK), gone_after=gone_after)
    assert (verdict.problems, verdict.predecessor_gone) == ([], None)
