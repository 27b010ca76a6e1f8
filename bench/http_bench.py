"""The service over HTTP against baselines in the same run: ingestion, batches and pages.

The load generator is wrk (Debian's `wrk`, C, one thread, keep-alive connections), on the
same 2-core machine as the server (one uvicorn worker), so each figure is only meaningful
next to its baseline: every pair is measured alternately in the same run and reported as a
ratio. The server is bench/bench_server.py: the real app over stores that cost almost
nothing, with the baseline routes mounted beside it.

    .venv/bin/python -m bench.http_bench [--seconds 5] [--rounds 2]
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.bench_server import KEY

RESULTS = Path(__file__).parent / "results"
LUA = """
local function read(path)
  local f = assert(io.open(path, "r")); local text = f:read("*a"); f:close(); return text
end
wrk.method = os.getenv("BENCH_METHOD")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
if wrk.method == "POST" then
  wrk.body = read(os.getenv("BENCH_BODY"))
  wrk.headers["Content-Type"] = "application/json"
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A benchmark server process (`python -m <module> --port N <flags>`), ready once its
    /healthz answers."""

    def __init__(
        self,
        *flags: str,
        module: str = "bench.bench_server",
        env: dict[str, str] | None = None,
        start_seconds: float = 60,
        request_seconds: float = 120,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._request_seconds = request_seconds
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(self.port), *flags],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bench server {module} {flags} did not start")
            time.sleep(0.2)

    def post(self, path: str, body: Any) -> Any:
        response = httpx.post(
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=self._request_seconds,
        )
        response.raise_for_status()
        data = response.json()
        if isinstance(data, dict) and data.get("errors"):
            raise RuntimeError(f"{path}: {data['errors']}")
        return data

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=60)


class Wrk:
    def __init__(self, seconds: int, connections: int) -> None:
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not installed: sudo apt-get install wrk")
        self._dir = Path(tempfile.mkdtemp(prefix="auditlog-bench-"))
        self._script = self._dir / "request.lua"
        self._script.write_text(LUA)
        self.seconds = seconds
        self.connections = connections

    def run(self, url: str, body: Any = None, connections: int | None = None) -> Load:
        env = {**os.environ, "BENCH_KEY": KEY, "BENCH_METHOD": "GET" if body is None else "POST"}
        if body is not None:
            path = self._dir / "body.json"
            path.write_text(json.dumps(body))
            env["BENCH_BODY"] = str(path)
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections or self.connections}", f"-d{self.seconds}s",
             "--timeout", "60s", "--latency", "-s", str(self._script), url],
            env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"wrk saw failures against {url}:\n{out}")
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        assert rate is not None, out
        return Load(float(rate.group(1)), _latency(out, "50%"), _latency(out, "99%"))


def _latency(out: str, which: str) -> float:
    value, unit = re.search(rf"{which}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def event(i: int) -> dict[str, Any]:
    return {
        "application": "portal", "action": "auth.login", "success": i % 7 != 0,
        "email": f"user{i}@example.com", "ip": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "requestId": f"req-{i}",
    }  # fmt: skip


RECORD = (
    "mutation($input: AuditEventInput!) { recordAuditEvent(input: $input) { id createdAt digest } }"
)
RECORD_MANY = (
    "mutation($inputs: [AuditEventInput!]!) { recordAuditEvents(inputs: $inputs) { recorded } }"
)
PAGE = """query($filter: AuditLogFilter) { auditLogs(first: 100, filter: $filter) {
  edges { cursor node { id action email success reason application account createdAt expiresAt
  ip userAgent requestId digest } } pageInfo { hasNextPage endCursor } } }"""


def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"query": query, "variables": variables}


def paired(
    wrk: Wrk,
    rounds: int,
    subject: tuple[str, Any],
    baseline: tuple[str, Any],
    connections: int | None = None,
) -> dict[str, Any]:
    """Run subject and baseline alternately; medians of each."""
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(wrk.run(*subject, connections=connections))
        theirs.append(wrk.run(*baseline, connections=connections))
    return {"service": _median(ours), "baseline": _median(theirs)}


def _median(loads: list[Load]) -> dict[str, float]:
    return {
        "requests_per_s": statistics.median(load.requests_per_s for load in loads),
        "p50_ms": statistics.median(load.p50_ms for load in loads),
        "p99_ms": statistics.median(load.p99_ms for load in loads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    wrk = Wrk(args.seconds, args.connections)
    results: dict[str, Any] = {
        "load_generator": "wrk 4.1 (1 thread, keep-alive)",
        "connections": args.connections,
        "seconds": args.seconds,
    }

    server = Server("--seed", "10000")
    try:
        url = server.url
        server.post("/graphql", gql(RECORD, {"input": event(0)}))  # both answer cleanly
        server.post("/bare/record", event(0))
        results["single"] = paired(
            wrk, args.rounds, (f"{url}/graphql", gql(RECORD, {"input": event(1)})),
            (f"{url}/bare/record", event(1)),
        )  # fmt: skip
        for size in (100, 1000):
            batch = [event(i) for i in range(size)]
            document = gql(RECORD_MANY, {"inputs": batch})
            server.post("/floor/graphql", document)
            results[f"batch_{size}"] = paired(
                wrk, args.rounds, (f"{url}/graphql", document),
                (f"{url}/bare/record-many", {"inputs": batch}),
            )  # fmt: skip
            results[f"batch_{size}"]["floor"] = paired(
                wrk, args.rounds, (f"{url}/graphql", document), (f"{url}/floor/graphql", document)
            )["baseline"]
            results[f"batch_{size}"]["events_per_request"] = size
    finally:
        server.stop()

    # Pages on a fresh server: the ingestion runs above left hundreds of thousands of entries.
    server = Server("--seed", "10000")
    try:
        url = server.url
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        until = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
        window = f"&since={since}&until={until}".replace("+", "%2B")
        for name, filter_, params in (
            ("page_unfiltered", None, ""),
            ("page_action", {"actions": ["mfa.enrolled"]}, "&action=mfa.enrolled"),
            ("page_time_range", {"since": since, "until": until}, window),
        ):
            document = gql(PAGE, {"filter": filter_})
            results[name] = paired(
                wrk, args.rounds, (f"{url}/graphql", document),
                (f"{url}/bare/logs?first=100{params}", None),
            )  # fmt: skip
            results[name]["floor"] = paired(
                wrk, args.rounds, (f"{url}/graphql", document), (f"{url}/floor/graphql", document)
            )["baseline"]
    finally:
        server.stop()

    ingest = gql(RECORD, {"input": event(2)})
    plain, sealed = Server(), Server("--seal")
    try:
        off, on = [], []
        # Two processes on two cores with wrk beside them drift apart more than one does:
        # more rounds, alternating, for this pair.
        for _ in range(args.rounds * 2):
            off.append(wrk.run(f"{plain.url}/graphql", ingest))
            on.append(wrk.run(f"{sealed.url}/graphql", ingest))
        results["sealing"] = {"service": _median(on), "baseline": _median(off)}
    finally:
        plain.stop()
        sealed.stop()

    embedded = Server("--embedded")
    try:
        results["embedded_pages"] = []
        stored = 0
        for target in (1_000, 10_000, 50_000):
            while stored < target:
                size = min(1_000, target - stored)
                embedded.post("/bare/record-many", {"inputs": [event(i) for i in range(size)]})
                stored += size
            load = wrk.run(f"{embedded.url}/graphql", gql(PAGE, {"filter": None}), connections=1)
            results["embedded_pages"].append({"entries": stored, **asdict(load)})
    finally:
        embedded.stop()

    # How a page's cost grows with the data: one client, so latency is the request's own.
    results["cheap_pages"] = []
    for entries in (1_000, 10_000, 50_000):
        server = Server("--seed", str(entries))
        try:
            pair = paired(
                wrk, 1, (f"{server.url}/graphql", gql(PAGE, {"filter": None})),
                (f"{server.url}/bare/logs?first=100", None), connections=1,
            )  # fmt: skip
            results["cheap_pages"].append({"entries": entries, **pair})
        finally:
            server.stop()

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "http.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
