"""auditlog-verify end to end: an NDJSON export (its rows, `_seal` lines and signed `_export`
trailer) and the published keys, checked offline by the command as a user runs it, after the
file was edited or not. Every edit must fail (exit 1, never a traceback); exit 2 is only for
bad usage."""

import asyncio
import dataclasses
import json
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from bson import ObjectId
from fastapi import FastAPI

from adapters.inbound.http.export_formats import as_row
from adapters.outbound.seal_keys import Ed25519SealKeys, PublishedSealKeys, new_signing_key
from application.exporting.lines import ROW_KEYS
from domain.entry import AuditEntry, entry_digest
from domain.export_trailer import Digests, ExportTrailer, SealsSummary
from domain.integrity import Seal
from domain.timestamps import at_storage_precision, iso_utc
from entrypoints.app import Overrides, create_app
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants

# Helpers shared with the online verifier's tests (not the tests themselves).
from tests.e2e.test_integrity import SIGNING_KEY, WINDOW, Trail, sealed_settings, window_start
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
_FIELDS = {key: name for name, key in ROW_KEYS.items()}
"""An export line's key -> the entry field it holds (a forger reads the format the same way)."""
EXPORT = """query($filter: AuditLogFilter) {
  exportAuditLogs(filter: $filter, format: NDJSON) { url }
}"""


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[FastAPI]:
    """Replaces the suite's app: seals with a known key, and only when a test says so."""
    application = create_app(sealed_settings(), Overrides(clock=clock))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def trail(app: FastAPI, api: Api, clock: FakeClock, tenants: Tenants) -> Trail:
    return Trail(app, api, clock, tenants)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


async def verify(export: Path, *args: str) -> Run:
    """`python -m entrypoints.verify_export EXPORT ARGS...`, as a user runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "entrypoints.verify_export", str(export), *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@dataclass
class Exported:
    entries: list[dict[str, Any]]
    """The entry lines, in file order."""
    seals: list[dict[str, Any]]
    """The `_seal` documents, in file order."""
    checkpoint: dict[str, Any] | None
    """The `_checkpoint` document."""
    trailer: dict[str, Any]
    """The last line: `{"_export": ..., "signature": ...}`."""
    path: Path
    keys: Path

    def write(
        self,
        entries: list[dict[str, Any]] | None = None,
        seals: list[dict[str, Any]] | None = None,
        tail: Sequence[str] | None = None,
        name: str = "edited.ndjson",
        checkpoint: dict[str, Any] | str | None = "its own",
    ) -> Path:
        """The export written again with other entry lines, seals, checkpoint (None: none)
        or closing lines (by default its own trailer)."""
        rows = self.entries if entries is None else entries
        lines = [json.dumps(row, ensure_ascii=False) for row in rows]
        for seal in self.seals if seals is None else seals:
            lines.append(json.dumps({"_seal": seal}, ensure_ascii=False))
        carried = self.checkpoint if checkpoint == "its own" else checkpoint
        if isinstance(carried, dict):
            lines.append(json.dumps({"_checkpoint": carried}))
        lines += [json.dumps(self.trailer)] if tail is None else tail
        edited = self.path.with_name(name)
        edited.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return edited

    def signed_again(
        self, entries: list[dict[str, Any]] | None = None, seals: list[dict[str, Any]] | None = None
    ) -> Path:
        """Written again with a trailer over the new lines signed with the service's key: what
        the service itself would have written over a store tampered with that way."""
        rows = self.entries if entries is None else entries
        seal_lines = self.seals if seals is None else seals
        trailer = ExportTrailer.from_body(self.trailer["_export"], signature="")
        row_digests, seal_hashes = Digests(), Digests()
        for row in rows:
            row_digests.add(row["digest"])
        for seal in seal_lines:
            body = {k: v for k, v in seal.items() if k not in ("id", "key_id", "signature")}
            seal_hashes.add(
                Seal.from_body(body, key_id=seal["key_id"], signature=seal["signature"]).hash()
            )
        moments = [datetime.fromisoformat(row["createdAt"]) for row in rows]
        rebuilt = dataclasses.replace(
            trailer,
            count=len(rows),
            rows_digest=row_digests.hexdigest(),
            oldest=min(moments, default=None),
            newest=max(moments, default=None),
            seals=SealsSummary(len(seal_lines), seal_hashes.hexdigest()),
        )
        signer = Ed25519SealKeys(SIGNING_KEY)
        signed = rebuilt.signed(signer.key_id, signer.sign)
        line = json.dumps({"_export": signed.body(), "signature": signed.signature})
        return self.write(rows, seal_lines, [line])

    @property
    def checkpoint_sequence(self) -> int:
        assert self.checkpoint is not None
        sequence: int = self.checkpoint["sequence"]
        return sequence

    def seal_of(self, entry_id: str) -> dict[str, Any]:
        return next(s for s in self.seals if any(e[0] == entry_id for e in s["entries"]))


async def export(
    trail: Trail,
    directory: Path,
    since: datetime | None = None,
    token: str = OPERATOR_TOKEN,
    name: str = "audit-logs-acme.ndjson",
    **wanted: Any,
) -> Exported:
    """Export acme (from `since`) as NDJSON through the API, every exported entry sealed."""
    if token == OPERATOR_TOKEN:
        wanted["account"] = "acme"
    if since is not None:
        wanted["since"] = since.isoformat()
    result = await trail.api.gql(EXPORT, {"filter": wanted}, token=token)
    url = result.data["exportAuditLogs"]["url"]
    # The link request is itself recorded: seal it too (well within the link's 5 minutes).
    await trail.seal(after=WINDOW + timedelta(seconds=121))
    response = await trail.api.http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    path = directory / name
    path.write_bytes(response.content)
    keys = directory / "audit-seal-keys.json"
    keys.write_bytes((await trail.api.http.get("/.well-known/audit-seal-keys.json")).content)
    *documents, trailer = [json.loads(line) for line in response.text.splitlines()]
    assert "_export" in trailer
    return Exported(
        entries=[d for d in documents if "id" in d],
        seals=[d["_seal"] for d in documents if "_seal" in d],
        checkpoint=next((d["_checkpoint"] for d in documents if "_checkpoint" in d), None),
        trailer=trailer,
        path=path,
        keys=keys,
    )


@pytest.fixture
async def exported(trail: Trail, tmp_path: Path) -> Exported:
    """acme's entries over three windows, one of them empty, all sealed, then exported."""
    await trail.record(2, reason="mot de passe erroné ✗", success=False, userAgent="Mozilla/5.0")
    trail.clock.advance(seconds=2 * WINDOW.total_seconds())
    await trail.record(3, email=None, ip="2001:db8::1", requestId="req-7")
    trail.clock.advance(seconds=WINDOW.total_seconds())
    await trail.record(1, application="admin", action="user.deleted")
    await trail.seal()
    return await export(trail, tmp_path)


async def test_the_export_ends_with_the_seals_of_its_windows_its_checkpoint_then_its_trailer(
    exported: Exported,
) -> None:
    lines = exported.path.read_text(encoding="utf-8").splitlines()
    *documents, checkpoint, last = [json.loads(line) for line in lines]
    assert set(checkpoint) == {"_checkpoint"}
    first_seal = next(i for i, d in enumerate(documents) if "_seal" in d)

    assert all("_seal" in d for d in documents[first_seal:])
    assert not any({"_seal", "_error", "_export"} & d.keys() for d in documents[:first_seal])
    listed = {e[0] for s in exported.seals for e in s["entries"]}
    assert {e["id"] for e in exported.entries} <= listed
    assert {s["id"] for s in exported.seals} >= {
        "acme/" + iso_utc(window_start(e)) for e in exported.entries
    }
    assert len(exported.seals) >= 4
    assert {s["key_id"] for s in exported.seals} == {Ed25519SealKeys(SIGNING_KEY).key_id}
    assert set(last) == {"_export", "signature"}
    body = last["_export"]
    assert body["key_id"] == Ed25519SealKeys(SIGNING_KEY).key_id
    assert (body["count"], body["seals"]["count"]) == (len(exported.entries), len(exported.seals))
    assert body["filter"]["account"] == "acme"


async def test_the_trailer_verifies_with_the_published_keys(exported: Exported) -> None:
    keys = PublishedSealKeys(json.loads(exported.keys.read_text()))
    trailer = ExportTrailer.from_body(
        exported.trailer["_export"], signature=exported.trailer["signature"]
    )
    assert keys.verify(trailer.key_id, trailer.message(), trailer.signature)


async def test_an_export_of_a_time_range_carries_the_seals_of_its_windows_only(
    trail: Trail, tmp_path: Path
) -> None:
    await trail.record(2)
    trail.clock.advance(seconds=3 * WINDOW.total_seconds())
    since = at_storage_precision(trail.clock.now())  # the entries' own precision
    await trail.record(2)
    await trail.seal()

    exported = await export(trail, tmp_path, since=since)

    assert exported.entries
    assert all(datetime.fromisoformat(e["createdAt"]) >= since for e in exported.entries)
    assert {s["id"] for s in exported.seals} == {
        "acme/" + iso_utc(window_start(e)) for e in exported.entries
    }
    run = await verify(exported.path, "--keys", str(exported.keys), "--require-sealed")
    assert (run.code, run.lines[-1]) == (0, "OK"), run


async def test_an_untouched_export_verifies(exported: Exported) -> None:
    run = await verify(exported.path, "--keys", str(exported.keys))
    required = await verify(exported.path, "--keys", str(exported.keys), "--require-sealed")

    count = len(exported.entries)
    assert (run.code, run.lines[-1]) == (0, "OK"), run
    assert run.lines[0] == (
        f"{count} entries, {count} verified against {len(exported.seals)} seals, 0 not sealed yet"
    )
    assert (required.code, required.lines[-1]) == (0, "OK")


def problems(run: Run) -> list[str]:
    kinds = ("MODIFIED", "INJECTED", "MISSING", "SEAL", "CHECKPOINT", "EXPORT_INVALID", "MALFORMED")
    return [line for line in run.lines if line.startswith(kinds)]


def failed(run: Run) -> bool:
    """Exit 1, FAILED last, and no traceback."""
    return run.code == 1 and run.lines[-1] == "FAILED" and "Traceback" not in run.err


async def test_an_edited_entry_is_reported_modified(exported: Exported) -> None:
    target = next(e for e in exported.entries if e["action"] == "auth.login")
    edited = [{**e, "reason": "all good"} if e is target else e for e in exported.entries]

    run = await verify(exported.write(edited), "--keys", str(exported.keys))

    assert failed(run), run
    assert len(problems(run)) == 1, run.out
    assert problems(run)[0].startswith(f"MODIFIED entry {target['id']} ")


def row_digest(row: dict[str, Any]) -> str:
    """What the service would have given as the digest of an entry line's fields."""
    return entry_digest({_FIELDS[k]: v for k, v in row.items() if k != "digest"})


async def test_editing_the_digest_with_the_entry_fails_the_trailer_and_the_seal(
    exported: Exported,
) -> None:
    target = exported.entries[0]
    forged = {**target, "success": not target["success"]}
    # The file's digest column is the service's receipt; a forger would rewrite it too.
    forged["digest"] = row_digest(forged)
    edited = [forged if e is target else e for e in exported.entries]

    run = await verify(exported.write(edited), "--keys", str(exported.keys))

    assert failed(run), run
    assert f"MODIFIED entry {target['id']} " in run.out
    assert "EXPORT_INVALID: the entries are not the ones the export was made with" in run.lines


class TestTheAttacks:
    """What an attacker showed `auditlog-verify` passing before exports had trailers."""

    @pytest.mark.parametrize("digests", ["kept", "rewritten"])
    async def test_every_login_flipped_to_success_with_the_seal_lines_removed(
        self, exported: Exported, digests: str
    ) -> None:
        flipped = []
        for entry in exported.entries:
            edited = {**entry, "success": True} if entry["action"] == "auth.login" else entry
            if digests == "rewritten":
                edited = {**edited, "digest": row_digest(edited)}
            flipped.append(edited)
        assert flipped != exported.entries

        run = await verify(exported.write(flipped, seals=[]), "--keys", str(exported.keys))

        assert failed(run), run
        assert "EXPORT_INVALID: the seal lines are not the ones the export was made with" in (
            run.lines
        )

    async def test_rows_deleted(self, exported: Exported) -> None:
        kept = [e for e in exported.entries if e["success"]]
        assert len(kept) < len(exported.entries)

        run = await verify(exported.write(kept), "--keys", str(exported.keys))

        assert failed(run), run
        count = len(exported.entries)
        said = f"EXPORT_INVALID: the file has {len(kept)} entries, its trailer says {count}"
        assert said in run.lines

    async def test_the_newest_windows_rows_changed_with_its_seal_line_removed(
        self, exported: Exported
    ) -> None:
        newest = exported.seal_of(exported.entries[0]["id"])
        in_it = {e[0] for e in newest["entries"]}
        edited = [
            {**e, "email": "nobody@example.com"} if e["id"] in in_it else e
            for e in exported.entries
        ]
        edited = [{**e, "digest": row_digest(e)} for e in edited]
        seals = [s for s in exported.seals if s is not newest]

        run = await verify(exported.write(edited, seals), "--keys", str(exported.keys))

        assert failed(run), run
        assert any(line.startswith("EXPORT_INVALID") for line in run.lines)

    async def test_a_row_duplicated(self, exported: Exported) -> None:
        doubled = [exported.entries[0], *exported.entries]

        run = await verify(exported.write(doubled), "--keys", str(exported.keys))
        resigned = await verify(exported.signed_again(doubled), "--keys", str(exported.keys))

        assert failed(run), run
        assert failed(resigned), resigned
        repeated = f"EXPORT_INVALID entry {exported.entries[0]['id']}: line 2 repeats the entry"
        assert any(line.startswith(repeated) for line in resigned.lines), resigned.out

    @pytest.mark.parametrize("cut", ["half the rows", "before the trailer", "inside the trailer"])
    async def test_an_export_cut_short_without_an_error_line(
        self, exported: Exported, cut: str
    ) -> None:
        data = exported.path.read_bytes()
        if cut == "half the rows":
            short = exported.write(exported.entries[: len(exported.entries) // 2], [], tail=[])
        else:
            end = data.rstrip(b"\n").rfind(b"\n") + 1
            short = exported.path.with_name("short.ndjson")
            short.write_bytes(data[:end] if cut == "before the trailer" else data[: end + 40])

        run = await verify(short, "--keys", str(exported.keys))

        assert failed(run), run
        assert problems(run), run.out

    @pytest.mark.parametrize(
        ("created_at", "why"),
        [
            ("2026-01-15T12:00:10.000", "createdAt has no time zone"),
            ("not a date", "createdAt is not a date"),
            ("", "createdAt is not a date"),
        ],
    )
    async def test_a_row_with_a_bad_created_at_is_exit_1_naming_its_line(
        self, exported: Exported, created_at: str, why: str
    ) -> None:
        edited = [exported.entries[0], {**exported.entries[1], "createdAt": created_at},
                  *exported.entries[2:]]  # fmt: skip

        run = await verify(exported.write(edited), "--keys", str(exported.keys))

        assert failed(run), run
        assert f"MALFORMED: line 2: {why}" in run.lines
        assert run.err == ""


class TestNeighbours:
    async def test_reordered_rows(self, exported: Exported) -> None:
        first, second, *rest = exported.entries
        path = exported.signed_again([second, first, *rest])

        run = await verify(path, "--keys", str(exported.keys))

        assert failed(run), run
        assert "EXPORT_INVALID: line 2 is out of order (newest first)" in run.lines

    async def test_a_seal_line_of_another_export(
        self, exported: Exported, trail: Trail, tmp_path: Path
    ) -> None:
        later = at_storage_precision(datetime.fromisoformat(exported.entries[0]["createdAt"]))
        recent = await export(trail, tmp_path, since=later, name="recent.ndjson")
        foreign = next(s for s in exported.seals if s["id"] not in {r["id"] for r in recent.seals})

        run = await verify(
            recent.write(seals=[foreign, *recent.seals]), "--keys", str(exported.keys)
        )

        assert failed(run), run
        assert "EXPORT_INVALID: the seal lines are not the ones the export was made with" in (
            run.lines
        )

    async def test_a_trailer_of_another_export(
        self, exported: Exported, trail: Trail, tmp_path: Path
    ) -> None:
        other = await export(trail, tmp_path, name="other.ndjson", success=False)
        path = exported.write(tail=[json.dumps(other.trailer)])

        run = await verify(path, "--keys", str(exported.keys))

        assert failed(run), run
        assert any(line.startswith("EXPORT_INVALID: the file has") for line in run.lines)

    async def test_a_trailer_with_a_changed_filter(self, exported: Exported) -> None:
        trailer = json.loads(json.dumps(exported.trailer))
        trailer["_export"]["filter"]["success"] = True

        run = await verify(exported.write(tail=[json.dumps(trailer)]), "--keys", str(exported.keys))

        assert failed(run), run
        assert any("the trailer's signature does not verify" in line for line in run.lines)

    async def test_an_empty_export_verifies(self, trail: Trail, tmp_path: Path) -> None:
        await trail.record(1)
        await trail.seal()
        empty = await export(trail, tmp_path, email="nobody@example.com")
        assert (empty.entries, empty.seals) == ([], [])

        run = await verify(empty.path, "--keys", str(empty.keys), "--require-sealed")

        first, checkpoint, last = run.lines
        assert (run.code, first, last) == (0, "0 entries, 0 verified against 0 seals, "
                                              "0 not sealed yet", "OK")  # fmt: skip
        assert checkpoint.startswith(f"checkpoint {empty.checkpoint_sequence}: sealed through ")

    async def test_a_file_with_only_a_trailer(self, exported: Exported) -> None:
        run = await verify(exported.write([], []), "--keys", str(exported.keys))

        assert failed(run), run
        count = len(exported.entries)
        assert f"EXPORT_INVALID: the file has 0 entries, its trailer says {count}" in run.lines

    async def test_an_empty_file_and_a_line_that_is_not_utf8(self, exported: Exported) -> None:
        empty = exported.path.with_name("empty.ndjson")
        empty.write_bytes(b"")
        binary = exported.path.with_name("binary.ndjson")
        binary.write_bytes(b"\xff\xfe\n" + exported.path.read_bytes())

        runs = [await verify(p, "--keys", str(exported.keys)) for p in (empty, binary)]

        assert all(failed(run) for run in runs), runs
        assert "MALFORMED: line 1 is not UTF-8" in runs[1].lines


@pytest.mark.parametrize("how", ["another key", "its signature altered"])
async def test_a_seal_with_a_bad_signature_is_reported_seal_invalid(
    exported: Exported, how: str
) -> None:
    victim = exported.seal_of(exported.entries[0]["id"])
    if how == "another key":
        body = {k: v for k, v in victim.items() if k not in ("id", "key_id", "signature")}
        seal = Seal.from_body(body, key_id=victim["key_id"], signature="")
        signature = Ed25519SealKeys(new_signing_key()).sign(seal.message())
    else:
        signature = ("A" if victim["signature"][0] != "A" else "B") + victim["signature"][1:]
    seals = [{**s, "signature": signature} if s is victim else s for s in exported.seals]

    # The trailer signed again over the edited seal line: only the seal can show it.
    run = await verify(exported.signed_again(seals=seals), "--keys", str(exported.keys))

    assert run.code == 1
    assert run.lines[-1] == "FAILED"
    start = datetime.fromisoformat(victim["window_start"]).isoformat()
    window = f" window {start}: the signature does not verify"
    assert f"SEAL_INVALID{window}" in run.lines


@pytest.mark.parametrize("what", ["merkle_root", "count", "an entry's digest"])
async def test_an_altered_seal_line_is_reported_seal_invalid(exported: Exported, what: str) -> None:
    victim = exported.seal_of(exported.entries[0]["id"])
    if what == "merkle_root":
        altered = {**victim, "merkle_root": "0" * 64}
    elif what == "count":
        altered = {**victim, "count": victim["count"] + 1}
    else:
        first, *rest = victim["entries"]
        altered = {**victim, "entries": [[first[0], first[1], "0" * 64], *rest]}
    seals = [altered if s is victim else s for s in exported.seals]

    run = await verify(exported.signed_again(seals=seals), "--keys", str(exported.keys))

    assert failed(run), run
    # A count that is not the number of entries listed is not a seal the service writes.
    expected = "MALFORMED" if what == "count" else "SEAL_INVALID"
    assert any(line.startswith(expected) for line in run.lines), run.out


async def test_the_keys_must_be_the_services(exported: Exported, tmp_path: Path) -> None:
    others = tmp_path / "other-keys.json"
    others.write_text(json.dumps(Ed25519SealKeys(new_signing_key()).jwks()))

    run = await verify(exported.path, "--keys", str(others))

    assert run.code == 1
    invalid = [line for line in run.lines if line.startswith("SEAL_INVALID")]
    assert len(invalid) == len(exported.seals)


async def test_an_entry_forged_into_a_sealed_window_is_reported_injected(
    exported: Exported,
) -> None:
    sealed = exported.entries[-1]  # the oldest
    forged = forged_row(window_start(sealed) + timedelta(seconds=59))
    rows = inserted(exported.entries, forged)

    run = await verify(exported.write(rows), "--keys", str(exported.keys))
    # As the service would have exported it, had the forgery been written into the store.
    resigned = await verify(exported.signed_again(rows), "--keys", str(exported.keys))

    assert failed(run), run
    assert "EXPORT_INVALID: the entries are not the ones the export was made with" in run.lines
    assert problems(resigned) == [
        line for line in resigned.lines if line.startswith(f"INJECTED entry {forged['id']} ")
    ], resigned.out
    assert problems(resigned)


def inserted(rows: list[dict[str, Any]], row: dict[str, Any]) -> list[dict[str, Any]]:
    """`rows` with `row` in its place, newest first as the service writes them."""
    return sorted(
        [*rows, row], key=lambda r: (datetime.fromisoformat(r["createdAt"]), r["id"]), reverse=True
    )


def forged_row(created_at: datetime) -> dict[str, Any]:
    """An entry line as the service would export it, with a proper digest of its fields."""
    created_at = created_at.replace(microsecond=0)
    entry = AuditEntry(
        id=str(ObjectId()), account="acme", application="portal", action="auth.login",
        success=True, email="mallory@example.com", reason=None, ip=None, user_agent=None,
        request_id=None, created_at=created_at, expires_at=created_at + timedelta(days=90),
    )  # fmt: skip
    return as_row(entry)


async def test_an_entry_forged_between_two_chained_seals_is_reported_injected(
    exported: Exported,
) -> None:
    newer = next(s for s in exported.seals if s["previous"] is not None)
    older = next(s for s in exported.seals if s["id"] == newer["previous"][0])
    assert older["window_end"] < newer["window_start"], "an empty window lies between"
    forged = forged_row(datetime.fromisoformat(older["window_end"]) + timedelta(seconds=1))

    path = exported.signed_again(inserted(exported.entries, forged))
    run = await verify(path, "--keys", str(exported.keys))

    assert failed(run), run
    assert any(line.startswith(f"INJECTED entry {forged['id']} ") for line in run.lines), run.out


async def test_an_export_cut_short_is_incomplete(exported: Exported) -> None:
    # As the service writes it when the store fails midway: no seals, an _error line.
    path = exported.write(seals=[], tail=[json.dumps({"_error": "STORE_UNAVAILABLE"})])

    run = await verify(path, "--keys", str(exported.keys))

    assert run.code == 1
    assert "INCOMPLETE: the export was cut short (STORE_UNAVAILABLE)" in run.lines
    assert run.lines[-1] == "FAILED"


async def test_an_error_line_fails_even_with_every_seal(exported: Exported) -> None:
    path = exported.write(tail=[json.dumps({"_error": "INTERNAL_SERVER_ERROR"})])

    run = await verify(path, "--keys", str(exported.keys))

    assert run.code == 1
    assert any(line.startswith("INCOMPLETE") for line in run.lines)


async def test_bad_usage_exits_2(exported: Exported, tmp_path: Path) -> None:
    no_keys = await verify(exported.path)
    no_file = await verify(tmp_path / "nothing.ndjson", "--keys", str(exported.keys))
    bad_keys = tmp_path / "keys.json"
    bad_keys.write_text("not json")
    unreadable_keys = await verify(exported.path, "--keys", str(bad_keys))
    not_a_set = tmp_path / "list.json"
    not_a_set.write_text('[{"kid": 1}]')
    wrong_shape = await verify(exported.path, "--keys", str(not_a_set))
    no_kid = tmp_path / "no-kid.json"
    no_kid.write_text('{"keys": [{"kty": "OKP", "crv": "Ed25519"}]}')
    missing_kid = await verify(exported.path, "--keys", str(no_kid))

    runs = [no_keys, no_file, unreadable_keys, wrong_shape, missing_kid]
    assert [run.code for run in runs] == [2] * len(runs)
    assert "--keys" in no_keys.err
    assert all(run.out == "" and "Traceback" not in run.err for run in runs), runs


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real socket on the loopback, for a client outside this process."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(serving, timeout=10)


async def test_the_keys_can_be_fetched_from_the_service(exported: Exported, served: str) -> None:
    run = await verify(
        exported.path, "--keys", f"{served}/.well-known/audit-seal-keys.json", "--require-sealed"
    )
    missing = await verify(exported.path, "--keys", f"{served}/.well-known/nothing.json")

    assert (run.code, run.lines[-1]) == (0, "OK"), run
    assert missing.code == 2


async def test_a_key_bound_to_one_application_gets_no_other_applications_ids_or_digests(
    trail: Trail, tmp_path: Path
) -> None:
    _, portal_key = await trail.api.issue_key("acme", ["EXPORT"], "portal")
    portal = await trail.record(3)
    admin = await trail.record(3, application="admin")  # the same account, the same window
    await trail.seal()
    # An export by a key that sees the whole account carries seals listing admin's entries:
    # what a bound key must not be given.
    whole = await export(trail, tmp_path)
    assert {e["id"] for e in admin} <= {e[0] for s in whole.seals for e in s["entries"]}

    bound = await export(trail, tmp_path, token=portal_key, name="portal.ndjson")

    body = bound.path.read_text(encoding="utf-8")
    for entry in admin:
        assert entry["id"] not in body
        assert entry["digest"] not in body
    assert bound.seals == []
    assert {e["id"] for e in portal} <= {e["id"] for e in bound.entries}
    assert {e["application"] for e in bound.entries} == {"portal"}
    assert bound.trailer["_export"]["seals"] is None
    assert (bound.checkpoint, bound.trailer["_export"]["checkpoint"]) == (None, None)
    assert bound.trailer["_export"]["scope"]["application"] == "portal"
    run = await verify(bound.path, "--keys", str(bound.keys))
    required = await verify(bound.path, "--keys", str(bound.keys), "--require-sealed")
    assert (run.code, run.lines[-1]) == (0, "OK"), run
    # Its entries are sealed and proven by receipts (tests/e2e/test_offline_verifier_proofs.py).
    count = len(bound.entries)
    assert run.lines[0] == f"{count} entries, {count} proven by receipts, 0 not sealed yet"
    assert (required.code, required.lines[-1]) == (0, "OK"), required
    # Still checked whole: a deleted row fails.
    assert failed(await verify(bound.write(bound.entries[1:]), "--keys", str(bound.keys)))
    # Nor through verification, its errors or counts.
    _, portal_reader = await trail.api.issue_key("acme", ["READ"], "portal")
    refused = await trail.api.gql("{ verifyAuditLogs { ok entriesVerified } }", token=portal_reader)
    assert refused.code == "FORBIDDEN"
    assert not any(e["id"] in str(refused.body) or e["digest"] in str(refused.body) for e in admin)
