"""Checking an NDJSON export offline, whole, against the published keys. It fails closed.

A file is its entry lines (newest first), the `_seal` lines of their windows, the `_checkpoint`
line (the latest checkpoint when the export began), then one signed `_export` trailer. The
trailer, signed when the export was made, shows what the service sent: its count and digest
over the rows catch deleted, added, duplicated, reordered and cut rows, and edits that
rewrote a row's digest too, and it names the checkpoint, so that cannot be swapped or
stripped. The seals, signed when each window closed, show that what was sent is what was
recorded: a row edited in the store before the export is `MODIFIED`, one added is `INJECTED`
and, for an export of every entry of a time range, one deleted while still live is
`MISSING`. The checkpoint, signed by the sealer, says how far the trail was sealed: a row
before its `sealed_through` that no seal in the file lists is `INJECTED` wherever it sits,
and a seal it lists that an export of every entry should carry is `SEAL_MISSING`.

A key bound to one application gets no seals and no checkpoint (they list every
application's entries) but a `_proof` line, a receipt, for each row whose window was sealed
(`proof_checks`): each must hold and prove a row of the file as it is, and a row before
the `sealed_through` of a receipt's checkpoint without one is `INJECTED`. The trailer counts
and digests the receipts too, so one stripped or added fails.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from application.exporting.lines import (
    CheckpointLine,
    Line,
    Malformed,
    ProofLine,
    Row,
    SealLine,
    TrailerLine,
    read_line,
)
from application.integrity.proof_checks import check_proofs
from application.integrity.proving import proof_hash
from application.integrity.seal_checks import check_against_checkpoint, check_against_seals
from application.ports import SealKeys
from domain.checkpoint import Checkpoint
from domain.export_trailer import Digests, ExportTrailer
from domain.integrity import CHECKPOINT_INVALID, Problem, Seal

MALFORMED = "MALFORMED"
"""A line is not what the service writes."""
EXPORT_INVALID = "EXPORT_INVALID"
"""The file as a whole is not the export its trailer describes (or has no trailer)."""


@dataclass
class ExportReport:
    entries: int = 0
    verified: int = 0
    unsealed: int = 0
    """Entries not checked against a seal: their window was not sealed yet, or the export
    carries no seals."""
    seals: int = 0
    proven: int = 0
    """Entries proven by a receipt that holds (an export by a key bound to one application)."""
    incomplete: str | None = None
    """The `_error` code if the export was cut short."""
    trailer: ExportTrailer | None = None
    """The trailer, once its signature verified."""
    checkpoint: Checkpoint | None = None
    """The checkpoint the file carries, once its signature verified."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.incomplete is None and self.trailer is not None

    @property
    def carries_seals(self) -> bool:
        return self.trailer is None or self.trailer.seals is not None

    @property
    def carries_proofs(self) -> bool:
        return self.trailer is not None and self.trailer.proofs is not None

    @property
    def carries_checkpoint(self) -> bool:
        return self.trailer is None or self.trailer.checkpoint is not None


class _File:
    """The lines read so far, and what their order and content owe the trailer."""

    def __init__(self, report: ExportReport) -> None:
        self.report = report
        self.rows: list[Row] = []
        self.seals: list[Seal] = []
        self.proofs: list[ProofLine] = []
        self.proof_hashes = Digests()
        self.row_digests = Digests()
        self.seal_hashes = Digests()
        self.checkpoint: CheckpointLine | None = None
        self.trailer: TrailerLine | None = None
        self.seen: dict[str, int] = {}

    def problem(self, kind: str, detail: str, entry_id: str | None = None) -> None:
        self.report.problems.append(Problem(kind, detail, entry_id))

    def add(self, line: Line) -> None:
        if isinstance(line, Row):
            self._row(line)
        elif isinstance(line, SealLine):
            if self.checkpoint is not None:
                self.problem(EXPORT_INVALID, f"line {line.number}: a seal after the checkpoint")
            self.seals.append(line.seal)
            self.seal_hashes.add(line.seal.hash())
        elif isinstance(line, ProofLine):
            self.proofs.append(line)
            self.proof_hashes.add(proof_hash(line.document))
        elif isinstance(line, CheckpointLine):
            if self.checkpoint is not None:
                self.problem(EXPORT_INVALID, f"line {line.number}: a second checkpoint line")
            else:
                self.checkpoint = line
        elif isinstance(line, TrailerLine):
            self.trailer = line
        else:
            self.report.incomplete = line.code

    def _row(self, row: Row) -> None:
        if self.seals or self.checkpoint is not None:
            detail = f"line {row.number}: an entry after the seal or checkpoint lines"
            self.problem(EXPORT_INVALID, detail)
        first = self.seen.setdefault(row.id, row.number)
        if first != row.number:
            detail = f"line {row.number} repeats the entry of line {first}"
            self.problem(EXPORT_INVALID, detail, row.id)
        elif self.rows and (row.created_at, row.id) >= (self.rows[-1].created_at, self.rows[-1].id):
            self.problem(EXPORT_INVALID, f"line {row.number} is out of order (newest first)")
        self.rows.append(row)
        self.row_digests.add(row.digest)


def verify_export(lines: Iterable[str | bytes], keys: SealKeys) -> ExportReport:
    report = ExportReport()
    file = _File(report)
    for number, raw in enumerate(lines, start=1):
        if file.trailer is not None:
            file.problem(EXPORT_INVALID, f"line {number} comes after the trailer")
            continue
        try:
            line = read_line(number, raw)
        except Malformed as exc:
            file.problem(MALFORMED, str(exc))
            continue
        file.add(line)
    report.entries = len(file.rows)
    report.seals = len(file.seals)
    trailer = _check_trailer(file, keys)
    checkpoint = _signed_checkpoint(file, keys)
    proven = check_proofs(file.rows, file.proofs, keys, report.problems)
    bounds = [c.sealed_through for c in (checkpoint,) if c is not None]
    if proven.sealed_through is not None:
        bounds.append(proven.sealed_through)
    sealed_through = max(bounds, default=None)
    # Closed by receipts alone (no checkpoint carried): from the oldest one on.
    closed_from = proven.oldest_window if checkpoint is None else None
    check_against_seals(
        file.rows, file.seals, keys, trailer, report, sealed_through, proven.rows, closed_from
    )
    if checkpoint is not None:
        check_against_checkpoint(file.seals, checkpoint, trailer, report)
    return report


def _signed_checkpoint(file: _File, keys: SealKeys) -> Checkpoint | None:
    """The file's checkpoint if its signature holds; else None, with the reason among the
    problems (and no window counts closed by it)."""
    found = file.checkpoint
    if found is None:
        return None
    checkpoint = found.checkpoint
    if not keys.verify(checkpoint.key_id, checkpoint.message(), checkpoint.signature):
        detail = f"line {found.number}: the checkpoint's signature does not verify"
        file.problem(CHECKPOINT_INVALID, detail)
        return None
    file.report.checkpoint = checkpoint
    return checkpoint


def _check_trailer(file: _File, keys: SealKeys) -> ExportTrailer | None:
    """The trailer if it is the file's, else None with the reason among the problems."""
    report, found = file.report, file.trailer
    if found is None:
        if report.incomplete is None:
            file.problem(EXPORT_INVALID, "the file has no trailer: it is not a whole export")
        return None
    trailer = found.trailer
    if not keys.verify(trailer.key_id, trailer.message(), trailer.signature):
        file.problem(
            EXPORT_INVALID, f"line {found.number}: the trailer's signature does not verify"
        )
        return None
    report.trailer = trailer
    rows = file.rows
    if trailer.format != "ndjson":
        file.problem(EXPORT_INVALID, "the trailer is not of an NDJSON export")
    if trailer.count != len(rows):
        file.problem(
            EXPORT_INVALID, f"the file has {len(rows)} entries, its trailer says {trailer.count}"
        )
    if trailer.rows_digest != file.row_digests.hexdigest():
        file.problem(EXPORT_INVALID, "the entries are not the ones the export was made with")
    created = [row.created_at for row in rows]
    span = (min(created), max(created)) if created else (None, None)
    if (trailer.oldest, trailer.newest) != span:
        file.problem(EXPORT_INVALID, "the entries do not span the time the trailer states")
    summary = trailer.seals
    if summary is None:
        if file.seals:
            file.problem(EXPORT_INVALID, "the trailer says this export carries no seals")
    elif (summary.count, summary.digest) != (len(file.seals), file.seal_hashes.hexdigest()):
        file.problem(EXPORT_INVALID, "the seal lines are not the ones the export was made with")
    proofs = trailer.proofs
    if proofs is None:
        if file.proofs:
            file.problem(EXPORT_INVALID, "the trailer says this export carries no proofs")
    elif (proofs.count, proofs.digest) != (len(file.proofs), file.proof_hashes.hexdigest()):
        file.problem(EXPORT_INVALID, "the proof lines are not the ones the export was made with")
    _check_named(file, trailer)
    _check_scope(file, trailer)
    return trailer


def _check_named(file: _File, trailer: ExportTrailer) -> None:
    """The checkpoint line is the one the trailer names, or absent if it names none (as a
    trailer written before exports carried checkpoints names none)."""
    found, named = file.checkpoint, trailer.checkpoint
    if named is None:
        if found is not None:
            file.problem(EXPORT_INVALID, "the trailer says this export carries no checkpoint")
    elif found is None:
        file.problem(EXPORT_INVALID, "the checkpoint the trailer names is not in the file")
    elif (found.checkpoint.sequence, found.checkpoint.hash()) != (named.sequence, named.hash):
        file.problem(EXPORT_INVALID, "the checkpoint is not the one the export was made with")


def _check_scope(file: _File, trailer: ExportTrailer) -> None:
    """Every line is of the trailer's account, and of its application if it names one."""
    application = trailer.filter.get("application")
    for row in file.rows:
        if row.account != trailer.account or application not in (None, row.application):
            file.problem(EXPORT_INVALID, f"line {row.number}: an entry outside the export's filter")
    for seal in file.seals:
        if seal.account != trailer.account:
            file.problem(EXPORT_INVALID, "a seal of another account")
