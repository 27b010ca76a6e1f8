"""The offline verifier's checks of an export's rows against the seals it carries."""

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from application.export_lines import Row
from application.ports import SealKeys
from domain.export_trailer import ExportTrailer
from domain.integrity import (
    INJECTED,
    MISSING,
    MODIFIED,
    SEAL_INVALID,
    Problem,
    Seal,
    SealedEntry,
    merkle_root,
    window_of,
)
from domain.timestamps import as_utc

if TYPE_CHECKING:
    from application.offline_verify import ExportReport

Listed = dict[str, tuple[Seal, SealedEntry]]
"""Entry id -> the seal that lists it and what it lists, over the seals that hold."""
_NARROWING = ("application", "actions", "email", "success")


def check_seals(seals: Sequence[Seal], keys: SealKeys, problems: list[Problem]) -> Listed:
    listed: Listed = {}
    by_id = {seal.id: seal for seal in seals}
    for seal in seals:
        if not keys.verify(seal.key_id, seal.message(), seal.signature):
            problems.append(
                Problem(SEAL_INVALID, "the signature does not verify", window=seal.window_start)
            )
            continue
        if merkle_root([e.digest for e in seal.entries]) != seal.merkle_root:
            problems.append(
                Problem(SEAL_INVALID, "the Merkle root does not match", window=seal.window_start)
            )
            continue
        previous = seal.previous
        predecessor = None if previous is None else by_id.get(previous.seal_id)
        if previous is not None and predecessor is not None and predecessor.hash() != previous.hash:
            problems.append(
                Problem(SEAL_INVALID, "the previous seal was altered", window=seal.window_start)
            )
        for entry in seal.entries:
            listed[entry.id] = (seal, entry)
    return listed


def check_rows(
    rows: Sequence[Row],
    seals: Sequence[Seal],
    listed: Listed,
    report: "ExportReport",
) -> None:
    """Each row as its window's seal lists it, and its digest as its fields give it; a row in
    a closed window must be listed. With no seals, only the rows' own digests are checked."""
    for row in rows:
        if row.id in listed:
            seal, sealed = listed[row.id]
            if sealed.digest not in (row.recomputed, row.digest):
                detail = "the entry differs from what was sealed"
            elif sealed.digest != row.recomputed:
                detail = "the entry's fields differ from what was sealed, its digest does not"
            elif sealed.digest != row.digest:
                detail = "the entry's digest differs from what was sealed, its fields do not"
            else:
                report.verified += 1
                continue
            report.problems.append(Problem(MODIFIED, detail, row.id, seal.window_start))
            continue
        if row.recomputed != row.digest:
            detail = f"line {row.number}: the entry's fields do not match its digest"
            report.problems.append(Problem(MODIFIED, detail, row.id))
            continue
        covering = [s for s in seals if s.window_start <= row.created_at < s.window_end]
        if covering:
            report.problems.append(
                Problem(INJECTED, "the entry is not in its window's seal", row.id,
                        covering[0].window_start)
            )  # fmt: skip
        elif any(s.window_start > row.created_at for s in seals):
            # Its window closed before a later one was sealed, and an entry that was live when
            # exported kept its window's seal alive: that seal would be in the file.
            length = seals[0].window_end - seals[0].window_start
            report.problems.append(
                Problem(INJECTED, "the entry's window was closed but no seal in the file lists it",
                        row.id, window_of(row.created_at, length))
            )  # fmt: skip
        else:
            report.unsealed += 1


def check_missing(
    rows: Sequence[Row], listed: Listed, trailer: ExportTrailer, problems: list[Problem]
) -> None:
    """In an export of every entry of a time range, each entry a seal of a window inside that
    range lists, and still live when the export was made, must be in the file. (Filtered by
    application, action, email or outcome, an export leaves out entries its seals list, and
    which ones cannot be told from a seal.)"""
    wanted = trailer.filter
    if any(wanted.get(name) is not None for name in _NARROWING):
        return
    since, until = _moment(wanted.get("since")), _moment(wanted.get("until"))
    present = {row.id for row in rows}
    for entry_id, (seal, entry) in listed.items():
        inside = (since is None or since <= seal.window_start) and (
            until is None or seal.window_end <= until
        )
        if inside and entry_id not in present and entry.expires_at > trailer.exported_at:
            problems.append(
                Problem(MISSING, "a sealed entry live at export time is not in the file",
                        entry_id, seal.window_start)
            )  # fmt: skip


def _moment(value: object) -> datetime | None:
    """A bound of the signed filter; one that cannot be read bounds nothing (checks more)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return None if moment is None else as_utc(moment)
