"""Judging one seal: whether it holds (signature, Merkle root), whether its link to its
predecessor holds, and whether the entries held now of its window are the ones it lists.

Both verifiers ask this, the online one of the store and the offline one of an export file;
each says what it holds and when something absent counts as MISSING where it looks (a file
carries only some seals, and, filtered, only some entries). Signing is an adapter's job: the
caller checks the signature and says whether it verified.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.integrity import (
    INJECTED,
    MISSING,
    MODIFIED,
    SEAL_INVALID,
    SEAL_MISSING,
    Problem,
    Seal,
    SealedEntry,
    SealId,
    merkle_root,
)


@dataclass(frozen=True, slots=True)
class Held:
    """An entry of the seal's window as it is held now."""

    digest: str
    """Recomputed from its fields."""
    stated: str
    """The digest held with it; the same as `digest` where only the fields count."""


@dataclass(frozen=True, slots=True)
class Absence:
    """A listed entry that is not held is MISSING if it expires after `live_after`."""

    live_after: datetime
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    problems: list[Problem]
    holds: bool
    """Its signature and Merkle root hold: what it lists can be checked against."""
    verified: frozenset[str]
    """The listed entries held exactly as sealed."""
    predecessor_gone: datetime | None = None
    """The window of a predecessor reported SEAL_MISSING, if its id names one: its entries
    are reported with it, not one by one."""


def judge_seal(
    seal: Seal,
    *,
    signature_ok: bool,
    predecessor: Seal | None,
    predecessor_gone_after: datetime | None,
    held: Mapping[str, Held],
    absent: Absence | None,
) -> Verdict:
    """`predecessor`: the seal its link names, if at hand. One that is not at hand is
    SEAL_MISSING if its link expires after `predecessor_gone_after`; with None, its absence
    proves nothing. `held`: the window's entries held now, by id. `absent`: when a listed
    entry not held is MISSING; None, never. A link whose hash no longer matches is reported
    at the predecessor's window: that is the seal that was altered, this one still holds."""
    problems: list[Problem] = []
    gone = None
    if not signature_ok:
        problems.append(_invalid("the signature does not verify", seal))
    else:
        gone = _check_link(seal, predecessor, predecessor_gone_after, problems)
    root_ok = merkle_root([e.digest for e in seal.entries]) == seal.merkle_root
    if not root_ok:
        problems.append(_invalid("the Merkle root does not match", seal))
    if not (signature_ok and root_ok):
        return Verdict(problems=problems, holds=False, verified=frozenset(), predecessor_gone=gone)
    verified = _check_entries(seal, held, absent, problems)
    return Verdict(problems=problems, holds=True, verified=verified, predecessor_gone=gone)


def _invalid(detail: str, seal: Seal) -> Problem:
    return Problem(SEAL_INVALID, detail, window=seal.window_start)


def _check_link(
    seal: Seal,
    predecessor: Seal | None,
    gone_after: datetime | None,
    problems: list[Problem],
) -> datetime | None:
    link = seal.previous
    if link is None:
        return None
    if predecessor is not None and predecessor.id == link.seal_id:
        if predecessor.hash() != link.hash:
            problems.append(_invalid("the previous seal was altered", predecessor))
        return None
    if gone_after is None or link.expires_at <= gone_after:
        return None  # not where the verifier looks, or expired: the TTL monitor removed it
    try:
        window: datetime | None = SealId.parse(link.seal_id).window_start
    except ValueError:
        window = None
    problems.append(
        Problem(SEAL_MISSING, f"seal {link.seal_id} is gone before it expired",
                window=window or seal.window_start)
    )  # fmt: skip
    return window


def _check_entries(
    seal: Seal, held: Mapping[str, Held], absent: Absence | None, problems: list[Problem]
) -> frozenset[str]:
    verified = set()
    for entry in seal.entries:
        now = held.get(entry.id)
        if now is None:
            if absent is not None and entry.expires_at > absent.live_after:
                problems.append(Problem(MISSING, absent.detail, entry.id, seal.window_start))
            continue
        detail = _difference(entry, now)
        if detail is None:
            verified.add(entry.id)
        else:
            problems.append(Problem(MODIFIED, detail, entry.id, seal.window_start))
    for entry_id in held.keys() - {e.id for e in seal.entries}:
        problems.append(
            Problem(INJECTED, "the entry is not in its window's seal", entry_id, seal.window_start)
        )
    return frozenset(verified)


def _difference(sealed: SealedEntry, now: Held) -> str | None:
    if sealed.digest not in (now.digest, now.stated):
        return "the entry differs from what was sealed"
    if sealed.digest != now.digest:
        return "the entry's fields differ from what was sealed, its digest does not"
    if sealed.digest != now.stated:
        return "the entry's digest differs from what was sealed, its fields do not"
    return None
