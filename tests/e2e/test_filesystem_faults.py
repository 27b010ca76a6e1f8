"""A real server process whose data directory is on a small tmpfs that fills up: recording
answers STORE_UNAVAILABLE, reading and readiness go on, and once space is freed recording
works again with nothing acknowledged lost. (Why the read-only fault is not here: see the
docstring of tests/adapters/sqlite/test_filesystem_faults.py.)"""

from pathlib import Path
from typing import Any

import httpx

from adapters.error_codes import STORE_UNAVAILABLE
from tests.adapters.sqlite.test_filesystem_faults import full, small_filesystem
from tests.e2e.test_embedded_durability import (
    RECORD_MANY,
    RECORD_ONE,
    TOKEN,
    Server,
    event,
    serving,
    set_up,
    stored,
)


def post(server: Server, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The whole answer, errors included (`Server.gql` fails on any)."""
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def test_a_full_data_directory_answers_store_unavailable_then_recording_works_again(
    tmp_path: Path,
) -> None:
    with small_filesystem(tmp_path / "fs") as mounted, serving(mounted / "data") as server:
        set_up(server)
        server.gql(RECORD_ONE, {"input": event("before")})
        acknowledged = sorted(n["id"] for n in stored(server))  # with the set-up's self-audit

        with full(mounted):
            long = [{**event(f"refused-{i}"), "reason": "x" * 500} for i in range(200)]
            batch = post(server, RECORD_MANY, {"inputs": long})
            single = post(server, RECORD_ONE, {"input": {**event("alone"), "reason": "x" * 500}})
            assert codes(batch) == [STORE_UNAVAILABLE], batch
            assert codes(single) == [STORE_UNAVAILABLE], single
            # Reads need no space: the store answers them, so it is ready (for reading).
            assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
            assert sorted(n["id"] for n in stored(server)) == acknowledged

        after = server.gql(RECORD_ONE, {"input": event("after")})["recordAuditEvent"]["id"]
        assert sorted(n["id"] for n in stored(server)) == sorted([*acknowledged, after])
        assert "Traceback" not in "".join(server.lines)
