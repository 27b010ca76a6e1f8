"""Checking an NDJSON export offline: lines built as adapters/http/export_formats.py writes
them (entries newest first, then the seals of their windows), edited as a holder might."""

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from adapters.http.export_formats import as_row, seal_line
from application.offline_verify import ExportReport, verify_export
from domain.entry import AuditEntry
from domain.integrity import INJECTED, MODIFIED, SEAL_INVALID, seal_id
from tests.fakes import HmacSealKeys, InMemoryAuditEntries, InMemorySeals
from tests.unit.application.sealing.conftest import closes, in_window, sorted_seals, window

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
    """Entry id -> its line."""
    seal_lines: dict[datetime, str]
    """Window start -> its seal's line."""

    def lines(self) -> list[str]:
        return [*self.entry_lines.values(), *self.seal_lines.values()]

    def entry(self, entry_id: str) -> dict[str, Any]:
        row: dict[str, Any] = json.loads(self.entry_lines[entry_id])
        return row

    def seal(self, start: datetime) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.seal_lines[start])["_seal"]
        return document


def entry_line(entry: AuditEntry) -> str:
    return json.dumps(as_row(entry), ensure_ascii=False)


def with_seal(document: dict[str, Any]) -> str:
    return json.dumps({"_seal": document}, ensure_ascii=False)


@pytest.fixture
async def export(
    put: Put, seal_at: SealAt, entries: InMemoryAuditEntries, seals: InMemorySeals
) -> Export:
    w0 = [put(in_window(0, 10)), put(in_window(0, 40), reason="näive ünïcode")]
    w1 = [put(in_window(1, 30), ip="203.0.113.7", user_agent="curl/8.5.0", request_id="r-1")]
    w3 = [put(in_window(3, 5), success=False, email=None), put(in_window(3, 55))]
    pending = put(in_window(4))
    put(in_window(0, 20), account="globex")
    await seal_at(closes(3))
    newest_first = sorted(
        (e for e in entries.entries.values() if e.account == "acme"),
        key=lambda e: (e.created_at, e.id),
        reverse=True,
    )
    return Export(
        w0=w0,
        w1=w1,
        w3=w3,
        pending=pending,
        entry_lines={e.id: entry_line(e) for e in newest_first},
        seal_lines={s.window_start: seal_line(s).decode() for s in sorted_seals(seals)},
    )


def check(lines: list[str]) -> ExportReport:
    return verify_export(lines, HmacSealKeys())


def kinds(report: ExportReport) -> list[tuple[str, str | None]]:
    return sorted((p.kind, p.entry_id) for p in report.problems)


def test_seal_lines_are_what_the_export_writes(export: Export, seals: InMemorySeals) -> None:
    seal = seals.seals[seal_id("acme", window(1))]
    assert export.seal(window(1)) == {
        **seal.body(),
        "id": seal.id,
        "key_id": seal.key_id,
        "signature": seal.signature,
    }


def test_an_untouched_export_verifies(export: Export) -> None:
    report = check(export.lines())
    assert report.ok
    assert report.problems == []
    assert report.incomplete is None
    assert (report.entries, report.verified, report.unsealed, report.seals) == (6, 5, 1, 3)


def test_line_order_and_blank_lines_do_not_matter(export: Export) -> None:
    lines = list(reversed(export.lines()))
    lines.insert(2, "")
    lines.append("   \n")
    report = check(lines)
    assert report.ok
    assert (report.entries, report.verified, report.unsealed) == (6, 5, 1)


def test_a_file_read_line_by_line_verifies(export: Export, tmp_path: Any) -> None:
    path = tmp_path / "export.ndjson"
    path.write_text("".join(f"{line}\n" for line in export.lines()), encoding="utf-8")
    with path.open(encoding="utf-8") as lines:
        report = verify_export(lines, HmacSealKeys())
    assert report.ok
    assert report.verified == 5


def test_an_export_cannot_be_verified_with_another_key(export: Export) -> None:
    report = verify_export(export.lines(), HmacSealKeys(b"someone else's key"))
    assert not report.ok
    assert [p.kind for p in report.problems].count(SEAL_INVALID) == 3
    assert report.verified == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("email", "mallory@example.com"),
        ("success", False),
        ("action", "auth.logout"),
        ("reason", "näive ünicode"),
        ("application", "acme-mobile"),
        ("account", "globex"),
        ("ip", "203.0.113.8"),
        ("userAgent", ""),
        ("requestId", "r-2"),
        ("createdAt", "2026-01-15T12:00:40.001+00:00"),
        ("expiresAt", "2027-01-15T12:00:40.000+00:00"),
    ],
)
def test_an_edited_entry_line_is_modified(export: Export, key: str, value: Any) -> None:
    target = export.w0[1]
    row = export.entry(target.id)
    assert row[key] != value
    row[key] = value
    export.entry_lines[target.id] = json.dumps(row)
    report = check(export.lines())
    assert kinds(report) == [(MODIFIED, target.id)]
    assert report.problems[0].window == window(0)
    assert report.verified == 4
    assert not report.ok


def test_an_edited_entry_line_with_its_digest_column_updated_is_still_modified(
    export: Export,
) -> None:
    target = export.w1[0]
    edited = dataclasses.replace(target, email="mallory@example.com", digest="")
    assert edited.digest != target.digest
    export.entry_lines[target.id] = entry_line(edited)
    assert kinds(check(export.lines())) == [(MODIFIED, target.id)]


def test_an_entry_line_missing_a_field_is_modified(export: Export) -> None:
    target = export.w3[0]
    row = export.entry(target.id)
    del row["requestId"]
    export.entry_lines[target.id] = json.dumps(row)
    assert kinds(check(export.lines())) == [(MODIFIED, target.id)]


def test_a_dropped_seal_line_leaves_its_windows_entries_injected(export: Export) -> None:
    """A later seal shows the window was closed; a live entry's seal would be in the file."""
    del export.seal_lines[window(1)]
    report = check(export.lines())
    assert {p.kind for p in report.problems} == {INJECTED}
    assert (report.verified, report.seals) == (4, 2)


def test_dropped_entry_lines_are_not_a_problem(export: Export) -> None:
    """An export proves that what it holds is genuine; a filter may have left entries out."""
    del export.entry_lines[export.w3[0].id]
    report = check(export.lines())
    assert report.ok
    assert (report.entries, report.verified) == (5, 4)


@pytest.mark.parametrize(
    "edit",
    [
        lambda seal: seal.update(signature="00" * 32),
        lambda seal: seal.update(key_id="another-key"),
        lambda seal: seal["entries"][0].__setitem__(2, "00" * 32),
        lambda seal: seal["entries"][0].__setitem__(1, "2027-01-15T12:03:05.000+00:00"),
        lambda seal: seal.update(merkle_root="00" * 32),
        lambda seal: seal.update(sealed_at="2026-01-15T12:07:00.000+00:00"),
        lambda seal: seal.update(window_start="2026-01-15T12:02:00.000+00:00"),
        lambda seal: seal.update(count=3),
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
        "count",
        "entry dropped",
        "link",
    ],
)
def test_an_edited_seal_line_is_invalid(
    export: Export, edit: Callable[[dict[str, Any]], None]
) -> None:
    seal = export.seal(window(3))
    edit(seal)
    export.seal_lines[window(3)] = with_seal(seal)
    report = check(export.lines())
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
    report = check(export.lines())
    assert [(p.kind, p.window) for p in report.problems] == [(SEAL_INVALID, window(3))]
    assert "previous" in report.problems[0].detail


def test_a_seal_signed_over_a_wrong_merkle_root_is_invalid(
    export: Export, seal_keys: HmacSealKeys, seals: InMemorySeals
) -> None:
    seal = seals.seals[seal_id("acme", window(0))]
    wrong = dataclasses.replace(seal, merkle_root="00" * 32)
    wrong = dataclasses.replace(wrong, signature=seal_keys.sign(wrong.message()))
    export.seal_lines[window(0)] = seal_line(wrong).decode()
    report = check(export.lines())
    assert (SEAL_INVALID, None) in kinds(report)
    assert any("Merkle" in p.detail for p in report.problems)
    assert report.verified == 3


def test_an_error_line_marks_the_export_incomplete(export: Export) -> None:
    lines = [*list(export.entry_lines.values())[:3], json.dumps({"_error": "STORE_UNAVAILABLE"})]
    report = check(lines)
    assert report.incomplete == "STORE_UNAVAILABLE"
    assert report.problems == []
    assert not report.ok
    assert report.entries == 3


def test_an_entry_in_a_sealed_window_but_not_in_its_seal_is_injected(export: Export) -> None:
    forged = dataclasses.replace(export.w1[0], id="f" * 24, email="mallory@example.com", digest="")
    export.entry_lines[forged.id] = entry_line(forged)
    report = check(export.lines())
    assert kinds(report) == [(INJECTED, forged.id)]
    assert report.problems[0].window == window(1)
    assert report.verified == 5


def test_an_entry_in_a_closed_window_no_seal_covers_is_injected(export: Export) -> None:
    later = dataclasses.replace(export.pending, id="f" * 24, created_at=in_window(2), digest="")
    export.entry_lines[later.id] = entry_line(later)
    report = check(export.lines())
    assert [(p.kind, p.entry_id) for p in report.problems] == [(INJECTED, later.id)]
    assert report.unsealed == 1


def test_an_unreadable_line_is_reported(export: Export) -> None:
    report = check([*export.lines(), '{"_seal": {"account": "acme"'])
    assert [p.kind for p in report.problems] == [SEAL_INVALID]
    assert "line 10" in report.problems[0].detail


@pytest.mark.parametrize(
    "line",
    [
        with_seal({"account": "acme"}),
        "SEAL WITH TRUNCATED LINK",
        json.dumps({"_seal": []}),
        "[1, 2]",
        '"a string"',
    ],
    ids=["seal without signature", "truncated link", "seal not an object", "array", "string"],
)
def test_a_malformed_line_is_reported_not_a_crash(export: Export, line: str) -> None:
    if line == "SEAL WITH TRUNCATED LINK":
        seal = export.seal(window(3))
        seal["previous"] = seal["previous"][:2]
        line = with_seal(seal)
    report = check([*export.lines(), line])
    assert not report.ok
