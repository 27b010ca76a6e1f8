"""Checking an export against what a witness holds (`auditlog-verify --witness`): the store
cut back, which nothing left in the file shows.

An export carries the latest checkpoint when it was made and the seals of its rows' windows,
all read from the store: delete the newest window with its seal, and the checkpoints from the
one that listed it, and the export made after is a whole file that holds. A witness keeps,
outside the store, the last checkpoint it accepted and the newest seal of each account it saw
listed, with the moment it saw them. The service had a checkpoint in its store before any
witness saw it, so an export made after a witness saw checkpoint N carries N or a later one;
and a seal existed before a witness saw it listed, so an export of every entry of a range,
made after, carries it (if live then, and its window inside that range) as the witness saw
it. Times are compared as stated: the export's by the service's clock, the witness's by its
own.
"""

from collections.abc import Iterable, Sequence

from application.exporting.lines import Malformed, SealLine, read_line
from application.integrity.offline_verify import ExportReport
from application.integrity.seal_checks import every_entry_of
from application.ports import SealKeys
from domain.export_trailer import ExportTrailer
from domain.integrity import CHECKPOINT_INVALID, SEAL_INVALID, SEAL_MISSING, Problem, Seal
from domain.witnessing import Witnessed, WitnessedHead


def carried_seals(lines: Iterable[str | bytes]) -> list[Seal]:
    """The seals of an export's `_seal` lines (a line that cannot be read, `verify_export`
    reports)."""
    seals = []
    for number, raw in enumerate(lines, start=1):
        try:
            line = read_line(number, raw)
        except Malformed:
            continue
        if isinstance(line, SealLine):
            seals.append(line.seal)
    return seals


def check_against_witness(
    report: ExportReport,
    seals: Sequence[Seal],
    witnessed: Witnessed | None,
    head: WitnessedHead | None,
    keys: SealKeys,
    *,
    witness: str,
) -> list[Problem]:
    """What the witness `witness` (its name, for the details) holds, against the export
    `report` is of and the seals its file carries: the problems found, none already among the
    report's (by kind and window). Nothing is judged without the report's trailer (the export
    fails already)."""
    trailer = report.trailer
    if trailer is None:
        return []
    problems = []
    if witnessed is not None:
        problems += _check_checkpoint(report, trailer, witnessed, keys, witness)
    if head is not None and head.head.account == trailer.account:
        problems += _check_head(trailer, seals, head, witness)
    reported = {(p.kind, p.window) for p in report.problems}
    return [p for p in problems if p.window is None or (p.kind, p.window) not in reported]


def _check_checkpoint(
    report: ExportReport,
    trailer: ExportTrailer,
    witnessed: Witnessed,
    keys: SealKeys,
    witness: str,
) -> list[Problem]:
    """The witness's checkpoint is the service's, and the export carries it or a later one
    if made after the witness saw it (compared by the sequence and hash its signed trailer
    names: the `_checkpoint` line is the one named, or the report says not)."""
    held = witnessed.checkpoint
    sequence = held.sequence
    if not keys.verify(held.key_id, held.message(), held.signature):
        detail = f"checkpoint {sequence}: witness {witness} holds it, but it is not signed by "
        return [Problem(CHECKPOINT_INVALID, detail + "the service's keys")]
    if not report.carries_seals:
        return []  # an export that carries no seals carries no checkpoint either
    carried = trailer.checkpoint
    if carried is not None and carried.sequence == sequence and carried.hash != held.hash():
        detail = (
            f"checkpoint {sequence}: the export carries another than the one witness "
            f"{witness} accepted: a split view, or a rewritten chain"
        )
        return [Problem(CHECKPOINT_INVALID, detail)]
    if trailer.exported_at > witnessed.witnessed_at and (
        carried is None or carried.sequence < sequence
    ):
        carries = "none" if carried is None else f"checkpoint {carried.sequence}"
        detail = (
            f"the store was cut back after the witness saw checkpoint {sequence}: witness "
            f"{witness} accepted it at {witnessed.witnessed_at.isoformat()}, and the export, "
            f"made later, carries {carries}"
        )
        return [Problem(CHECKPOINT_INVALID, detail)]
    return []


def _check_head(
    trailer: ExportTrailer, seals: Sequence[Seal], witnessed: WitnessedHead, witness: str
) -> list[Problem]:
    """The newest seal the witness saw of the account is in the file as it saw it, if the
    export should carry it."""
    head = witnessed.head
    seal = next((seal for seal in seals if seal.id == head.seal_id), None)
    length = None if not seals else seals[0].window_end - seals[0].window_start
    if seal is not None:
        if seal.hash() == head.seal_hash:
            return []
        detail = f"the seal is not the one witness {witness} saw"
        return [Problem(SEAL_INVALID, detail, None, head.window_start)]
    if (
        witnessed.witnessed_at < trailer.exported_at
        and head.expires_at > trailer.exported_at
        and every_entry_of(trailer, head.window_start, length)
    ):
        detail = (
            f"a seal witness {witness} saw before the export was made, live at export time, "
            "is not in the file: the store was cut back (the seal removed, or its window's "
            "entries with it)"
        )
        return [Problem(SEAL_MISSING, detail, None, head.window_start)]
    return []
