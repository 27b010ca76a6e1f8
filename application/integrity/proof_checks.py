"""The offline verifier's checks of the receipts an export by a key bound to one application
carries in place of seals: each receipt holds on its own (`check_proof`) and proves a row of
the file as it is, no row twice. The service writes one for every row of a window sealed in
a checkpoint no newer than the one it read when the export began, so a row before the
`sealed_through` of any receipt's checkpoint that has none is reported where the rows are
judged (`seal_checks`), as a row of a closed window no seal lists."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from application.exporting.lines import ProofLine, Row
from application.integrity.proving import check_proof
from application.ports import SealKeys
from domain.integrity import Problem

PROOF_INVALID = "PROOF_INVALID"
"""A receipt does not hold, or proves no row of the file as it is."""


@dataclass
class Proven:
    rows: set[int] = field(default_factory=set)
    """The line numbers of the rows a receipt that holds proves."""
    sealed_through: datetime | None = None
    """The latest `sealed_through` of a receipt's checkpoint, among those that hold."""
    oldest_window: datetime | None = None
    """The window start of the oldest receipt that holds: a row before it may be of a seal
    written before receipts existed (version 1, which has none), so it is counted unsealed,
    not flagged."""


def check_proofs(
    rows: Sequence[Row], proofs: Sequence[ProofLine], keys: SealKeys, problems: list[Problem]
) -> Proven:
    by_id = {row.id: row for row in rows}
    proven = Proven()
    first: dict[int, int] = {}
    for line in proofs:
        failures = check_proof(line.document, keys)
        for failure in failures:
            problems.append(Problem(PROOF_INVALID, f"line {line.number}: {failure}"))
        if failures:
            continue
        row = by_id.get(line.entry_id)
        if row is None or (row.digest, row.recomputed) != (line.digest, line.recomputed):
            detail = f"line {line.number}: the proof's entry is not an entry of the file"
            problems.append(Problem(PROOF_INVALID, detail, None if row is None else row.id))
            continue
        earlier = first.setdefault(row.number, line.number)
        if earlier != line.number:
            detail = f"line {line.number} proves the entry line {earlier} proves already"
            problems.append(Problem(PROOF_INVALID, detail, row.id))
            continue
        proven.rows.add(row.number)
        through = line.checkpoint.sealed_through
        if proven.sealed_through is None or through > proven.sealed_through:
            proven.sealed_through = through
        start = datetime.fromisoformat(line.document["seal"]["window_start"])
        if proven.oldest_window is None or start < proven.oldest_window:
            proven.oldest_window = start
    return proven
