"""Checking an NDJSON export offline against its seals: the export made by the real use case
and body encoder over the fakes (entries newest first, the seals of their windows, a signed
trailer), then edited as a holder might, or made over a store someone tampered with.

File edits show in the trailer (EXPORT_INVALID); store edits made before the export was
signed show only against the seals (MODIFIED, INJECTED, MISSING), so those tests tamper
with the fakes before exporting, or sign the trailer again as the service would have.
"""

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from adapters.inbound.http.export_formats import as_row, seal_line
from application.integrity.offline_verify import EXPORT_INVALID
from application.reading.criteria import LogFilter
from domain.entry import AuditEntry
from domain.integrity import INJECTED, MISSING, MODIFIED, SEAL_INVALID, SEAL_MISSING, seal_id
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAuditEntries,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import closes, in_window, sorted_seals, window
from tests.unit.application.sealing.export_files import (
    Exporter,
    check,
    details,
    kinds,
    signed_again,
)

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]


@dataclasses.dataclass
class Export:
    """acme: two entries in window 0, one in 1, two in 3 (sealed), one in 4 (not yet)."""

    w0: list[AuditEntry]
    w1: list[AuditEntry]
    w3: list[AuditEntry]
    pending: AuditEntry
    entry_lines: dict[str, str]
    """Entry id -> its line, in file order."""
    seal_lines: dict[datetime, str]
    """Window start -> its seal's line."""
    checkpoint: list[str]
    """The `_checkpoint` line, if any."""
    trailer: str

    def lines(self) -> list[str]:
        rows, seals = self.entry_lines.values(), self.seal_lines.values()
        return [*rows, *seals, *self.checkpoint, self.trailer]

    def entry(self, entry_id: str) -> dict[str, Any]:
        row: dict[str, Any] = json.loads(self.entry_lines[entry_id])
        return row

    def seal(self, start: datetime) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.seal_lines[start])["_seal"]
        return document


def split(lines: list[str], exported: "Export") -> None:
    """Replace `exported`'s lines with `lines` (a whole export)."""
    *body, exported.trailer = lines
    documents = [json.loads(line) for line in body]
    pairs = list(zip(documents, body, strict=True))
    exported.entry_lines = {d["id"]: line for d, line in pairs if "id" in d}
    exported.checkpoint = [line for d, line in pairs if "_checkpoint" in d]
    exported.seal_lines = {
        datetime.fromisoformat(d["_seal"]["window_start"]): line
        for d, line in zip(documents, body, strict=True)
        if "_seal" in d
    }


async def populate(put: Put, seal_at: SealAt) -> tuple[list[AuditEntry], ...]:
    w0 = [put(in_window(0, 10)), put(in_window(0, 40), reason="näive ünïcode")]
    w1 = [put(in_window(1, 30), ip="203.0.113.7", user_agent="curl/8.5.0", request_id="r-1")]
    w3 = [put(in_window(3, 5), success=False, email=None), put(in_window(3, 55))]
    pending = [put(in_window(4))]
    put(in_window(0, 20), account="globex")
    await seal_at(closes(3))
    return w0, w1, w3, pending


@pytest.fixture
async def export(put: Put, seal_at: SealAt, make: Exporter) -> Export:
    w0, w1, w3, pending = await populate(put, seal_at)
    exported = Export(w0, w1, w3, pending[0], {}, {}, [], "")
    split(await make.lines(), exported)
    return exported


def entry_line(entry: AuditEntry) -> str:
    return json.dumps(as_row(entry), ensure_ascii=False)


def with_seal(document: dict[str, Any]) -> str:
    return json.dumps({"_seal": document}, ensure_ascii=False)


def test_seal_lines_are_what_the_export_writes(export: Export, seals: InMemorySeals) -> None:
    seal = seals.seals[seal_id("acme", window(1))]
    assert export.seal(window(1)) == {
        **seal.body(),
        "id": seal.id,
        "key_id": seal.key_id,
        "signature": seal.signature,
    }
    assert list(export.seal_lines) == [s.window_start for s in sorted_seals(seals)]


def test_an_untouched_export_verifies(export: Export) -> None:
    report = check(export.lines())
    assert report.problems == []
    assert report.incomplete is None
    assert report.ok
    assert (report.entries, report.verified, report.unsealed, report.seals) == (6, 5, 1, 3)


def test_an_export_cannot_be_verified_with_another_key(export: Export) -> None:
    report = check(export.lines(), HmacSealKeys(b"someone else's key"))
    assert not report.ok
    assert [p.kind for p in report.problems].count(SEAL_INVALID) == 3
    assert any("trailer's signature" in d for d in details(report, EXPORT_INVALID))
    assert report.verified == 0


@pytest.mark.parametrize(
    ("key", "value", "also"),
    [
        ("email", "mallory@example.com", []),
        ("success", False, []),
        ("action", "auth.logout", []),
        ("reason", "näive ünicode", []),
        ("application", "acme-mobile", []),
        ("account", "globex", [EXPORT_INVALID]),  # outside the trailer's account too
        ("ip", "203.0.113.8", []),
        ("userAgent", "", []),
        ("requestId", "r-2", []),
        ("createdAt", "2026-01-15T12:00:40.001+00:00", []),
        ("expiresAt", "2027-01-15T12:00:40.000+00:00", []),
    ],
)
def test_an_edited_entry_line_is_modified(
    export: Export, key: str, value: Any, also: list[str]
) -> None:
    target = export.w0[1]
    row = export.entry(target.id)
    assert row[key] != value
    row[key] = value
    export.entry_lines[target.id] = json.dumps(row)
    report = check(export.lines())
    assert [k for k in kinds(report) if k[0] != EXPORT_INVALID] == [(MODIFIED, target.id)]
    assert sorted({p.kind for p in report.problems} - {MODIFIED}) == also
    assert next(p for p in report.problems if p.kind == MODIFIED).window == window(0)
    assert report.verified == 4
    assert not report.ok


def test_an_entry_edited_with_its_digest_fails_the_trailer_and_its_seal(export: Export) -> None:
    target = export.w1[0]
    edited = dataclasses.replace(target, email="mallory@example.com", digest="")
    assert edited.digest != target.digest
    export.entry_lines[target.id] = entry_line(edited)
    report = check(export.lines())
    assert kinds(report) == [(EXPORT_INVALID, None), (MODIFIED, target.id)]
    assert details(report, EXPORT_INVALID) == [
        "the entries are not the ones the export was made with"
    ]


def test_an_entry_edited_in_the_store_before_the_export_is_modified_against_its_seal(
    export: Export,
) -> None:
    """The service signs the trailer over what the store holds: the seal is what shows it."""
    target = export.w1[0]
    edited = dataclasses.replace(target, success=False, digest="")
    export.entry_lines[target.id] = entry_line(edited)
    report = check(signed_again(export.lines()))
    assert kinds(report) == [(MODIFIED, target.id)]
    assert report.problems[0].window == window(1)


def test_an_entry_whose_stored_digest_alone_was_rewritten_is_modified(export: Export) -> None:
    target = export.w3[1]
    row = export.entry(target.id)
    row["digest"] = "0" * 64
    export.entry_lines[target.id] = json.dumps(row)
    report = check(signed_again(export.lines()))
    assert kinds(report) == [(MODIFIED, target.id)]
    assert "digest differs from what was sealed" in report.problems[0].detail


def test_an_unsealed_entry_whose_fields_do_not_match_its_digest_is_modified(
    export: Export,
) -> None:
    row = export.entry(export.pending.id)
    row["success"] = not row["success"]
    export.entry_lines[export.pending.id] = json.dumps(row)
    report = check(signed_again(export.lines()))
    assert kinds(report) == [(MODIFIED, export.pending.id)]
    assert report.problems[0].detail == "line 1: the entry's fields do not match its digest"


def test_a_dropped_seal_line_fails_the_trailer_and_leaves_its_entries_injected(
    export: Export,
) -> None:
    """And the checkpoint, which lists it, says it is missing."""
    del export.seal_lines[window(1)]
    report = check(export.lines())
    assert {p.kind for p in report.problems} == {INJECTED, EXPORT_INVALID, SEAL_MISSING}
    assert details(report, EXPORT_INVALID) == [
        "the seal lines are not the ones the export was made with"
    ]
    assert (report.verified, report.seals) == (4, 2)


def test_nothing_is_checked_against_a_seal_line_whose_signature_fails(export: Export) -> None:
    """Its window's rows are neither verified nor reported against what it lists, as the
    online verifier treats a stored seal."""
    seal = export.seal(window(3))
    seal["signature"] = "00" * 32
    export.seal_lines[window(3)] = with_seal(seal)
    report = check(signed_again(export.lines()))
    assert [(p.kind, p.window) for p in report.problems] == [(SEAL_INVALID, window(3))]
    assert (report.verified, report.unsealed) == (3, 1)


async def test_an_entry_moved_in_the_store_to_another_sealed_window_is_missing_and_injected(
    put: Put, seal_at: SealAt, make: Exporter, entries: InMemoryAuditEntries
) -> None:
    """Judged, as online, by the seal of the window its createdAt now falls in."""
    w0, *_ = await populate(put, seal_at)
    target = w0[0]
    entries.entries[target.id] = dataclasses.replace(target, created_at=in_window(3, 30))

    report = check(await make.lines())

    assert kinds(report) == [(INJECTED, target.id), (MISSING, target.id)]
    assert {(p.kind, p.window) for p in report.problems} == {
        (MISSING, window(0)),
        (INJECTED, window(3)),
    }


def test_a_dropped_entry_line_fails_the_trailer(export: Export) -> None:
    del export.entry_lines[export.w3[0].id]
    report = check(export.lines())
    assert not report.ok
    assert "the file has 5 entries, its trailer says 6" in details(report, EXPORT_INVALID)


async def test_an_entry_deleted_from_the_store_before_an_unfiltered_export_is_missing(
    put: Put, seal_at: SealAt, make: Exporter, entries: InMemoryAuditEntries
) -> None:
    w0, _, w3, _ = await populate(put, seal_at)
    del entries.entries[w3[0].id]
    del entries.entries[w0[1].id]

    report = check(await make.lines())

    assert kinds(report) == sorted([(MISSING, w3[0].id), (MISSING, w0[1].id)])
    assert {p.window for p in report.problems} == {window(0), window(3)}


async def test_a_filtered_export_does_not_call_what_its_filter_left_out_missing(
    put: Put, seal_at: SealAt, make: Exporter
) -> None:
    await populate(put, seal_at)
    for wanted in (
        LogFilter(account="acme", success=True),
        LogFilter(account="acme", since=in_window(1, 0)),
        LogFilter(account="acme", until=in_window(3, 30)),
        LogFilter(account="acme", application="acme-web"),
    ):
        report = check(await make.lines(wanted))
        assert report.ok, (wanted, report.problems)


async def test_an_entry_expired_before_the_export_is_not_missing(
    put: Put, seal_at: SealAt, make: Exporter, clock: FakeClock
) -> None:
    w0, *_ = await populate(put, seal_at)
    clock.set(w0[0].expires_at)

    report = check(await make.lines())

    assert report.ok, report.problems


@pytest.mark.parametrize(
    "edit",
    [
        lambda seal: seal.update(signature="00" * 32),
        lambda seal: seal.update(key_id="another-key"),
        lambda seal: seal["entries"][0].__setitem__(2, "00" * 32),
        lambda seal: seal["entries"][0].__setitem__(1, "2027-01-15T12:03:05.000+00:00"),
        lambda seal: seal.update(merkle_root="00" * 32),
        lambda seal: seal.update(sealed_at="2026-01-15T12:07:00.000+00:00"),
        lambda seal: seal.update(window_start="2026-01-15T12:02:00.000+00:00",
                                 id="acme/2026-01-15T12:02:00.000+00:00"),
        lambda seal: seal.update(entries=seal["entries"][:1], count=1),
        lambda seal: seal.update(previous=None),
    ],
    ids=[
        "signature",
        "key id",
        "entry digest",
        "entry expiry",
        "merkle root",
        "sealed_at",
        "window",
        "entry dropped",
        "link",
    ],
)  # fmt: skip
def test_an_edited_seal_line_is_invalid(
    export: Export, edit: Callable[[dict[str, Any]], None]
) -> None:
    seal = export.seal(window(3))
    edit(seal)
    export.seal_lines[window(3)] = with_seal(seal)
    # Signed again, so only the seal can show it.
    report = check(signed_again(export.lines()))
    assert SEAL_INVALID in {p.kind for p in report.problems}
    assert not report.ok
    # Nothing in that window counts as verified against a seal that does not hold.
    assert report.verified == 3


def test_an_altered_seal_signed_again_breaks_its_successors_link(
    export: Export, seal_keys: HmacSealKeys, seals: InMemorySeals
) -> None:
    """Rewriting a sealed window, even with the signing key, shows in the next seal."""
    seal = seals.seals[seal_id("acme", window(1))]
    resealed = dataclasses.replace(seal, sealed_at=seal.sealed_at.replace(microsecond=1000))
    resealed = dataclasses.replace(resealed, signature=seal_keys.sign(resealed.message()))
    export.seal_lines[window(1)] = seal_line(resealed).decode()
    report = check(signed_again(export.lines()))
    # Reported at the altered seal's own window, as the online verifier does.
    assert [(p.kind, p.window) for p in report.problems] == [(SEAL_INVALID, window(1))]
    assert "previous" in report.problems[0].detail


def test_a_seal_signed_over_a_wrong_merkle_root_is_invalid(
    export: Export, seal_keys: HmacSealKeys, seals: InMemorySeals
) -> None:
    seal = seals.seals[seal_id("acme", window(0))]
    wrong = dataclasses.replace(seal, merkle_root="00" * 32)
    wrong = dataclasses.replace(wrong, signature=seal_keys.sign(wrong.message()))
    export.seal_lines[window(0)] = seal_line(wrong).decode()
    report = check(signed_again(export.lines()))
    assert (SEAL_INVALID, None) in kinds(report)
    assert any("Merkle" in p.detail for p in report.problems)
    assert report.verified == 3


async def test_an_entry_forged_into_the_store_in_a_sealed_window_is_injected(
    put: Put, seal_at: SealAt, make: Exporter
) -> None:
    await populate(put, seal_at)
    forged = put(in_window(1, 45), email="mallory@example.com")

    report = check(await make.lines())

    assert kinds(report) == [(INJECTED, forged.id)]
    assert report.problems[0].window == window(1)
    assert report.verified == 5


async def test_an_entry_forged_into_the_store_in_a_closed_window_no_seal_covers_is_injected(
    put: Put, seal_at: SealAt, make: Exporter
) -> None:
    await populate(put, seal_at)
    forged = put(in_window(2))

    report = check(await make.lines())

    assert kinds(report) == [(INJECTED, forged.id)]
    assert report.unsealed == 1
