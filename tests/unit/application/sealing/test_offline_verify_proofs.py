"""An NDJSON export by a key bound to one application carries a receipt (`_proof` line) for
each of its sealed rows in place of seals: checked by the offline verifier, each must hold
and prove a row of the file as it is, its trailer counts and digests them, and a sealed row
without one fails. It names nothing of another application but hashes."""

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.inbound.http.exports import export_body
from application.exporting.grant import ExportFormat, ExportGrant
from application.exporting.lines import ROW_KEYS
from application.integrity.offline_verify import EXPORT_INVALID, MALFORMED
from application.integrity.proof_checks import PROOF_INVALID
from application.reading.criteria import LogFilter
from domain.entry import DIGEST_FIELDS, AuditEntry, entry_digest
from domain.integrity import INJECTED, MODIFIED, seal_id
from domain.tenancy import Scope
from tests import builders
from tests.fakes import FakeClock, HmacSealKeys, InMemoryAuditEntries, InMemorySeals
from tests.unit.application.sealing.conftest import closes, in_window, window
from tests.unit.application.sealing.export_files import (
    Exporter,
    check,
    details,
    kinds,
    signed_again,
    trailer_of,
)
from tests.unit.application.support import KeyFactory

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]


@pytest.fixture
async def stored(
    put: Put, seal_at: SealAt, entries: InMemoryAuditEntries
) -> dict[str, list[AuditEntry]]:
    """acme-web and acme-mobile entries in the same sealed windows, a web one not sealed, and
    globex's in one of them (its seal is in the same checkpoint)."""
    web = [put(in_window(0, 10)), put(in_window(0, 40)), put(in_window(2, 5), success=False)]
    mobile = []
    for moment in (in_window(0, 20), in_window(2, 30)):
        entry = builders.entry(account="acme", application="acme-mobile", created_at=moment)
        entries.entries[entry.id] = entry
        mobile.append(entry)
    put(in_window(0, 30), account="globex", retention=timedelta(days=7))
    await seal_at(closes(2))
    web.append(put(in_window(5)))
    return {"acme-web": web, "acme-mobile": mobile}


@pytest.fixture
async def bound(key_for: KeyFactory) -> str:
    principal = await key_for("acme", "acme-web", scopes=(Scope.EXPORT,))
    return principal.key_id


@pytest.fixture
async def lines(stored: dict[str, list[AuditEntry]], make: Exporter, bound: str) -> list[str]:
    return await make.lines(key_id=bound)


def proofs_of(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line)["_proof"] for line in lines if line.startswith('{"_proof"')]


def at_proof(lines: list[str], k: int) -> int:
    """The index in `lines` of the k-th proof line."""
    return [i for i, line in enumerate(lines) if line.startswith('{"_proof"')][k]


def edit_proof(lines: list[str], k: int, change: Callable[[dict[str, Any]], None]) -> list[str]:
    at = at_proof(lines, k)
    document = json.loads(lines[at])
    change(document["_proof"])
    return [*lines[:at], json.dumps(document), *lines[at + 1 :]]


async def test_a_bound_key_export_carries_a_proof_per_sealed_row_and_verifies(
    lines: list[str], stored: dict[str, list[AuditEntry]]
) -> None:
    sealed = stored["acme-web"][:3]
    assert {p["entry"]["id"] for p in proofs_of(lines)} == {e.id for e in sealed}
    assert not any(line.startswith(('{"_seal"', '{"_checkpoint"')) for line in lines)
    assert trailer_of(lines)["_export"]["proofs"]["count"] == 3
    report = check(lines)
    assert report.ok, report.problems
    assert (report.entries, report.proven, report.unsealed, report.verified) == (4, 3, 1, 0)


async def test_it_names_no_id_or_digest_of_another_application(
    lines: list[str], stored: dict[str, list[AuditEntry]]
) -> None:
    body = "\n".join(lines)
    for entry in stored["acme-mobile"]:
        assert entry.id not in body
        assert entry.digest not in body
    for proof in proofs_of(lines):
        assert proof["checkpoint"]["heads"], "the checkpoint keeps acme's heads"
        assert {head[0] for head in proof["checkpoint"]["heads"]} == {"acme"}


async def test_each_batchs_proofs_follow_its_rows(
    put: Put, seal_at: SealAt, make: Exporter, bound: str
) -> None:
    """Written per batch of the store's stream, so no receipt waits for the whole export."""
    for i in range(1_500):  # two batches of the fakes' stream (1,000 a batch)
        put(in_window(0, i / 100))
    await seal_at(closes(0))
    lines = await make.lines(key_id=bound)
    assert at_proof(lines, 0) == 1_000
    assert at_proof(lines, 1_000) == 2_500
    assert len(proofs_of(lines)) == 1_500
    report = check(lines)
    assert report.ok, report.problems
    assert report.proven == 1_500


async def test_a_checkpoint_written_after_the_export_began_proves_nothing_in_it(
    stored: dict[str, list[AuditEntry]],
    make: Exporter,
    bound: str,
    seal_at: SealAt,
    clock: FakeClock,
) -> None:
    """Receipts come from the checkpoints up to the latest when the export began: a window
    sealed while it streams is not sealed as far as the file goes, so its rows count as not
    sealed yet rather than as rows a receipt should have proven."""
    grant = ExportGrant(
        key_id=bound, account="acme", filter=LogFilter(account="acme"),
        format=ExportFormat.NDJSON, expires_at=closes(9),
    )  # fmt: skip
    export = await make.download.execute(make.links.seal(grant))
    await seal_at(closes(5))  # seals window 5, where the newest web entry is
    lines = b"".join([chunk async for chunk in export_body(export)]).decode().splitlines()
    report = check(lines)
    assert report.ok, report.problems
    assert (report.proven, report.unsealed) == (3, 1)


async def test_an_export_that_sees_seals_carries_none_and_fails_with_one_added(
    lines: list[str], stored: dict[str, list[AuditEntry]], make: Exporter
) -> None:
    whole = await make.lines()
    assert not proofs_of(whole)
    assert trailer_of(whole)["_export"]["proofs"] is None
    added = [*whole[:-1], lines[at_proof(lines, 0)], whole[-1]]
    report = check(added)
    assert "the trailer says this export carries no proofs" in details(report, EXPORT_INVALID)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(leaf_index=p["leaf_index"] ^ 1),
        lambda p: p["siblings"].reverse() if len(p["siblings"]) > 1 else p["siblings"].pop(),
        lambda p: p["seal"].update(count=p["seal"]["count"] + 1),
        lambda p: p["checkpoint"].update(sequence=p["checkpoint"]["sequence"] + 1),
    ],
    ids=["leaf_index", "siblings", "seal", "checkpoint"],
)
def test_an_edited_proof_line_fails(lines: list[str], change: Callable[..., None]) -> None:
    edited = edit_proof(lines, 0, change)
    assert "the proof lines are not the ones the export was made with" in details(
        check(edited), EXPORT_INVALID
    )
    # Even with the trailer signed again over it, the receipt itself does not hold.
    report = check(signed_again(edited))
    assert PROOF_INVALID in {kind for kind, _ in kinds(report)}
    assert report.proven == 2, "a receipt that does not hold proves nothing"


def test_a_removed_proof_line_fails(lines: list[str]) -> None:
    at = at_proof(lines, 1)
    proven = json.loads(lines[at])["_proof"]["entry"]["id"]
    removed = [*lines[:at], *lines[at + 1 :]]
    report = check(removed)
    assert "the proof lines are not the ones the export was made with" in details(
        report, EXPORT_INVALID
    )
    # Signed again: the sealed row without its receipt is in a window the others' checkpoint
    # says is sealed.
    assert kinds(check(signed_again(removed))) == [(INJECTED, proven)]


def test_a_duplicated_proof_line_fails(lines: list[str]) -> None:
    at = at_proof(lines, 0)
    duplicated = [*lines[: at + 1], lines[at], *lines[at + 1 :]]
    assert not check(duplicated).ok
    report = check(signed_again(duplicated))
    assert [kind for kind, _ in kinds(report)] == [PROOF_INVALID]
    assert "proves the entry line" in details(report, PROOF_INVALID)[0]


def test_a_proof_of_an_entry_not_in_the_file_fails(lines: list[str]) -> None:
    """A genuine receipt whose row was cut out of the file."""
    first = at_proof(lines, 0)
    proven = json.loads(lines[first])["_proof"]["entry"]["id"]
    without_row = [line for line in lines if not line.startswith(f'{{"id":"{proven}"')]
    assert len(without_row) == len(lines) - 1
    assert not check(without_row).ok
    report = check(signed_again(without_row))
    assert "the proof's entry is not an entry of the file" in details(report, PROOF_INVALID)[0]


def test_a_row_edited_fails(lines: list[str]) -> None:
    at = at_proof(lines, 0)
    proven = json.loads(lines[at])["_proof"]["entry"]["id"]
    row_at = next(i for i, line in enumerate(lines) if line.startswith(f'{{"id":"{proven}"'))
    row = json.loads(lines[row_at])
    row["reason"] = "edited"
    edited = [*lines[:row_at], json.dumps(row), *lines[row_at + 1 :]]
    assert (MODIFIED, proven) in kinds(check(edited))
    # Its digest rewritten too, and the trailer signed again: the receipt no longer fits it.
    row["digest"] = _digest_of(row)
    forged = signed_again([*lines[:row_at], json.dumps(row), *lines[row_at + 1 :]])
    report = check(forged)
    assert (PROOF_INVALID, proven) in kinds(report)
    assert (INJECTED, proven) in kinds(report)


def test_an_older_export_without_the_proofs_key_still_verifies(lines: list[str]) -> None:
    without = [line for line in lines if not line.startswith('{"_proof"')]
    older = signed_again(without, proofs=None, states_proofs=False)
    assert "proofs" not in trailer_of(older)["_export"]
    report = check(older)
    assert report.ok, report.problems
    assert not report.carries_proofs
    assert (report.entries, report.proven, report.unsealed) == (4, 0, 4)
    # Its trailer says nothing of proofs: one added to it is not one it was made with.
    assert not check([*without[:-1], lines[at_proof(lines, 0)], older[-1]]).ok


async def test_a_trailer_is_signed_only_once_every_batchs_proofs_were_asked_for(
    lines: list[str], make: Exporter, bound: str, clock: FakeClock
) -> None:
    grant = ExportGrant(
        key_id=bound, account="acme", filter=LogFilter(account="acme"),
        format=ExportFormat.NDJSON, expires_at=clock.now().replace(year=2100),
    )  # fmt: skip
    export = await make.download.execute(make.links.seal(grant))
    assert export.proofs is not None
    async for _ in export.entries:
        pass  # rows read, their proofs never asked for
    async for _ in export.seals():
        pass  # none for a bound key, but read to its end
    with pytest.raises(RuntimeError, match="proofs"):
        export.trailer()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(extra=1),
        lambda p: p.update(proof=True),
        lambda p: p.update(leaf_index="0"),
        lambda p: p["entry"].pop("reason"),
        lambda p: p["entry"].update(id="\x1b[31m"),
        lambda p: p.update(siblings="ab"),
        lambda p: p.update(checkpoint={"checkpoint": 1}),
        lambda p: p["checkpoint"].update(sequence=1.0),
    ],
)
def test_a_malformed_proof_line_names_its_line(
    lines: list[str], change: Callable[..., None]
) -> None:
    at = at_proof(lines, 0)
    report = check(edit_proof(lines, 0, change))
    assert any(d.startswith(f"line {at + 1}:") for d in details(report, MALFORMED)), report.problems
    assert not report.ok


def test_a_proof_line_with_more_than_the_proof_is_malformed(lines: list[str]) -> None:
    at = at_proof(lines, 0)
    document = json.loads(lines[at])
    document["more"] = 1
    report = check([*lines[:at], json.dumps(document), *lines[at + 1 :]])
    assert f"line {at + 1}: a proof line holds one object under _proof" in details(
        report, MALFORMED
    )


def _digest_of(row: dict[str, Any]) -> str:
    return entry_digest({name: row[ROW_KEYS[name]] for name in DIGEST_FIELDS})


async def test_rows_of_a_seal_written_before_receipts_are_counted_unsealed_not_injected(
    stored: dict[str, list[AuditEntry]],
    make: Exporter,
    bound: str,
    seals: InMemorySeals,
    seal_keys: HmacSealKeys,
    entries: InMemoryAuditEntries,
) -> None:
    # Window 0 sealed by a version before receipts (a version 1 seal, signed over its body):
    # its rows have none, nor would a forgery before the oldest receipt's window (counted
    # unsealed). Window 2's rows have receipts; a forgery from there on is still caught.
    old = seals.seals[seal_id("acme", window(0))]
    unsigned = dataclasses.replace(old, version=1, signature="")
    seals.seals[old.id] = unsigned.signed(seal_keys.key_id, seal_keys.sign)[0]
    report = check(await make.lines(key_id=bound))
    assert report.ok, report.problems
    assert (report.proven, report.unsealed) == (1, 3)

    forged = builders.entry(account="acme", application="acme-web", created_at=in_window(2, 50))
    entries.entries[forged.id] = forged
    report = check(await make.lines(key_id=bound))
    assert kinds(report) == [(INJECTED, forged.id)]
