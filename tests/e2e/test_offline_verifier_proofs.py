"""auditlog-verify end to end on an export by a key bound to one application: no seals and no
checkpoint (they list the other applications' entries), but a `_proof` line, a receipt, for
each sealed row, counted and digested by the signed trailer. The file names no id or digest
of another application; a receipt edited, removed, duplicated or added fails, so does a row
edited, and rows not sealed yet are counted, not failed."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_offline_verifier as verifier
from tests.e2e.test_integrity import Trail
from tests.e2e.test_offline_verifier import EXPORT, export, failed, verify

# The export verifier's fixtures (not its tests): the app sealing with a known key, and the trail.
app, trail = verifier.app, verifier.trail


class Bound:
    """A bound key's export as lines, and what it must not name."""

    def __init__(self, path: Path, keys: Path, admin: list[dict[str, Any]]) -> None:
        self.path, self.keys, self.admin = path, keys, admin
        self.lines = path.read_text(encoding="utf-8").splitlines()

    def proofs(self) -> list[int]:
        return [i for i, line in enumerate(self.lines) if line.startswith('{"_proof"')]

    def write(self, lines: list[str]) -> Path:
        edited = self.path.with_name("edited.ndjson")
        edited.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return edited

    async def verify(self, lines: list[str] | None = None) -> verifier.Run:
        path = self.path if lines is None else self.write(lines)
        return await verify(path, "--keys", str(self.keys))


@pytest.fixture
async def bound(trail: Trail, tmp_path: Path) -> Bound:
    """portal's and admin's entries in the same sealed window (and globex's, sealed in the
    same pass), exported by a portal key."""
    _, portal_key = await trail.api.issue_key("acme", ["EXPORT"], "portal")
    await trail.record(3)
    admin = await trail.record(3, application="admin")
    await trail.record(1, token=trail.tenants.globex_rw, application="shop")
    await trail.seal()
    exported = await export(trail, tmp_path, token=portal_key, name="portal.ndjson")
    return Bound(exported.path, exported.keys, admin)


async def test_it_carries_a_proof_per_sealed_row_names_nothing_of_another_application_and_verifies(
    bound: Bound,
) -> None:
    body = bound.path.read_text(encoding="utf-8")
    for entry in bound.admin:
        assert entry["id"] not in body
        assert entry["digest"] not in body
    assert "globex" not in body  # each receipt's checkpoint has acme's heads only
    rows = [json.loads(line) for line in bound.lines if not line.startswith('{"_')]
    proven = [json.loads(bound.lines[i])["_proof"]["entry"]["id"] for i in bound.proofs()]
    assert sorted(proven) == sorted(row["id"] for row in rows)
    assert json.loads(bound.lines[-1])["_export"]["proofs"]["count"] == len(rows)

    run = await bound.verify()
    assert (run.code, run.lines[-1]) == (0, "OK"), run
    assert run.lines[0] == f"{len(rows)} entries, {len(rows)} proven by receipts, 0 not sealed yet"


async def test_a_proof_line_edited_removed_duplicated_or_added_fails(
    bound: Bound, trail: Trail, tmp_path: Path
) -> None:
    lines, at = bound.lines, bound.proofs()[0]
    proof = json.loads(lines[at])
    proof["_proof"]["leaf_index"] ^= 1
    edited = [*lines[:at], json.dumps(proof), *lines[at + 1 :]]
    removed = [*lines[:at], *lines[at + 1 :]]
    duplicated = [*lines[: at + 1], lines[at], *lines[at + 1 :]]
    # A genuine receipt of another export: the same key's, made later over more entries.
    await trail.record(1)
    await trail.seal()
    _, portal_key = await trail.api.issue_key("acme", ["EXPORT"], "portal")
    later = await export(trail, tmp_path, token=portal_key, name="later.ndjson")
    later_lines = later.path.read_text(encoding="utf-8").splitlines()
    own = set(lines)
    foreign = next(line for line in later_lines if line.startswith('{"_proof"') and line not in own)
    added = [*lines[:-1], foreign, lines[-1]]

    for case in (edited, removed, duplicated, added):
        run = await bound.verify(case)
        assert failed(run), run
        assert any("the proof lines are not the ones" in line for line in run.lines), run
    assert any(line.startswith("PROOF_INVALID") for line in (await bound.verify(edited)).lines)


async def test_an_edited_row_fails(bound: Bound) -> None:
    lines = bound.lines
    row = json.loads(lines[0])
    row["email"] = "someone.else@example.com"
    run = await bound.verify([json.dumps(row), *lines[1:]])
    assert failed(run), run
    assert any(line.startswith(f"MODIFIED entry {row['id']}") for line in run.lines), run


async def test_rows_not_sealed_yet_are_counted_not_failed(trail: Trail, tmp_path: Path) -> None:
    _, portal_key = await trail.api.issue_key("acme", ["EXPORT"], "portal")
    await trail.record(2)
    await trail.seal()
    await trail.record(2)  # after the sealing pass: their window is still open
    await trail.api.settle()
    result = await trail.api.gql(EXPORT, {"filter": {}}, token=portal_key)
    response = await trail.api.http.get(result.data["exportAuditLogs"]["url"])
    path, keys = tmp_path / "open.ndjson", tmp_path / "keys.json"
    path.write_bytes(response.content)
    keys.write_bytes((await trail.api.http.get("/.well-known/audit-seal-keys.json")).content)

    run = await verify(path, "--keys", str(keys))
    required = await verify(path, "--keys", str(keys), "--require-sealed")

    assert (run.code, run.lines[-1]) == (0, "OK"), run
    # The service's own events of the portal (the key issued, the link) are exported too.
    rows = [
        json.loads(line) for line in path.read_text().splitlines() if not line.startswith('{"_')
    ]
    proofs = path.read_text().count('{"_proof"')
    assert 0 < proofs <= len(rows) - 2
    counts = (
        f"{len(rows)} entries, {proofs} proven by receipts, {len(rows) - proofs} not sealed yet"
    )
    assert run.lines[0] == counts, run
    assert failed(required), required
