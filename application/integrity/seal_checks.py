"""The offline verifier's checks of an export's rows against the seals it carries: each seal
judged (`judge_seal`) over the rows of its window, then the rows no seal that holds judged;
and of its seals against the checkpoint it carries."""

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from application.exporting.lines import Row
from application.ports import SealKeys
from domain.checkpoint import Checkpoint
from domain.export_trailer import ExportTrailer
from domain.integrity import (
    INJECTED,
    MODIFIED,
    SEAL_INVALID,
    SEAL_MISSING,
    Problem,
    Seal,
    window_of,
)
from domain.seal_verdict import Absence, Held, judge_seal
from domain.timestamps import as_utc

if TYPE_CHECKING:
    from application.integrity.offline_verify import ExportReport

_NARROWING = ("application", "actions", "email", "success")
_MISSING = "a sealed entry live at export time is not in the file"


def check_against_seals(
    rows: Sequence[Row],
    seals: Sequence[Seal],
    keys: SealKeys,
    trailer: ExportTrailer | None,
    report: "ExportReport",
    sealed_through: datetime | None = None,
    proven: set[int] | None = None,
    closed_from: datetime | None = None,
) -> None:
    """Each seal holds and links to the one before it if the file carries that one; each row
    is as its window's seal lists it, and a row in a closed window must be listed: before
    the newest seal's window, or before `sealed_through` (the carried checkpoint's, or a
    receipt's, if its signature holds). A row in `proven` (by line number) is proven by a
    receipt instead. With none of these, only the rows' own digests are checked."""
    by_id = {seal.id: seal for seal in seals}
    in_window = _rows_by_window(rows, seals)
    judged: set[int] = set()
    verified: set[int] = set()
    covered: set[int] = set()
    for seal in seals:
        mine = [r for r in in_window.get(seal.window_start, ()) if r.created_at < seal.window_end]
        link = seal.previous
        verdict = judge_seal(
            seal,
            signature_ok=keys.verify(seal.key_id, seal.message(), seal.signature),
            # A file carries only the seals of its rows' windows: one not in it proves nothing.
            predecessor=None if link is None else by_id.get(link.seal_id),
            predecessor_gone_after=None,
            held={row.id: Held(row.recomputed, row.digest) for row in mine},
            absent=_absence(seal, trailer),
        )
        report.problems += verdict.problems
        covered.update(row.number for row in mine)
        if verdict.holds:
            judged.update(row.number for row in mine)
            verified.update(row.number for row in mine if row.id in verdict.verified)
    report.verified += len(verified)
    latest = max((seal.window_start for seal in seals), default=None)
    for row in rows:
        if proven is not None and row.number in proven:
            report.proven += 1
        elif row.number not in judged:
            _unjudged(row, seals, latest, sealed_through, covered, report, closed_from)


def _rows_by_window(rows: Sequence[Row], seals: Sequence[Seal]) -> dict[datetime, list[Row]]:
    """The rows by the start of the seal window they fall in (the latest starting at or
    before them), leaving out those in no seal's window."""
    ends: dict[datetime, datetime] = {}
    for seal in seals:
        ends[seal.window_start] = max(seal.window_end, ends.get(seal.window_start, seal.window_end))
    starts = sorted(ends)
    grouped: dict[datetime, list[Row]] = {}
    for row in rows:
        at = bisect_right(starts, row.created_at) - 1
        if at >= 0 and row.created_at < ends[starts[at]]:
            grouped.setdefault(starts[at], []).append(row)
    return grouped


def _unjudged(
    row: Row,
    seals: Sequence[Seal],
    latest: datetime | None,
    sealed_through: datetime | None,
    covered: set[int],
    report: "ExportReport",
    closed_from: datetime | None = None,
) -> None:
    """A row no seal that holds lists or leaves out: its own digest, and whether its window
    was closed with no seal in the file (an entry live when exported kept its window's seal
    alive: that seal would be in the file). `sealed_through` is a window boundary: a row
    before it is in a window that ends at or before it."""
    closed = (latest is not None and latest > row.created_at) or (
        sealed_through is not None
        and row.created_at < sealed_through
        and (closed_from is None or row.created_at >= closed_from)
    )
    if row.recomputed != row.digest:
        detail = f"line {row.number}: the entry's fields do not match its digest"
        report.problems.append(Problem(MODIFIED, detail, row.id))
    elif row.number in covered:
        pass  # its window's seal does not hold: reported as such, nothing to check against
    elif closed:
        length = _length(seals)
        report.problems.append(
            Problem(INJECTED, "the entry's window was closed but no seal or receipt in the file "
                    "proves it",
                    row.id, None if length is None else window_of(row.created_at, length))
        )  # fmt: skip
    else:
        report.unsealed += 1


def check_against_checkpoint(
    seals: Sequence[Seal],
    checkpoint: Checkpoint,
    trailer: ExportTrailer | None,
    report: "ExportReport",
) -> None:
    """What the checkpoint lists: a seal in the file is the seal it lists by that id (else
    SEAL_INVALID), and an export of every entry of a time range carries each seal of its
    account it lists of a window inside that range, live when the export was made (else
    SEAL_MISSING: the seal was removed, or its window's entries with it). A checkpoint lists
    the seals of one sealing step: this catches the newest windows cut with their seals,
    which no seal left in the file links to."""
    held = {seal.id: seal for seal in seals}
    length = _length(seals)
    # As online: a seal already reported at its window (its signature) is not reported again.
    reported = {(p.kind, p.window) for p in report.problems}
    for head in checkpoint.sealed:
        seal = held.get(head.seal_id)
        if seal is not None:
            if seal.hash() == head.seal_hash:
                continue
            kind = SEAL_INVALID
            detail = f"the seal is not the one checkpoint {checkpoint.sequence} lists"
        elif (
            trailer is not None
            and head.account == trailer.account
            and head.expires_at > trailer.exported_at
            and every_entry_of(trailer, head.window_start, length)
        ):
            kind = SEAL_MISSING
            detail = (
                f"a seal checkpoint {checkpoint.sequence} lists, live at export time, is not "
                "in the file: it was removed, or its window's entries with it"
            )
        else:
            continue
        if (kind, head.window_start) not in reported:
            reported.add((kind, head.window_start))
            report.problems.append(Problem(kind, detail, None, head.window_start))


def _length(seals: Sequence[Seal]) -> timedelta | None:
    """The seal windows' length, if the file carries a seal to tell it."""
    return None if not seals else seals[0].window_end - seals[0].window_start


def _absence(seal: Seal, trailer: ExportTrailer | None) -> Absence | None:
    """In an export of every entry of a time range, each entry a seal of a window inside that
    range lists, and still live when the export was made, must be in the file."""
    if trailer is None:
        return None
    length = seal.window_end - seal.window_start
    inside = every_entry_of(trailer, seal.window_start, length)
    return Absence(trailer.exported_at, _MISSING) if inside else None


def every_entry_of(trailer: ExportTrailer, start: datetime, length: timedelta | None) -> bool:
    """Whether the export holds every live entry of the window from `start` (of `length`, if
    known): unfiltered but by time, and the window inside its range. (Filtered by
    application, action, email or outcome, an export leaves out entries a seal lists, and
    which ones cannot be told from a seal.) Of unknown length, a window is inside only an
    export with no `until`: one that may end inside it proves nothing."""
    wanted = trailer.filter
    if any(wanted.get(name) is not None for name in _NARROWING):
        return False
    since, until = _moment(wanted.get("since")), _moment(wanted.get("until"))
    if since is not None and start < since:
        return False
    if until is None:
        return True
    return length is not None and start + length <= until


def _moment(value: object) -> datetime | None:
    """A bound of the signed filter; one that cannot be read bounds nothing (checks more)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return None if moment is None else as_utc(moment)
