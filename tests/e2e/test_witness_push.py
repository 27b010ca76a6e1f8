"""The service pushes its checkpoints to a witness: both real processes on loopback. The
witness ends up holding the service's latest checkpoint, signed by its seal key, and the
head of the account that recorded, countersigned."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.outbound.data_dir import DATABASE_FILE
from adapters.outbound.seal_keys import Ed25519SealKeys
from domain.checkpoint import Checkpoint
from tests.e2e.test_server_process import RECORD, SEAL_KEY, SET_UP, TOKEN, graphql, serving
from tests.e2e.test_witness_process import witness

pytestmark = pytest.mark.slow
SERVICE_KEYS = Ed25519SealKeys(SEAL_KEY)


def eventually(url: str, deadline: float = 30.0) -> dict[str, Any]:
    """The witness's answer at `url` once it is not 404."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        answer = httpx.get(url)
        if answer.status_code != 404:
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body
        time.sleep(0.2)
    pytest.fail(f"nothing at {url} after {deadline} s")


def cut_newest_window(data: Path, head: dict[str, Any]) -> None:
    """What a database administrator does: the newest window of acme removed whole, its seal,
    its entries and every checkpoint from the one that listed it on, triggers dropped first."""
    conn = sqlite3.connect(data / DATABASE_FILE, isolation_level=None)
    try:
        for table in ("entries", "seals", "checkpoints", "checkpoint_seals"):
            conn.execute(f"DROP TRIGGER {table}_no_early_delete")
        start = conn.execute(
            "SELECT window_start, window_end FROM seals WHERE id = ?", (head["seal_id"],)
        ).fetchone()
        conn.execute("DELETE FROM seals WHERE id = ?", (head["seal_id"],))
        conn.execute(
            "DELETE FROM entries WHERE account = 'acme' AND created_at >= ? AND created_at < ?",
            start,
        )
        conn.execute("DELETE FROM checkpoints WHERE sequence >= ?", (head["sequence"],))
        conn.execute("DELETE FROM checkpoint_seals WHERE sequence >= ?", (head["sequence"],))
    finally:
        conn.close()


@contextmanager
def pushing(tmp_path: Path) -> Iterator[tuple[str, str, list[str]]]:
    """A witness, and a server sealing each second and pushing to it, on which acme has
    recorded: yields the server's URL, the witness's, and the witness's output."""
    public = SERVICE_KEYS.public_keys[0].jwk()["x"]
    with (
        witness(tmp_path / "witness", public) as (witness_url, witness_log),
        serving(
            data_dir=str(tmp_path / "service"),
            operator_token=TOKEN,
            seal_signing_key=SEAL_KEY,
            seal_window_seconds="1",
            seal_grace_seconds="1",
            seal_interval_seconds="0.3",
            witness_urls=witness_url,
        ) as (url, _),
    ):
        for mutation in SET_UP:
            graphql(url, TOKEN, mutation)
        graphql(url, TOKEN, RECORD)
        yield url, witness_url, witness_log


def test_the_service_pushes_its_checkpoints_to_a_witness(tmp_path: Path) -> None:
    with pushing(tmp_path) as (_, witness_url, witness_log):
        head = eventually(f"{witness_url}/heads/acme")
        latest = eventually(f"{witness_url}/checkpoints/latest")

    checkpoint = Checkpoint.from_document(latest["checkpoint"])
    assert SERVICE_KEYS.verify(checkpoint.key_id, checkpoint.message(), checkpoint.signature)
    assert head["account"] == "acme"
    assert head["sequence"] <= checkpoint.sequence
    assert not any('"warning"' in line for line in witness_log), witness_log


def test_the_newest_window_cut_with_its_checkpoints_is_reported_against_the_witness(
    tmp_path: Path,
) -> None:
    data = tmp_path / "service"
    with pushing(tmp_path) as (url, witness_url, _):
        head = eventually(f"{witness_url}/heads/acme")
        query = '{ verifyAuditLogs(account: "acme") { ok problems { kind } } }'
        assert graphql(url, TOKEN, query)["verifyAuditLogs"]["ok"] is True

        cut_newest_window(data, head)

        report = graphql(url, TOKEN, query)["verifyAuditLogs"]

    kinds = {problem["kind"] for problem in report["problems"]}
    assert report["ok"] is False
    assert {"SEAL_MISSING", "CHECKPOINT_INVALID"} <= kinds, report
