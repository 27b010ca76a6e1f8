"""The offline verifier's checks of an export's rows against the seals it carries: each seal
judged (`judge_seal`) over the rows of its window, then the rows no seal that holds judged."""

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from application.exporting.lines import Row
from application.ports import SealKeys
from domain.export_trailer import ExportTrailer
from domain.integrity import INJECTED, MODIFIED, Problem, Seal, window_of
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
) -> None:
    """Each seal holds and links to the one before it if the file carries that one; each row
    is as its window's seal lists it, and a row in a closed window must be listed. With no
    seals, only the rows' own digests are checked."""
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
        if row.number not in judged:
            _unjudged(row, seals, latest, covered, report)


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
    covered: set[int],
    report: "ExportReport",
) -> None:
    """A row no seal that holds lists or leaves out: its own digest, and whether its window
    was closed with no seal in the file (an entry live when exported kept its window's seal
    alive: that seal would be in the file)."""
    if row.recomputed != row.digest:
        detail = f"line {row.number}: the entry's fields do not match its digest"
        report.problems.append(Problem(MODIFIED, detail, row.id))
    elif row.number in covered:
        pass  # its window's seal does not hold: reported as such, nothing to check against
    elif latest is not None and latest > row.created_at:
        length = seals[0].window_end - seals[0].window_start
        report.problems.append(
            Problem(INJECTED, "the entry's window was closed but no seal in the file lists it",
                    row.id, window_of(row.created_at, length))
        )  # fmt: skip
    else:
        report.unsealed += 1


def _absence(seal: Seal, trailer: ExportTrailer | None) -> Absence | None:
    """In an export of every entry of a time range, each entry a seal of a window inside that
    range lists, and still live when the export was made, must be in the file. (Filtered by
    application, action, email or outcome, an export leaves out entries its seals list, and
    which ones cannot be told from a seal.)"""
    if trailer is None:
        return None
    wanted = trailer.filter
    if any(wanted.get(name) is not None for name in _NARROWING):
        return None
    since, until = _moment(wanted.get("since")), _moment(wanted.get("until"))
    inside = (since is None or since <= seal.window_start) and (
        until is None or seal.window_end <= until
    )
    return Absence(trailer.exported_at, _MISSING) if inside else None


def _moment(value: object) -> datetime | None:
    """A bound of the signed filter; one that cannot be read bounds nothing (checks more)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return None if moment is None else as_utc(moment)
