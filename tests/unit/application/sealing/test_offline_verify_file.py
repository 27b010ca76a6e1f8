"""An NDJSON export checked whole: its signed trailer, the shape and order of its lines, and
what a key bound to one application gets. Every way a file can differ from what the service
wrote fails, and every unreadable line is reported by its number, never raised."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from application.errors import StoreUnavailable
from application.exporting.export import DownloadExport
from application.exporting.grant import ExportFormat, ExportGrant
from application.integrity.offline_verify import (
    EXPORT_INVALID,
    MALFORMED,
    ExportReport,
    verify_export,
)
from application.reading.criteria import LogFilter
from application.services import Services
from domain.entry import AuditEntry
from domain.export_trailer import ExportTrailer
from domain.integrity import MODIFIED, Seal
from domain.tenancy import Scope
from tests import builders
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import closes, in_window
from tests.unit.application.sealing.export_files import (
    Exporter,
    check,
    details,
    exporter,
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
    """acme-web and acme-mobile entries in the same sealed windows, and one not sealed yet."""
    web = [put(in_window(0, 10)), put(in_window(0, 40)), put(in_window(2, 5), success=False)]
    mobile = []
    for moment in (in_window(0, 20), in_window(2, 30)):
        entry = builders.entry(account="acme", application="acme-mobile", created_at=moment)
        entries.entries[entry.id] = entry
        mobile.append(entry)
    await seal_at(closes(2))
    web.append(put(in_window(5)))
    return {"acme-web": web, "acme-mobile": mobile}


@pytest.fixture
async def lines(stored: dict[str, list[AuditEntry]], make: Exporter) -> list[str]:
    return await make.lines()


def trailer_object() -> ExportTrailer:
    return ExportTrailer(
        account="acme", filter={}, key=None, application=None, format="ndjson",
        exported_at=datetime.fromisoformat("2026-01-15T12:00:00+00:00"), count=0, oldest=None,
        newest=None, rows_digest="", seals=None,
    )  # fmt: skip


def documents(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def rows_of(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith('{"_')]


def seals_of(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith('{"_seal"')]


def checkpoint_of(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith('{"_checkpoint"')]


class TestTheTrailer:
    def test_it_is_the_last_line_and_states_what_was_exported(
        self, lines: list[str], clock: FakeClock
    ) -> None:
        trailer = trailer_of(lines)
        body = trailer["_export"]
        assert set(trailer) == {"_export", "signature"}
        assert body["type"] == "auditlog.export.v1"
        assert body["account"] == "acme"
        assert body["filter"] == {
            "account": "acme", "application": None, "actions": None, "email": None,
            "success": None, "since": None, "until": None, "actor_id": None,
            "target_id": None, "target_type": None,
        }  # fmt: skip
        assert body["scope"] == {"key": None, "application": None}
        assert body["format"] == "ndjson"
        assert body["exported_at"] == clock.now().isoformat(timespec="milliseconds")
        assert body["count"] == len(rows_of(lines)) == 6
        assert body["seals"]["count"] == len(seals_of(lines)) == 2
        assert body["key_id"] == HmacSealKeys.key_id
        assert (body["oldest"], body["newest"]) == (
            documents(rows_of(lines))[-1]["createdAt"],
            documents(rows_of(lines))[0]["createdAt"],
        )

    def test_an_untouched_file_verifies(self, lines: list[str]) -> None:
        report = check(lines)
        assert report.problems == []
        assert report.ok
        assert (report.entries, report.verified, report.unsealed) == (6, 5, 1)

    def test_a_file_without_a_trailer_fails(self, lines: list[str]) -> None:
        report = check(lines[:-1])
        assert not report.ok
        assert details(report, EXPORT_INVALID) == [
            "the file has no trailer: it is not a whole export"
        ]

    def test_every_prefix_of_an_export_fails(self, lines: list[str]) -> None:
        """Cut short anywhere, without an _error line: the trailer is gone or does not match."""
        for end in range(len(lines)):
            assert not check(lines[:end]).ok, end

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("account", "globex"),
            ("filter", {"account": "acme", "application": "acme-web", "actions": None,
                        "email": None, "success": None, "since": None, "until": None}),
            ("scope", {"key": "k-1", "application": None}),
            ("count", 5),
            ("exported_at", "2030-01-01T00:00:00.000+00:00"),
            ("oldest", None),
            ("rows_digest", "0" * 64),
            ("seals", None),
            ("key_id", "another-key"),
        ],
    )  # fmt: skip
    def test_a_trailer_edited_without_the_key_does_not_verify(
        self, lines: list[str], name: str, value: Any
    ) -> None:
        trailer = trailer_of(lines)
        trailer["_export"][name] = value
        report = check([*lines[:-1], json.dumps(trailer)])
        assert not report.ok
        assert report.trailer is None
        assert any(
            "trailer's signature does not verify" in d for d in details(report, EXPORT_INVALID)
        )

    async def test_a_trailer_of_another_export_does_not_fit(
        self, lines: list[str], make: Exporter
    ) -> None:
        other = await make.lines(LogFilter(account="acme", success=True))
        report = check([*lines[:-1], other[-1]])
        assert not report.ok
        assert "the entries are not the ones the export was made with" in details(
            report, EXPORT_INVALID
        )

    async def test_a_seal_line_of_another_export_does_not_fit(
        self, make: Exporter, stored: dict[str, list[AuditEntry]]
    ) -> None:
        whole = await make.lines()
        recent = await make.lines(LogFilter(account="acme", since=in_window(2, 0)))
        assert len(seals_of(recent)) == 1
        foreign = next(s for s in seals_of(whole) if s not in recent)
        edited = [*rows_of(recent), foreign, *seals_of(recent), recent[-1]]
        report = check(edited)
        assert "the seal lines are not the ones the export was made with" in details(
            report, EXPORT_INVALID
        )

    async def test_an_empty_export_verifies(self, make: Exporter, tenants: None) -> None:
        lines = await make.lines()
        assert len(lines) == 1
        body = trailer_of(lines)["_export"]
        assert (body["count"], body["oldest"], body["seals"]["count"]) == (0, None, 0)
        report = check(lines)
        assert report.ok
        assert report.entries == 0

    def test_a_trailer_that_states_another_time_span_fails(self, lines: list[str]) -> None:
        """Not a trailer the service signs: a check that the trailer says what the file holds."""
        newest = json.loads(lines[0])["createdAt"]
        edited = signed_again(lines, newest=datetime.fromisoformat(newest) + timedelta(seconds=1))
        assert details(check(edited), EXPORT_INVALID) == [
            "the entries do not span the time the trailer states"
        ]

    def test_a_report_without_a_trailer_is_never_ok(self) -> None:
        assert not ExportReport().ok
        assert ExportReport(trailer=trailer_object()).ok

    def test_only_the_trailer_of_a_non_empty_export_fails(self, lines: list[str]) -> None:
        report = check(lines[-1:])
        assert "the file has 0 entries, its trailer says 6" in details(report, EXPORT_INVALID)

    def test_an_empty_file_fails(self) -> None:
        assert not check([]).ok


class TestRows:
    def test_a_duplicated_row_fails(self, lines: list[str]) -> None:
        rows = rows_of(lines)
        edited = [rows[0], *rows[:3], rows[2], *rows[3:], *lines[len(rows) :]]
        report = check(edited)
        assert not report.ok
        repeats = [p for p in report.problems if "repeats" in p.detail]
        assert [p.detail for p in repeats] == [
            "line 2 repeats the entry of line 1", "line 5 repeats the entry of line 4"
        ]  # fmt: skip
        assert "the file has 8 entries, its trailer says 6" in details(report, EXPORT_INVALID)

    def test_a_duplicated_row_fails_even_with_the_trailer_signed_again(
        self, lines: list[str]
    ) -> None:
        edited = signed_again([lines[0], *lines])
        assert details(check(edited), EXPORT_INVALID) == ["line 2 repeats the entry of line 1"]

    def test_reordered_rows_fail(self, lines: list[str]) -> None:
        rows = rows_of(lines)
        edited = [rows[1], rows[0], *lines[2:]]
        report = check(edited)
        assert "line 2 is out of order (newest first)" in details(report, EXPORT_INVALID)
        assert "the entries are not the ones the export was made with" in details(
            report, EXPORT_INVALID
        )
        assert details(check(signed_again(edited)), EXPORT_INVALID) == [
            "line 2 is out of order (newest first)"
        ]

    def test_a_row_after_the_seal_lines_fails(self, lines: list[str]) -> None:
        rows, seals, checkpoint = rows_of(lines), seals_of(lines), checkpoint_of(lines)
        edited = [*rows[1:], *seals, rows[0], *checkpoint, lines[-1]]
        assert "line 8: an entry after the seal or checkpoint lines" in details(
            check(edited), EXPORT_INVALID
        )

    @pytest.mark.parametrize(
        "extra", ["", "   ", '{"_error": "STORE_UNAVAILABLE"}', "last", "trailer", "row"]
    )
    def test_any_line_after_the_trailer_fails(self, lines: list[str], extra: str) -> None:
        line = {"last": lines[-1], "trailer": lines[-1], "row": lines[0]}.get(extra, extra)
        report = check([*lines, line])
        assert not report.ok
        assert f"line {len(lines) + 1} comes after the trailer" in details(report, EXPORT_INVALID)

    def test_a_trailer_before_the_seals_fails(self, lines: list[str]) -> None:
        rows = rows_of(lines)
        edited = [*rows, lines[-1], *seals_of(lines)]
        report = check(edited)
        assert not report.ok
        assert f"line {len(rows) + 2} comes after the trailer" in details(report, EXPORT_INVALID)

    def test_an_error_line_marks_the_export_incomplete(self, lines: list[str]) -> None:
        report = check([*rows_of(lines)[:3], json.dumps({"_error": "STORE_UNAVAILABLE"})])
        assert report.incomplete == "STORE_UNAVAILABLE"
        assert report.problems == []
        assert not report.ok
        assert report.entries == 3

    def test_an_unknown_error_code_is_not_repeated(self, lines: list[str]) -> None:
        report = check([*rows_of(lines)[:3], json.dumps({"_error": "\x1b[2J pwned"})])
        assert report.incomplete == "an unknown error"


def _edit_row(line: str, **changes: Any) -> str:
    row = json.loads(line)
    for key, value in changes.items():
        if value is _DELETE:
            del row[key]
        else:
            row[key] = value
    return json.dumps(row)


_DELETE = object()
_MALFORMED_ROWS: dict[str, tuple[dict[str, Any], str]] = {
    "naive createdAt": ({"createdAt": "2026-01-15T12:00:10.000"}, "createdAt has no time zone"),
    "createdAt not a date": ({"createdAt": "yesterday"}, "createdAt is not a date"),
    "createdAt a date only": ({"createdAt": "2026-01-15"}, "createdAt has no time zone"),
    "createdAt in Z form": (
        {"createdAt": "2026-01-15T12:00:10.000Z"}, "createdAt is not ISO 8601 UTC with milliseconds"
    ),
    "createdAt a number": ({"createdAt": 1768478410}, "createdAt is not a string"),
    "expiresAt naive": ({"expiresAt": "2026-04-15T12:00:10"}, "expiresAt has no time zone"),
    "missing field": ({"requestId": _DELETE}, "the entry lacks requestId"),
    "extra field": ({"note": "hi"}, "the entry has 1 unknown key(s)"),
    "success a string": ({"success": "true"}, "success is not true or false"),
    "email a number": ({"email": 7}, "email is neither a string nor null"),
    "action null": ({"action": None}, "action is not a string"),
    "id with escapes": ({"id": "\x1b[31mred"}, "id is not an entry id"),
    "digest upper case": ({"digest": "A" * 64}, "digest is not 64 lowercase hex digits"),
}  # fmt: skip


class TestMalformedLines:
    @pytest.mark.parametrize("case", list(_MALFORMED_ROWS))
    def test_a_malformed_row_names_its_line(self, lines: list[str], case: str) -> None:
        changes, why = _MALFORMED_ROWS[case]
        edited = [lines[0], _edit_row(lines[1], **changes), *lines[2:]]
        report = check(edited)
        assert not report.ok
        assert details(report, MALFORMED) == [f"line 2: {why}"]

    @pytest.mark.parametrize(
        ("line", "why"),
        [
            ("{not json", "line 3 is not JSON"),
            ("[1, 2]", "line 3 is not a JSON object"),
            ('"a string"', "line 3 is not a JSON object"),
            ("", "line 3 is empty"),
            ("[" * 100_000, "line 3 is not JSON"),
            ('{"_seal": []}', "line 3: a seal line holds one object under _seal"),
            ('{"_seal": {"account": "acme"}}',
             "line 3: the seal lacks its id, key_id or signature"),
            ('{"_export": {}, "signature": "x"}', "line 3: the trailer cannot be read"),
            ('{"_export": {}, "signature": 1}',
             "line 3: a trailer holds _export and a signature, nothing else"),
        ],
    )  # fmt: skip
    def test_an_unreadable_line_names_its_line(self, lines: list[str], line: str, why: str) -> None:
        report = check([*lines[:2], line, *lines[2:]])
        assert why in details(report, MALFORMED)
        assert not report.ok

    def test_a_line_that_is_not_utf8_names_its_line(self, lines: list[str]) -> None:
        raw = [line.encode() for line in lines]
        raw.insert(1, b'{"id": "\xff"}')
        report = verify_export(raw, HmacSealKeys())
        assert details(report, MALFORMED) == ["line 2 is not UTF-8"]

    @pytest.mark.parametrize(
        "edit",
        [
            lambda seal: seal.update(count=seal["count"] + 1),
            lambda seal: seal.update(id="acme/elsewhere"),
            lambda seal: seal.update(extra=1),
            lambda seal: seal.update(window_start="2026-01-15T12:00:00"),
            lambda seal: seal["previous"].pop() if seal["previous"] else seal.update(previous=[1]),
            lambda seal: seal.update(entries=[["x"]]),
        ],
        ids=["count", "id", "extra key", "naive window", "truncated link", "short entry"],
    )
    def test_a_malformed_seal_line_names_its_line(
        self, lines: list[str], edit: Callable[[dict[str, Any]], None]
    ) -> None:
        at = len(rows_of(lines)) + 1
        document = json.loads(lines[at])
        edit(document["_seal"])
        report = check([*lines[:at], json.dumps(document), *lines[at + 1 :]])
        assert [d for d in details(report, MALFORMED) if d.startswith(f"line {at + 1}:")]

    def test_a_trailer_not_in_canonical_form_is_malformed(self, lines: list[str]) -> None:
        trailer = trailer_of(lines)
        trailer["_export"]["count"] = float(trailer["_export"]["count"])
        report = check([*lines[:-1], json.dumps(trailer)])
        assert details(report, MALFORMED) == [f"line {len(lines)}: the trailer cannot be read"]

    def test_no_problem_quotes_what_the_file_holds(self, lines: list[str]) -> None:
        hostile = "\x1b]0;owned\x07"
        edited = [_edit_row(lines[0], id=hostile), _edit_row(lines[1], reason=hostile), *lines[2:]]
        report = check(edited)
        assert not report.ok
        assert all(hostile not in p.detail and p.entry_id != hostile for p in report.problems)


class TestAKeyBoundToOneApplication:
    @pytest.fixture
    async def bound(self, key_for: KeyFactory) -> str:
        principal = await key_for("acme", "acme-web", scopes=(Scope.EXPORT,))
        return principal.key_id

    async def test_its_export_names_no_entry_of_another_application(
        self, make: Exporter, bound: str, stored: dict[str, list[AuditEntry]]
    ) -> None:
        lines = await make.lines(key_id=bound)

        body = "\n".join(lines)
        assert not seals_of(lines)
        for entry in stored["acme-mobile"]:
            assert entry.id not in body
            assert entry.digest not in body
        assert {d["application"] for d in documents(rows_of(lines))} == {"acme-web"}
        trailer = trailer_of(lines)["_export"]
        assert trailer["seals"] is None
        assert trailer["scope"] == {"key": bound, "application": "acme-web"}
        assert trailer["filter"]["application"] == "acme-web"
        assert trailer["count"] == len(stored["acme-web"])

    async def test_its_export_is_checked_whole_and_by_receipts_not_against_seals(
        self, make: Exporter, bound: str, stored: dict[str, list[AuditEntry]]
    ) -> None:
        lines = await make.lines(key_id=bound)

        report = check(lines)
        assert report.ok, report.problems
        assert not report.carries_seals
        assert report.carries_proofs
        counts = (report.entries, report.verified, report.proven, report.unsealed)
        assert counts == (4, 0, 3, 1)
        assert not check(lines[1:]).ok
        assert not check([lines[0], *lines]).ok
        flipped = _edit_row(lines[0], success=not json.loads(lines[0])["success"])
        assert kinds(check([flipped, *lines[1:]])) == [(MODIFIED, json.loads(lines[0])["id"])]

    async def test_seal_lines_added_to_its_export_fail(
        self, make: Exporter, bound: str, stored: dict[str, list[AuditEntry]]
    ) -> None:
        lines = await make.lines(key_id=bound)
        whole = await make.lines()
        edited = [*lines[:-1], *seals_of(whole), lines[-1]]
        report = check(edited)
        assert "the trailer says this export carries no seals" in details(report, EXPORT_INVALID)


async def test_a_trailer_is_signed_only_after_every_row_went_out(
    make: Exporter, stored: dict[str, list[AuditEntry]], clock: FakeClock
) -> None:
    download: DownloadExport = make.download
    grant = ExportGrant(
        key_id=None, account="acme", filter=LogFilter(account="acme"),
        format=ExportFormat.NDJSON, expires_at=clock.now().replace(year=2100),
    )  # fmt: skip
    export = await download.execute(make.links.seal(grant))
    first = await anext(export.entries)
    assert first[0].id
    with pytest.raises(RuntimeError):
        export.trailer()
    await export.entries.aclose()
    with pytest.raises(RuntimeError):
        export.trailer()


def test_rows_of_another_account_are_outside_the_trailer(lines: list[str]) -> None:
    edited = signed_again([_edit_row(lines[0], account="globex"), *lines[1:]])
    report = check(edited)
    assert "line 1: an entry outside the export's filter" in details(report, EXPORT_INVALID)


class _FailingSeals(InMemorySeals):
    async def in_range(
        self, account: str, since: datetime | None, until: datetime | None
    ) -> list[Seal]:
        raise StoreUnavailable()


async def test_a_store_failure_while_reading_the_seals_ends_with_an_error_line_not_a_trailer(
    services: Services,
    entries: InMemoryAuditEntries,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    clock: FakeClock,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    keys: InMemoryApiKeys,
    tenants: None,
    stored: dict[str, list[AuditEntry]],
) -> None:
    failing = exporter(
        services=services, entries=entries, seals=_FailingSeals(), checkpoints=checkpoints,
        seal_keys=seal_keys, clock=clock, accounts=accounts, applications=applications,
        keys=keys,
    )  # fmt: skip
    lines = await failing.lines()
    assert json.loads(lines[-1]) == {"_error": "STORE_UNAVAILABLE"}
    assert not any('"_export"' in line for line in lines)
    report = check(lines)
    assert report.incomplete == "STORE_UNAVAILABLE"
    assert not report.ok
