"""auditlog-verify end to end on an export's `_checkpoint` line: the latest checkpoint when
the download began, named by the signed trailer. Edited, stripped or swapped it fails; its
`sealed_through` closes the windows behind it, and a seal it lists that the file lacks is
SEAL_MISSING; an export made before exports carried checkpoints still verifies."""

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.outbound.seal_keys import Ed25519SealKeys
from domain.checkpoint import Checkpoint
from domain.export_trailer import ExportTrailer
from tests.e2e import test_offline_verifier as verifier
from tests.e2e.test_integrity import SIGNING_KEY, WINDOW, Trail, window_start
from tests.e2e.test_offline_verifier import (
    Exported,
    export,
    failed,
    forged_row,
    inserted,
    problems,
    verify,
)

# The export verifier's fixtures (not its tests): the app sealing with a known key, the
# trail, and acme's entries over three windows, sealed and exported.
app, trail, exported = verifier.app, verifier.trail, verifier.exported


def carried(exported: Exported) -> Checkpoint:
    assert exported.checkpoint is not None
    return Checkpoint.from_document(exported.checkpoint)


def checkpoint_line_number(exported: Exported) -> int:
    return len(exported.entries) + len(exported.seals) + 1


async def test_a_genuine_export_verifies_and_says_how_far_its_checkpoint_sealed(
    exported: Exported,
) -> None:
    checkpoint = carried(exported)
    assert exported.trailer["_export"]["checkpoint"] == {
        "sequence": checkpoint.sequence,
        "hash": checkpoint.hash(),
    }

    run = await verify(exported.path, "--keys", str(exported.keys), "--require-sealed")

    assert (run.code, run.lines[-1]) == (0, "OK"), run
    assert run.lines[1] == (
        f"checkpoint {checkpoint.sequence}: sealed through {checkpoint.sealed_through.isoformat()}"
    )


async def test_an_edited_checkpoint_fails(exported: Exported) -> None:
    assert exported.checkpoint is not None
    edited = {**exported.checkpoint, "sealed_through": "2030-01-01T00:00:00.000+00:00"}

    run = await verify(exported.write(checkpoint=edited), "--keys", str(exported.keys))

    assert failed(run), run
    number = checkpoint_line_number(exported)
    assert sorted(problems(run)) == [
        f"CHECKPOINT_INVALID: line {number}: the checkpoint's signature does not verify",
        "EXPORT_INVALID: the checkpoint is not the one the export was made with",
    ], run.out


async def test_a_stripped_checkpoint_fails(exported: Exported) -> None:
    run = await verify(exported.write(checkpoint=None), "--keys", str(exported.keys))

    assert failed(run), run
    assert problems(run) == ["EXPORT_INVALID: the checkpoint the trailer names is not in the file"]


async def test_a_checkpoint_swapped_for_an_older_genuine_one_fails(
    exported: Exported, trail: Trail, tmp_path: Path
) -> None:
    await trail.record(1)
    await trail.seal()
    later = await export(trail, tmp_path, name="later.ndjson")
    assert carried(later).sequence > carried(exported).sequence

    run = await verify(later.write(checkpoint=exported.checkpoint), "--keys", str(later.keys))

    assert failed(run), run
    assert problems(run) == [
        "EXPORT_INVALID: the checkpoint is not the one the export was made with"
    ], run.out


async def test_a_row_forged_after_the_files_newest_seal_before_sealed_through_is_injected(
    exported: Exported, trail: Trail, tmp_path: Path
) -> None:
    """In an export of one application, the newest seal is that of its newest row: the
    empty windows after it are closed only by the checkpoint."""
    portal = await export(trail, tmp_path, application="portal", name="portal.ndjson")
    newest = max(datetime.fromisoformat(s["window_start"]) for s in portal.seals)
    forged = forged_row(newest + 2 * WINDOW + timedelta(seconds=1))
    assert datetime.fromisoformat(forged["createdAt"]) < carried(portal).sealed_through
    assert not any(window_start(e) == window_start(forged) for e in exported.entries)

    path = portal.signed_again(inserted(portal.entries, forged))
    run = await verify(path, "--keys", str(portal.keys))

    assert failed(run), run
    assert [line.split(": ")[0] for line in problems(run)] == [
        f"INJECTED entry {forged['id']} window {window_start(forged).isoformat()}"
    ], run.out


def newest_listed(exported: Exported) -> dict[str, Any]:
    """The newest seal in the file that the carried checkpoint lists."""
    listed = {head.seal_id for head in carried(exported).sealed}
    return max((s for s in exported.seals if s["id"] in listed), key=lambda s: s["window_start"])


async def test_the_newest_window_cut_with_its_seal_is_seal_missing(exported: Exported) -> None:
    """As the service exports a store whose newest window was cut whole (its seal and
    entries): the file is consistent, and only the checkpoint shows what is gone."""
    cut = newest_listed(exported)
    rows = [e for e in exported.entries if e["id"] not in {e[0] for e in cut["entries"]}]
    seals = [s for s in exported.seals if s is not cut]

    run = await verify(exported.signed_again(rows, seals), "--keys", str(exported.keys))

    assert failed(run), run
    start = datetime.fromisoformat(cut["window_start"]).isoformat()
    sequence = carried(exported).sequence
    assert problems(run) == [
        f"SEAL_MISSING window {start}: a seal checkpoint {sequence} lists, live at export time, "
        "is not in the file: it was removed, or its window's entries with it"
    ], run.out


async def test_a_seal_line_removed_that_the_checkpoint_lists_is_reported(
    exported: Exported,
) -> None:
    cut = newest_listed(exported)

    run = await verify(
        exported.write(seals=[s for s in exported.seals if s is not cut]),
        "--keys",
        str(exported.keys),
    )

    assert failed(run), run
    start = datetime.fromisoformat(cut["window_start"]).isoformat()
    assert any(line.startswith(f"SEAL_MISSING window {start}: ") for line in run.lines), run.out


async def test_an_export_made_before_exports_carried_checkpoints_still_verifies(
    exported: Exported,
) -> None:
    """No `_checkpoint` line, and a trailer without the key, signed as such."""
    trailer = ExportTrailer.from_body(
        exported.trailer["_export"], signature=exported.trailer["signature"]
    )
    older = dataclasses.replace(trailer, checkpoint=None, states_checkpoint=False)
    signer = Ed25519SealKeys(SIGNING_KEY)
    signed = older.signed(signer.key_id, signer.sign)
    assert "checkpoint" not in signed.body()
    line = json.dumps({"_export": signed.body(), "signature": signed.signature})

    run = await verify(exported.write(checkpoint=None, tail=[line]), "--keys", str(exported.keys))

    assert (run.code, run.lines[-1]) == (0, "OK"), run
    assert any(line.startswith("NO CHECKPOINT: ") for line in run.lines), run.out
