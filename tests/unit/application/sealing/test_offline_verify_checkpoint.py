"""The `_checkpoint` line of an NDJSON export: the latest checkpoint when the download began,
named by the signed trailer. The offline verifier checks its signature and that the trailer
names it, closes every window before its `sealed_through` (a row there that no seal in the
file lists is INJECTED, wherever it sits), and reports a seal it lists that an export of
every entry should carry as SEAL_MISSING: the newest window cut with its seal and entries,
which nothing else left in the file shows.

acme: two entries in window 0, one in 1, two in 3, one in 4 not sealed yet (`populate`);
the sealing pass at `closes(3)` writes checkpoint 1, sealed through window 4.
"""

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.inbound.http.exports import export_body
from application.exporting.grant import ExportFormat, ExportGrant
from application.integrity.offline_verify import EXPORT_INVALID, MALFORMED
from application.reading.criteria import LogFilter
from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.export_trailer import CheckpointRef
from domain.integrity import CHECKPOINT_INVALID, INJECTED, SEAL_INVALID, SEAL_MISSING, seal_id
from domain.tenancy import Scope
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import closes, in_window, window
from tests.unit.application.sealing.export_files import (
    Exporter,
    check,
    details,
    kinds,
    signed_again,
    trailer_of,
)
from tests.unit.application.sealing.test_offline_verify import populate
from tests.unit.application.support import KeyFactory

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]


def checkpoint_at(lines: list[str]) -> int:
    """The index of the `_checkpoint` line."""
    return next(i for i, line in enumerate(lines) if line.startswith('{"_checkpoint"'))


def without_checkpoint(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith('{"_checkpoint"')]


def line_of(checkpoint: Checkpoint) -> str:
    return json.dumps({"_checkpoint": checkpoint.document()})


def removed(entries: InMemoryAuditEntries, seals: InMemorySeals, k: int) -> None:
    """Window k cut from the store whole, as a database user would: its seal and entries."""
    del seals.seals[seal_id("acme", window(k))]
    for stored in [e for e in entries.entries.values() if e.account == "acme"]:
        if window(k) <= stored.created_at < window(k + 1):
            del entries.entries[stored.id]


@pytest.fixture
async def lines(put: Put, seal_at: SealAt, make: Exporter) -> list[str]:
    await populate(put, seal_at)
    return await make.lines()


class TestAGenuineExport:
    async def test_it_carries_the_latest_checkpoint_named_by_its_trailer(
        self, lines: list[str], checkpoints: InMemoryCheckpoints
    ) -> None:
        latest = await checkpoints.latest()
        assert latest is not None
        at = checkpoint_at(lines)
        assert at == len(lines) - 2  # after the seals, before the trailer
        # With acme's heads only: globex, sealed in the same step, is a digest in it.
        assert json.loads(lines[at]) == {"_checkpoint": latest.document("acme")}
        assert "globex" in {head.account for head in latest.sealed}
        assert "globex" not in lines[at]
        assert trailer_of(lines)["_export"]["checkpoint"] == {
            "sequence": latest.sequence,
            "hash": latest.hash(),
        }
        report = check(lines)
        assert report.ok, report.problems
        assert report.checkpoint is not None
        assert report.checkpoint.hash() == latest.hash()
        assert report.carries_checkpoint

    async def test_the_checkpoint_is_the_one_latest_when_the_download_began(
        self, put: Put, seal_at: SealAt, make: Exporter, checkpoints: InMemoryCheckpoints
    ) -> None:
        """Read before the rows: a pass during the download seals windows whose seals are
        then read too, and the file still verifies."""
        await populate(put, seal_at)
        grant = ExportGrant(
            key_id=None, account="acme", filter=LogFilter(account="acme"),
            format=ExportFormat.NDJSON, expires_at=make.clock.now() + timedelta(hours=1),
        )  # fmt: skip
        export = await make.download.execute(make.links.seal(grant))
        await seal_at(closes(5))  # checkpoint 2, sealing window 4
        assert len(checkpoints.checkpoints) == 2
        body = b"".join([chunk async for chunk in export_body(export)]).decode().splitlines()

        assert json.loads(body[checkpoint_at(body)])["_checkpoint"]["sequence"] == 1
        assert check(body).ok, check(body).problems

    async def test_a_key_bound_to_one_application_gets_no_checkpoint(
        self, put: Put, seal_at: SealAt, make: Exporter, key_for: KeyFactory
    ) -> None:
        """It gets no seals to check rows against; a checkpoint would only list other
        applications' seals. The trailer says so, so one added is caught."""
        await populate(put, seal_at)
        bound = await key_for("acme", "acme-web", scopes=(Scope.EXPORT,))
        lines = await make.lines(key_id=bound.key_id)
        whole = await make.lines()

        assert not any(line.startswith('{"_checkpoint"') for line in lines)
        assert trailer_of(lines)["_export"]["checkpoint"] is None
        report = check(lines)
        assert report.ok, report.problems
        assert (report.checkpoint, report.carries_checkpoint) == (None, False)
        added = [*lines[:-1], whole[checkpoint_at(whole)], lines[-1]]
        assert details(check(added), EXPORT_INVALID) == [
            "the trailer says this export carries no checkpoint"
        ]

    async def test_a_csv_export_reads_no_checkpoint(
        self, put: Put, seal_at: SealAt, make: Exporter
    ) -> None:
        await populate(put, seal_at)
        grant = ExportGrant(
            key_id=None, account="acme", filter=LogFilter(account="acme"),
            format=ExportFormat.CSV, expires_at=make.clock.now() + timedelta(hours=1),
        )  # fmt: skip
        export = await make.download.execute(make.links.seal(grant))
        assert export.checkpoint is None
        await export.entries.aclose()

    async def test_an_export_before_the_first_sealing_pass_carries_none(
        self, put: Put, make: Exporter, tenants: None
    ) -> None:
        put(in_window(0))
        lines = await make.lines()
        assert trailer_of(lines)["_export"]["checkpoint"] is None
        report = check(lines)
        assert report.ok, report.problems
        assert not report.carries_checkpoint


class TestTheCheckpointLine:
    def test_an_edited_checkpoint_fails_its_signature_and_the_trailer(
        self, lines: list[str]
    ) -> None:
        at = checkpoint_at(lines)
        document = json.loads(lines[at])
        document["_checkpoint"]["sealed_through"] = "2026-01-15T13:00:00.000+00:00"
        edited = [*lines[:at], json.dumps(document), *lines[at + 1 :]]

        report = check(edited)

        assert details(report, CHECKPOINT_INVALID) == [
            f"line {at + 1}: the checkpoint's signature does not verify"
        ]
        assert "the checkpoint is not the one the export was made with" in details(
            report, EXPORT_INVALID
        )
        assert report.checkpoint is None
        assert not report.ok

    def test_an_edited_checkpoint_named_by_a_trailer_signed_again_still_fails(
        self, lines: list[str]
    ) -> None:
        """As the service would export a checkpoint edited in the store: its signature
        alone shows it, and it closes no window."""
        at = checkpoint_at(lines)
        checkpoint = Checkpoint.from_document(json.loads(lines[at])["_checkpoint"])
        forged = dataclasses.replace(checkpoint, sealed_through=window(30))
        edited = [*lines[:at], line_of(forged), *lines[at + 1 :]]
        named = dataclasses.replace(trailer_ref(lines), hash=forged.hash())
        resigned = signed_again(edited, checkpoint=named)

        report = check(resigned)

        assert [p.kind for p in report.problems] == [CHECKPOINT_INVALID]
        assert report.checkpoint is None

    def test_a_stripped_checkpoint_fails_the_trailer(self, lines: list[str]) -> None:
        report = check(without_checkpoint(lines))
        assert details(report, EXPORT_INVALID) == [
            "the checkpoint the trailer names is not in the file"
        ]
        assert not report.ok

    def test_the_checkpoint_key_stripped_from_the_trailer_breaks_its_signature(
        self, lines: list[str]
    ) -> None:
        trailer = trailer_of(lines)
        del trailer["_export"]["checkpoint"]
        report = check([*without_checkpoint(lines)[:-1], json.dumps(trailer)])
        assert any(
            "trailer's signature does not verify" in d for d in details(report, EXPORT_INVALID)
        )

    async def test_a_checkpoint_swapped_for_an_older_genuine_one_fails_the_trailer(
        self, put: Put, seal_at: SealAt, make: Exporter, checkpoints: InMemoryCheckpoints
    ) -> None:
        await populate(put, seal_at)
        await seal_at(closes(5))
        lines = await make.lines()
        older = checkpoints.checkpoints[1]
        at = checkpoint_at(lines)
        assert json.loads(lines[at])["_checkpoint"]["sequence"] == 2

        report = check([*lines[:at], line_of(older), *lines[at + 1 :]])

        assert details(report, EXPORT_INVALID) == [
            "the checkpoint is not the one the export was made with"
        ]
        assert CHECKPOINT_INVALID not in {p.kind for p in report.problems}

    def test_a_seal_after_the_checkpoint_fails(self, lines: list[str]) -> None:
        at = checkpoint_at(lines)
        edited = [*lines[: at - 1], lines[at], lines[at - 1], lines[-1]]
        assert details(check(edited), EXPORT_INVALID) == [
            f"line {at + 1}: a seal after the checkpoint"
        ]

    def test_a_second_checkpoint_line_fails(self, lines: list[str]) -> None:
        at = checkpoint_at(lines)
        edited = [*lines[: at + 1], lines[at], lines[-1]]
        assert details(check(edited), EXPORT_INVALID) == [
            f"line {at + 2}: a second checkpoint line"
        ]

    def test_a_row_after_the_checkpoint_fails(self, lines: list[str]) -> None:
        at = checkpoint_at(lines)
        rows = [line for line in lines if not line.startswith('{"_')]
        edited = [*rows[1:], lines[at], rows[0], lines[-1]]  # no seal lines before it
        assert f"line {len(rows) + 1}: an entry after the seal or checkpoint lines" in details(
            check(edited), EXPORT_INVALID
        )


def trailer_ref(lines: list[str]) -> CheckpointRef:
    named = trailer_of(lines)["_export"]["checkpoint"]
    return CheckpointRef(named["sequence"], named["hash"])


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


_MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "not an object": (lambda d: d.update(_checkpoint=[]), "holds one object under _checkpoint"),
    "an extra key beside it": (lambda d: d.update(more=1), "holds one object under _checkpoint"),
    "another format": (_set(("_checkpoint", "checkpoint"), 2), "the checkpoint cannot be read"),
    "format true": (_set(("_checkpoint", "checkpoint"), True), "not in its canonical form"),
    "sequence 0": (_set(("_checkpoint", "sequence"), 0), "the checkpoint cannot be read"),
    "sequence a string": (_set(("_checkpoint", "sequence"), "1"), "the checkpoint cannot be read"),
    "naive time": (
        _set(("_checkpoint", "sealed_through"), "2026-01-15T12:04:00"), "cannot be read"
    ),
    "Z time": (
        _set(("_checkpoint", "sealed_through"), "2026-01-15T12:04:00.000Z"), "canonical form"
    ),
    "not a time": (_set(("_checkpoint", "issued_at"), "soon"), "the checkpoint cannot be read"),
    "short sealed row": (_set(("_checkpoint", "sealed"), [["acme"]]), "cannot be read"),
    "sealed not a list": (_set(("_checkpoint", "sealed"), 7), "the checkpoint cannot be read"),
    "no signature": (lambda d: d["_checkpoint"].pop("signature"), "cannot be read"),
    "an unknown key": (_set(("_checkpoint", "note"), "hi"), "not in its canonical form"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(_MALFORMED))
def test_a_malformed_checkpoint_line_names_its_line(lines: list[str], case: str) -> None:
    edit, why = _MALFORMED[case]
    at = checkpoint_at(lines)
    document = json.loads(lines[at])
    edit(document)
    report = check([*lines[:at], json.dumps(document), *lines[at + 1 :]])
    assert [d for d in details(report, MALFORMED) if d.startswith(f"line {at + 1}:")], (
        report.problems
    )
    assert any(why in d for d in details(report, MALFORMED)), details(report, MALFORMED)
    assert not report.ok


@pytest.mark.parametrize(
    "named",
    [{"sequence": True, "hash": "00"}, {"sequence": 1, "hash": 7}, {"sequence": 1}, [1, "00"],
     {"sequence": 1, "hash": "00", "more": 1}],
)  # fmt: skip
def test_a_trailer_naming_a_checkpoint_oddly_is_malformed(lines: list[str], named: Any) -> None:
    trailer = trailer_of(lines)
    trailer["_export"]["checkpoint"] = named
    report = check([*lines[:-1], json.dumps(trailer)])
    assert details(report, MALFORMED) == [f"line {len(lines)}: the trailer cannot be read"]


class TestWhatTheCheckpointCloses:
    async def test_a_row_forged_after_the_newest_seal_before_sealed_through_is_injected(
        self, put: Put, seal_at: SealAt, make: Exporter
    ) -> None:
        """Window 5 is empty and after the file's newest seal (window 4): only the
        checkpoint (sealed through window 6) shows it closed."""
        await populate(put, seal_at)
        await seal_at(closes(5))
        forged = put(in_window(5), email="mallory@example.com")

        report = check(await make.lines())

        assert kinds(report) == [(INJECTED, forged.id)]
        assert report.problems[0].window == window(5)

    async def test_a_row_forged_where_the_file_carries_no_seal_is_injected(
        self, put: Put, seal_at: SealAt, make: Exporter
    ) -> None:
        await populate(put, seal_at)
        await seal_at(closes(5))
        forged = put(in_window(5))

        lines = await make.lines(LogFilter(account="acme", since=window(5)))

        assert not any(line.startswith('{"_seal"') for line in lines)
        report = check(lines)
        assert kinds(report) == [(INJECTED, forged.id)]
        assert report.problems[0].window is None  # no seal in the file says the length

    async def test_a_row_at_or_after_sealed_through_waits(
        self, put: Put, seal_at: SealAt, make: Exporter
    ) -> None:
        await populate(put, seal_at)
        await seal_at(closes(5))
        later = put(in_window(6))

        report = check(await make.lines())

        assert report.ok, report.problems
        assert report.unsealed == 1
        assert later.created_at >= window(6)

    async def test_without_the_checkpoint_the_same_forgery_would_wait(
        self, put: Put, seal_at: SealAt, make: Exporter
    ) -> None:
        """What the checkpoint adds: the file's own seals alone do not show window 5 closed
        (an older export, made before exports carried checkpoints, says no more)."""
        await populate(put, seal_at)
        await seal_at(closes(5))
        put(in_window(5))
        lines = await make.lines()

        older = signed_again(without_checkpoint(lines), checkpoint=None, states_checkpoint=False)

        report = check(older)
        assert report.ok, report.problems
        assert report.unsealed == 1


class TestWhatTheCheckpointLists:
    async def test_the_newest_window_cut_with_its_seal_and_entries_is_seal_missing(
        self, put: Put, seal_at: SealAt, make: Exporter, entries: InMemoryAuditEntries,
        seals: InMemorySeals,
    ) -> None:  # fmt: skip
        """No seal left in the file links to window 3's, and no row of it is left: only
        the checkpoint, which lists it, shows it gone."""
        await populate(put, seal_at)
        removed(entries, seals, 3)

        report = check(await make.lines())

        assert [(p.kind, p.window) for p in report.problems] == [(SEAL_MISSING, window(3))]
        assert "checkpoint 1 lists" in report.problems[0].detail

    def test_a_seal_line_removed_from_the_file_is_seal_missing_too(self, lines: list[str]) -> None:
        at = checkpoint_at(lines)
        newest_seal = lines[at - 1]
        assert json.loads(newest_seal)["_seal"]["window_start"] == window(3).isoformat(
            timespec="milliseconds"
        )
        edited = [line for line in lines if line != newest_seal]

        for file in (edited, signed_again(edited)):
            report = check(file)
            assert (SEAL_MISSING, window(3)) in [(p.kind, p.window) for p in report.problems]
            assert not report.ok

    @pytest.mark.parametrize(
        "wanted",
        [
            LogFilter(account="acme", application="acme-web"),
            LogFilter(account="acme", success=True),
            LogFilter(account="acme", since=in_window(3, 1)),
            LogFilter(account="acme", until=in_window(3, 30)),
        ],
        ids=["application", "outcome", "since inside the window", "until inside the window"],
    )
    async def test_an_export_that_need_not_hold_the_window_does_not_call_its_seal_missing(
        self, put: Put, seal_at: SealAt, make: Exporter, entries: InMemoryAuditEntries,
        seals: InMemorySeals, wanted: LogFilter,
    ) -> None:  # fmt: skip
        await populate(put, seal_at)
        removed(entries, seals, 3)
        report = check(await make.lines(wanted))
        assert SEAL_MISSING not in {p.kind for p in report.problems}, report.problems

    async def test_an_export_up_to_the_windows_end_calls_it_missing(
        self, put: Put, seal_at: SealAt, make: Exporter, entries: InMemoryAuditEntries,
        seals: InMemorySeals,
    ) -> None:  # fmt: skip
        await populate(put, seal_at)
        removed(entries, seals, 3)
        report = check(await make.lines(LogFilter(account="acme", until=window(4))))
        assert [(p.kind, p.window) for p in report.problems] == [(SEAL_MISSING, window(3))]

    async def test_a_seal_expired_before_the_export_is_not_missing(
        self, put: Put, seal_at: SealAt, make: Exporter, clock: FakeClock, seals: InMemorySeals,
        entries: InMemoryAuditEntries,
    ) -> None:  # fmt: skip
        """Window 6 kept a day: gone by TTL (seal and entries) a day later, while the
        checkpoint that lists it is kept."""
        await populate(put, seal_at)
        put(in_window(6), retention=timedelta(days=1))
        await seal_at(closes(6))
        clock.set(closes(6) + timedelta(days=2))
        removed(entries, seals, 6)

        report = check(await make.lines())

        assert report.ok, report.problems

    async def test_a_seal_of_another_account_it_lists_is_not_asked_for(
        self, lines: list[str], checkpoints: InMemoryCheckpoints
    ) -> None:
        latest = await checkpoints.latest()
        assert latest is not None
        assert "globex" in {head.account for head in latest.sealed}
        assert check(lines).ok

    async def test_the_newest_seal_resigned_in_the_store_is_not_the_one_listed(
        self, put: Put, seal_at: SealAt, make: Exporter, seals: InMemorySeals,
        seal_keys: HmacSealKeys,
    ) -> None:  # fmt: skip
        """Window 3's seal rewritten with the signing key: no successor in the file links to
        it, so only the checkpoint shows it is not the seal written then."""
        await populate(put, seal_at)
        seal = seals.seals[seal_id("acme", window(3))]
        rewritten = dataclasses.replace(seal, sealed_at=seal.sealed_at + timedelta(seconds=1))
        seals.seals[seal.id] = dataclasses.replace(
            rewritten, signature=seal_keys.sign(rewritten.message())
        )

        report = check(await make.lines())

        assert [(p.kind, p.window) for p in report.problems] == [(SEAL_INVALID, window(3))]
        assert report.problems[0].detail == "the seal is not the one checkpoint 1 lists"


class TestAnOlderExport:
    """Written before exports carried checkpoints: no `_checkpoint` line, and a trailer
    without the key, signed as it is."""

    def test_it_still_verifies_and_says_it_carries_no_checkpoint(self, lines: list[str]) -> None:
        older = signed_again(without_checkpoint(lines), checkpoint=None, states_checkpoint=False)
        assert "checkpoint" not in trailer_of(older)["_export"]

        report = check(older)

        assert report.ok, report.problems
        assert (report.checkpoint, report.carries_checkpoint) == (None, False)
        assert (report.entries, report.verified, report.unsealed) == (6, 5, 1)

    def test_a_checkpoint_line_added_to_it_fails(self, lines: list[str]) -> None:
        older = signed_again(without_checkpoint(lines), checkpoint=None, states_checkpoint=False)
        at = checkpoint_at(lines)
        report = check([*older[:-1], lines[at], older[-1]])
        assert details(report, EXPORT_INVALID) == [
            "the trailer says this export carries no checkpoint"
        ]
