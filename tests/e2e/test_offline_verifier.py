"""auditlog-verify end to end: an NDJSON export, its `_seal` lines and the published keys,
checked offline by the command as a user runs it, after the file was edited or not."""

import asyncio
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

from adapters.http.export_formats import as_row
from adapters.seal_keys import Ed25519SealKeys, new_signing_key
from domain.entry import AuditEntry
from domain.integrity import Seal, entry_digest
from domain.timestamps import at_storage_precision, iso_utc
from entrypoints.app import Overrides, create_app
from tests.e2e.api import OPERATOR_TOKEN, Api
from tests.e2e.conftest import Tenants

# Helpers shared with the online verifier's tests (not the tests themselves).
from tests.e2e.test_integrity import SIGNING_KEY, WINDOW, Trail, sealed_settings, window_start
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
_FIELDS = {"userAgent": "user_agent", "requestId": "request_id", "createdAt": "created_at",
           "expiresAt": "expires_at"}  # fmt: skip
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
    path: Path
    keys: Path

    def write(
        self,
        entries: list[dict[str, Any]] | None = None,
        seals: list[dict[str, Any]] | None = None,
        tail: Sequence[str] = (),
    ) -> Path:
        """The export written again with other entry lines, seals or closing lines."""
        rows = self.entries if entries is None else entries
        lines = [json.dumps(row, ensure_ascii=False) for row in rows]
        for seal in self.seals if seals is None else seals:
            lines.append(json.dumps({"_seal": seal}, ensure_ascii=False))
        lines += tail
        edited = self.path.with_name("edited.ndjson")
        edited.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return edited

    def seal_of(self, entry_id: str) -> dict[str, Any]:
        return next(s for s in self.seals if any(e[0] == entry_id for e in s["entries"]))


async def export(trail: Trail, directory: Path, since: datetime | None = None) -> Exported:
    """Export acme (from `since`) as NDJSON through the API, every exported entry sealed."""
    wanted: dict[str, Any] = {"account": "acme"}
    if since is not None:
        wanted["since"] = since.isoformat()
    result = await trail.api.gql(EXPORT, {"filter": wanted}, token=OPERATOR_TOKEN)
    url = result.data["exportAuditLogs"]["url"]
    # The link request is itself recorded: seal it too (well within the link's 5 minutes).
    await trail.seal(after=WINDOW + timedelta(seconds=121))
    response = await trail.api.http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    path = directory / "audit-logs-acme.ndjson"
    path.write_bytes(response.content)
    keys = directory / "audit-seal-keys.json"
    keys.write_bytes((await trail.api.http.get("/.well-known/audit-seal-keys.json")).content)
    documents = [json.loads(line) for line in response.text.splitlines()]
    return Exported(
        entries=[d for d in documents if "_seal" not in d],
        seals=[d["_seal"] for d in documents if "_seal" in d],
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


async def test_the_export_ends_with_the_seals_of_its_windows(exported: Exported) -> None:
    lines = exported.path.read_text(encoding="utf-8").splitlines()
    documents = [json.loads(line) for line in lines]
    first_seal = next(i for i, d in enumerate(documents) if "_seal" in d)

    assert all("_seal" in d for d in documents[first_seal:])
    assert not any("_seal" in d or "_error" in d for d in documents[:first_seal])
    listed = {e[0] for s in exported.seals for e in s["entries"]}
    assert {e["id"] for e in exported.entries} <= listed
    assert {s["id"] for s in exported.seals} >= {
        "acme/" + iso_utc(window_start(e)) for e in exported.entries
    }
    assert len(exported.seals) >= 4
    assert {s["key_id"] for s in exported.seals} == {Ed25519SealKeys(SIGNING_KEY).key_id}


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


async def test_an_edited_entry_is_reported_modified(exported: Exported) -> None:
    target = next(e for e in exported.entries if e["action"] == "auth.login")
    edited = [{**e, "reason": "all good"} if e is target else e for e in exported.entries]

    run = await verify(exported.write(edited), "--keys", str(exported.keys))

    assert run.code == 1
    assert run.lines[-1] == "FAILED"
    problems = [line for line in run.lines if line.startswith(("MODIFIED", "INJECTED", "SEAL"))]
    assert len(problems) == 1, run.out
    assert problems[0].startswith(f"MODIFIED entry {target['id']} ")


async def test_editing_the_digest_with_the_entry_is_still_modified(exported: Exported) -> None:
    target = exported.entries[0]
    forged = {**target, "success": not target["success"]}
    # The file's digest column is the service's receipt; a forger would rewrite it too.
    forged["digest"] = row_digest(forged)
    edited = [forged if e is target else e for e in exported.entries]

    run = await verify(exported.write(edited), "--keys", str(exported.keys))

    assert run.code == 1
    assert f"MODIFIED entry {target['id']} " in run.out


def row_digest(row: dict[str, Any]) -> str:
    """What the service would have given as the digest of an entry line's fields."""
    return entry_digest({_FIELDS.get(k, k): v for k, v in row.items() if k != "digest"})


async def test_without_a_seal_line_its_entries_are_not_sealed_yet(exported: Exported) -> None:
    target = exported.entries[0]
    removed = exported.seal_of(target["id"])
    in_it = [e for e in exported.entries if any(e["id"] == s[0] for s in removed["entries"])]
    path = exported.write(seals=[s for s in exported.seals if s is not removed])

    run = await verify(path, "--keys", str(exported.keys))
    required = await verify(path, "--keys", str(exported.keys), "--require-sealed")

    count = len(exported.entries)
    assert (run.code, run.lines[-1]) == (0, "OK"), run
    assert run.lines[0] == (
        f"{count} entries, {count - len(in_it)} verified against {len(exported.seals) - 1} "
        f"seals, {len(in_it)} not sealed yet"
    )
    assert (required.code, required.lines[-1]) == (1, "FAILED")


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

    run = await verify(exported.write(seals=seals), "--keys", str(exported.keys))

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

    run = await verify(exported.write(seals=seals), "--keys", str(exported.keys))

    assert run.code == 1
    assert any(line.startswith("SEAL_INVALID") for line in run.lines), run.out


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

    run = await verify(exported.write([*exported.entries, forged]), "--keys", str(exported.keys))

    assert run.code == 1
    assert any(line.startswith(f"INJECTED entry {forged['id']} ") for line in run.lines), run.out


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

    run = await verify(exported.write([*exported.entries, forged]), "--keys", str(exported.keys))

    assert run.code == 1
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

    assert no_keys.code == 2
    assert "--keys" in no_keys.err
    assert no_file.code == 2
    assert unreadable_keys.code == 2
    assert no_keys.out == no_file.out == unreadable_keys.out == ""


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
