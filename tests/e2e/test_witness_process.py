"""`auditlog-witness` as a customer runs it: a real process on a loopback port, fed by the
service's own HTTP client, stopped and started again on its directory; it answers a resend
as before, and refuses a fork and a rewind without moving its latest."""

import asyncio
import base64
import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters.outbound.witness_client import HttpWitness, witness_http_client
from application.integrity.witnessing import PushToWitnesses
from domain.integrity import canonical
from tests.contracts.checkpoints import chain, head
from tests.contracts.seals import KEYS
from tests.e2e.test_server_process import free_port, started
from tests.fakes import InMemoryCheckpoints

WITNESS = [sys.executable, "-m", "entrypoints.witness"]
SERVICE_KEY = KEYS.public_keys[0].jwk()["x"]
CHAIN = chain(*[(head("acme", window),) for window in range(4)])
# Shares 1 and 2 with CHAIN, then goes another way.
OTHER = chain(*[(head("acme", window),) for window in range(2)], (head("globex", 2),), ())

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def witness(data: Path, *service_keys: str) -> Iterator[tuple[str, list[str]]]:
    """A witness process on `data`; yields its URL and its output (all of it once stopped)."""
    port = free_port()
    # `=`: a base64url key may start with "-".
    keys = [f"--service-key={key}" for key in service_keys or (SERVICE_KEY,)]
    process = subprocess.Popen(
        [*WITNESS, "--data", str(data), "--port", str(port), *keys],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        started(process, lines, "the witness")
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        lines.extend(process.stdout.read().splitlines(keepends=True))


def public_key(lines: list[str]) -> Ed25519PublicKey:
    [printed] = [line for line in lines if line.startswith("witness public key")]
    x = printed.rsplit(" ", 1)[1].strip()
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


def verify(key: Ed25519PublicKey, answer: dict[str, Any], *fields: str) -> None:
    """Raises unless `cosignature` signs `fields` of the answer, as canonical JSON."""
    signature = answer["cosignature"]
    statement = canonical({name: answer[name] for name in fields})
    key.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), statement)


RECEIPT = ("checkpoint_hash", "sequence", "witnessed_at")


def post(url: str, document: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/checkpoints", json=document, timeout=10)


def push(url: str, *checkpoints: Any) -> int:
    """Push `checkpoints` to the witness as the service does; how many it accepted."""

    async def run() -> int:
        store = InMemoryCheckpoints()
        for checkpoint in checkpoints:
            await store.add(checkpoint)
        async with witness_http_client() as client:
            pushing = PushToWitnesses(checkpoints=store, witnesses=[HttpWitness(url, client)])
            return await pushing.run_once()

    return asyncio.run(run())


def test_a_witness_keeps_its_chain_across_a_restart_and_refuses_a_fork_and_a_rewind(
    tmp_path: Path,
) -> None:
    data = tmp_path / "witness"
    with witness(data) as (url, lines):
        key = public_key(lines)
        assert push(url, *CHAIN[:3]) == 3
        first = post(url, CHAIN[2].document())
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "witness-key").stat().st_mode) == 0o600
    assert first.status_code == 200
    verify(key, first.json(), *RECEIPT)

    with witness(data) as (url, lines):
        assert not any(line.startswith("witness public key") for line in lines), "once"
        again = post(url, CHAIN[2].document())
        assert push(url, *CHAIN[:3]) == 0, "nothing it lacks"
        fork = post(url, OTHER[2].document())
        rewind = post(url, OTHER[3].document())
        latest = httpx.get(f"{url}/checkpoints/latest").json()
        head_answer = httpx.get(f"{url}/heads/acme").json()
        assert push(url, *CHAIN) == 1, "the true chain goes on"
    assert again.status_code == 200
    assert again.json() == {**first.json(), "trust_on_first_use": False}
    assert (fork.status_code, fork.json()["error"]) == (409, "FORK")
    assert (rewind.status_code, rewind.json()["error"]) == (409, "REWIND")
    assert latest["checkpoint"] == CHAIN[2].document()
    verify(key, latest, *RECEIPT)
    assert head_answer["seal_id"] == head("acme", 2).seal_id
    verify(key, head_answer, *(k for k in head_answer if k not in ("witness_key", "cosignature")))
    warnings = [json.loads(line) for line in lines if '"warning"' in line]
    assert [w["event"].split(": ")[0] for w in warnings] == [
        f"refused checkpoint 3 (hash {OTHER[2].hash()[:16]}...), signed by the service, as FORK",
        f"refused checkpoint 4 (hash {OTHER[3].hash()[:16]}...), signed by the service, as REWIND",
    ]
    assert "Traceback" not in "".join(lines)


def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    other_service = chain((head("acme", 0),))[0]
    stranger = "-" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")[1:]

    with witness(tmp_path / "witness", stranger) as (url, _):
        answer = post(url, other_service.document())
        latest = httpx.get(f"{url}/checkpoints/latest")

    assert (answer.status_code, answer.json()["error"]) == (400, "BAD_SIGNATURE")
    assert latest.status_code == 404


def test_a_second_witness_on_the_same_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "witness"
    with witness(data):
        second = subprocess.run(
            [*WITNESS, "--data", str(data), f"--service-key={SERVICE_KEY}", "--port", "1"],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert second.returncode == 2
    assert "in use by another auditlog-witness" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout
