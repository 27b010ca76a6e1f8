"""`auditlog-verify --witness` end to end: a real server pushes its checkpoints to a real
witness, an export is downloaded, and the command checks the file against the witness. The
newest window cut from the store whole (its seal, its entries and the checkpoints from the
one that listed it) leaves an export that holds by itself; against the witness it fails."""

import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from tests.e2e.test_server_process import RECORD, SEAL_KEY, SET_UP, TOKEN, free_port, graphql
from tests.e2e.test_server_process import serving as server
from tests.e2e.test_witness_process import witness
from tests.e2e.test_witness_push import cut_newest_window, eventually

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SERVICE = Ed25519SealKeys(SEAL_KEY).public_keys[0].jwk()["x"]
EXPORT = '{ exportAuditLogs(filter: { account: "acme" }, format: NDJSON) { url } }'


def serving(data: Path, **settings: str) -> AbstractContextManager[tuple[str, list[str]]]:
    """The server on `data`, sealing one-second windows a second after they end."""
    defaults = {"seal_window_seconds": "1", "seal_grace_seconds": "1"}
    return server(data_dir=str(data), operator_token=TOKEN, seal_signing_key=SEAL_KEY,
                  seal_interval_seconds="0.3", **{**defaults, **settings})  # fmt: skip


def download(url: str, directory: Path, name: str) -> tuple[Path, Path]:
    """acme's NDJSON export, and the published keys, as files."""
    link = graphql(url, TOKEN, EXPORT)["exportAuditLogs"]["url"]
    response = httpx.get(link if link.startswith("http") else url + link)
    assert response.status_code == 200, response.text
    export, keys = directory / name, directory / "audit-seal-keys.json"
    export.write_bytes(response.content)
    keys.write_bytes(httpx.get(f"{url}/.well-known/audit-seal-keys.json").content)
    return export, keys


def verify(export: Path, keys: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m entrypoints.verify_export EXPORT --keys KEYS ARGS...`, as a user runs it."""
    command = [sys.executable, "-m", "entrypoints.verify_export", str(export), "--keys", str(keys)]
    return subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def witness_key(lines: list[str]) -> str:
    [printed] = [line for line in lines if line.startswith("witness public key")]
    return printed.rsplit(" ", 1)[1].strip()


def test_an_export_of_a_store_cut_back_fails_against_the_witness(tmp_path: Path) -> None:
    data = tmp_path / "service"
    with witness(tmp_path / "witness", SERVICE) as (witness_url, witness_log):
        key = witness_key(witness_log)
        with serving(data, witness_urls=witness_url) as (url, _):
            for mutation in SET_UP:
                graphql(url, TOKEN, mutation)
            graphql(url, TOKEN, RECORD)
            eventually(f"{witness_url}/heads/acme")
            export, keys = download(url, tmp_path, "whole.ndjson")

            whole = verify(export, keys, "--witness", witness_url, "--witness-key", key)
            assert (whole.returncode, whole.stdout.splitlines()[-1]) == (0, "OK"), whole.stdout

            other = Ed25519SealKeys(new_signing_key()).public_keys[0].jwk()["x"]
            forged = verify(export, keys, "--witness", witness_url, "--witness-key", other)
            assert forged.returncode == 1, forged.stdout
            assert "WITNESS_UNAVAILABLE" in forged.stdout
            assert "does not verify with --witness-key" in forged.stdout

            away = verify(export, keys, "--witness", f"http://127.0.0.1:{free_port()}")
            assert away.returncode == 1, away.stdout
            assert "WITNESS_UNAVAILABLE: witness http://127.0.0.1:" in away.stdout

        # Stopped, so nothing is sealed on top of the cut; then served again with a grace
        # long enough that no pass writes a checkpoint before the download.
        head = eventually(f"{witness_url}/heads/acme")
        cut_newest_window(data, head)
        with serving(data, seal_grace_seconds="3600") as (url, _):
            export, keys = download(url, tmp_path, "cut.ndjson")

        alone = verify(export, keys)
        assert (alone.returncode, alone.stdout.splitlines()[-1]) == (0, "OK"), alone.stdout
        cut = verify(export, keys, "--witness", witness_url, "--witness-key", key)

    assert cut.returncode == 1, cut.stdout
    assert "SEAL_MISSING" in cut.stdout
    assert (
        "CHECKPOINT_INVALID: the store was cut back after the witness saw checkpoint " in cut.stdout
    )
    assert cut.stdout.splitlines()[-1] == "FAILED"
