"""The service over HTTP against baselines in the same run: ingestion, batches and pages.

The load generator is wrk (Debian's `wrk`, C, one thread, keep-alive connections), on the
same 2-core machine as the server (one uvicorn worker), so each figure is only meaningful
next to its baseline: every pair is measured alternately in the same run and reported as a
ratio. The server is bench/bench_server.py: the real app over stores that cost almost
nothing, with the baseline routes mounted beside it.

The `rich` cases send events with every field issue 16 added (occurredAt, idempotencyKey,
actor, targets, metadata) against today's plain event, both through recordAuditEvent(s):
their ratio is what the new fields cost. wrk writes each of their bodies anew (a number of
its own in every event), so each key is new and each event stored, not answered as a replay;
the run checks the store grew by as many events as wrk counted.

    .venv/bin/python -m bench.http_bench [--seconds 5] [--rounds 2] [--cases rich pages ...]
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
import uuid
from collections.abc import Callable
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
  wrk.headers["Content-Type"] = "application/json"
end
local template = os.getenv("BENCH_TEMPLATE")
if template == nil then
  if wrk.method == "POST" then wrk.body = read(os.getenv("BENCH_BODY")) end
else
  -- Every @N@ of the body becomes <run>-<n>, n counting up in this thread (wrk -t1: one).
  local text, pieces, start = read(template), {}, 1
  while true do
    local at, stop = string.find(text, "@N@", start, true)
    if at == nil then pieces[#pieces + 1] = string.sub(text, start); break end
    pieces[#pieces + 1] = string.sub(text, start, at - 1)
    start = stop + 1
  end
  local run, counter = os.getenv("BENCH_RUN") .. "-", 0
  request = function()
    local out = {pieces[1]}
    for k = 2, #pieces do
      counter = counter + 1
      out[#out + 1] = run .. counter
      out[#out + 1] = pieces[k]
    end
    return wrk.format(nil, nil, nil, table.concat(out))
  end
end
"""
FRESH = "@N@"
"""Where wrk writes a number of its own into a `Fresh` body, per request."""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int


@dataclass(frozen=True)
class Fresh:
    """A body that wrk writes anew for each request: each `FRESH` in it becomes a value of
    its own (the run's id and a count), so that no two requests of any run send one."""

    body: Any

    def sample(self, run: str) -> Any:
        """The body with its `FRESH` places filled once, as one request of wrk's would be."""
        text = json.dumps(self.body)
        count = iter(range(text.count(FRESH)))
        return json.loads(re.sub(FRESH, lambda _: f"{run}-{next(count)}", text))


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
        code: Path | None = None,
    ) -> None:
        """`code`: a checkout to serve from (its own modules, this venv's packages)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._request_seconds = request_seconds
        if code is not None:
            env = {**(env or os.environ), "PYTHONPATH": str(code)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(self.port), *flags],
            env=env,
            cwd=code,
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

    def stored(self) -> dict[str, int]:
        """How many entries the cheap store holds, how many under an idempotency key, and
        how many requests are being served; once none are (see `settle`)."""
        self.settle()
        return self._stored()

    def settle(self) -> None:
        """Wait until the requests wrk left in flight when it stopped are served: a batch
        of 1,000 takes about a second, and 16 of them would slow the run after."""
        deadline = time.monotonic() + self._request_seconds
        while self._stored()["in_flight"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the bench server is still serving wrk's last requests")
            time.sleep(0.05)

    def _stored(self) -> dict[str, int]:
        response = httpx.get(f"{self.url}/bench/stored", timeout=self._request_seconds)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

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
        self.token = KEY
        """The bearer each request carries: the bench server's key unless set."""

    def run(self, url: str, body: Any = None, connections: int | None = None) -> Load:
        env = {**os.environ, "BENCH_KEY": self.token}
        env["BENCH_METHOD"] = "GET" if body is None else "POST"
        if isinstance(body, Fresh):
            path = self._dir / "template.json"
            path.write_text(json.dumps(body.body))
            env["BENCH_TEMPLATE"] = str(path)
            env["BENCH_RUN"] = uuid.uuid4().hex[:12]
        elif body is not None:
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
        count = re.search(r"(\d+) requests in", out)
        assert rate is not None, out
        assert count is not None, out
        return Load(
            float(rate.group(1)), _latency(out, "50%"), _latency(out, "99%"), int(count.group(1))
        )


def _latency(out: str, which: str) -> float:
    value, unit = re.search(rf"{which}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def event(i: int) -> dict[str, Any]:
    return {
        "application": "portal", "action": "auth.login", "success": i % 7 != 0,
        "email": f"user{i}@example.com", "ip": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "requestId": f"req-{i}",
    }  # fmt: skip


def plain_fresh(i: int) -> dict[str, Any]:
    """Today's event, its requestId written by wrk: as much of it fresh as of a rich one."""
    return {**event(i), "requestId": f"req-{FRESH}"}


def rich_event(i: int, occurred_at: datetime) -> dict[str, Any]:
    """An event with every field issue 16 added, as a caller would send it: when it happened
    (a few seconds before it is sent), a new idempotency key (written by wrk), who did it,
    two targets and five facts of mixed types."""
    return {
        **event(i),
        "occurredAt": occurred_at.isoformat(timespec="milliseconds"),
        "idempotencyKey": f"evt-{FRESH}",
        "actor": {"id": f"user_{i % 5000:05d}", "type": "user", "name": "Ada Lovelace"},
        "targets": [
            {"id": "team_platform", "type": "team", "name": "Platform"},
            {"id": f"doc_{i:06d}", "type": "document", "name": "Q3 roadmap"},
        ],
        "metadata": {
            "plan": "pro", "region": "eu-west-1", "attempt": 1 + i % 3, "mfa": i % 2 == 0,
            "latencyMs": 41.5,
        },
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
    ours, theirs = _alternately(wrk, rounds, subject, baseline, connections)
    return {"service": _median(ours), "baseline": _median(theirs)}


def _alternately(
    wrk: Wrk,
    rounds: int,
    subject: tuple[str, Any],
    baseline: tuple[str, Any],
    connections: int | None,
    settle: Callable[[], None] = lambda: None,
) -> tuple[list[Load], list[Load]]:
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(wrk.run(*subject, connections=connections))
        settle()
        theirs.append(wrk.run(*baseline, connections=connections))
        settle()
    return ours, theirs


def paired_stored(
    wrk: Wrk,
    rounds: int,
    server: Server,
    rich: Fresh,
    plain: Fresh,
    events: int,
    connections: int | None = None,
) -> dict[str, Any]:
    """Rich against plain on the same route, alternately, each run once the last one's
    requests are all served; then a check that each event wrk counted was stored: keyed
    entries (the rich ones) and the rest (the plain ones), each grown by at least the events
    of the requests wrk saw answered, and by no more than a request on each connection still
    in flight when wrk stopped."""
    url = f"{server.url}/graphql"
    before = server.stored()
    ours, theirs = _alternately(
        wrk, rounds, (url, rich), (url, plain), connections, settle=server.settle
    )
    after = server.stored()
    keyed = after["keyed"] - before["keyed"]
    unkeyed = after["entries"] - before["entries"] - keyed
    in_flight = rounds * (connections or wrk.connections) * events
    stored = {}
    for side, loads, grown in (("service", ours, keyed), ("baseline", theirs, unkeyed)):
        answered = sum(load.requests for load in loads) * events
        if not answered <= grown <= answered + in_flight:
            raise RuntimeError(f"{side}: {answered} events answered, the store grew by {grown}")
        stored[side] = {"events_answered": answered, "entries_stored": grown}
    return {
        "service": _median(ours),
        "baseline": _median(theirs),
        "events_per_request": events,
        "stored": stored,
    }


def _median(loads: list[Load]) -> dict[str, float]:
    return {
        "requests_per_s": statistics.median(load.requests_per_s for load in loads),
        "p50_ms": statistics.median(load.p50_ms for load in loads),
        "p99_ms": statistics.median(load.p99_ms for load in loads),
    }


@dataclass(frozen=True)
class Run:
    wrk: Wrk
    rounds: int
    results: dict[str, Any]


def ingestion(run: Run) -> None:
    wrk, rounds, results = run.wrk, run.rounds, run.results
    server = Server("--seed", "10000")
    try:
        url = server.url
        server.post("/graphql", gql(RECORD, {"input": event(0)}))  # both answer cleanly
        server.post("/bare/record", event(0))
        results["single"] = paired(
            wrk, rounds, (f"{url}/graphql", gql(RECORD, {"input": event(1)})),
            (f"{url}/bare/record", event(1)),
        )  # fmt: skip
        for size in (100, 1000):
            batch = [event(i) for i in range(size)]
            document = gql(RECORD_MANY, {"inputs": batch})
            server.post("/floor/graphql", document)
            results[f"batch_{size}"] = paired(
                wrk, rounds, (f"{url}/graphql", document),
                (f"{url}/bare/record-many", {"inputs": batch}),
            )  # fmt: skip
            results[f"batch_{size}"]["floor"] = paired(
                wrk, rounds, (f"{url}/graphql", document), (f"{url}/floor/graphql", document)
            )["baseline"]
            results[f"batch_{size}"]["events_per_request"] = size
    finally:
        server.stop()


def rich(run: Run) -> None:
    """Issue 16's fields present against today's event, on a server of their own: the same
    store at the start as the plain cases', whatever ran before. Batches of 1,000 with 2
    connections for twice as long, as in bench/sqlite_store.py: a batch takes about 0.5 s
    of CPU, and with 16 in flight few would finish within a run."""
    server = Server("--seed", "10000")
    long = Wrk(run.wrk.seconds * 2, 2)
    try:
        for name, size, wrk in (
            ("single_rich", 1, run.wrk), ("batch_100_rich", 100, run.wrk),
            ("batch_1000_rich", 1000, long),
        ):  # fmt: skip
            occurred_at = datetime.now(UTC) - timedelta(seconds=3)
            first = 1 if size == 1 else 0  # the events of the plain cases
            bodies = (
                Fresh(_ingest([rich_event(i, occurred_at) for i in range(first, first + size)])),
                Fresh(_ingest([plain_fresh(i) for i in range(first, first + size)])),
            )
            for body in bodies:  # both answer cleanly, and are parsed and validated once
                server.post("/graphql", body.sample(f"warm-{uuid.uuid4().hex[:12]}"))
            run.results[name] = paired_stored(wrk, run.rounds, server, *bodies, events=size)
            run.results[name] |= {"connections": wrk.connections, "seconds": wrk.seconds}
    finally:
        server.stop()


BEFORE_ISSUE_16 = "670bc59"
"""The last commit before issue 16's fields: its figures are the "today's figures" the
issue's done-when names."""


def before(run: Run) -> None:
    """Rich events on this code against today's event on the code before issue 16, two
    servers measured alternately in the same run: what issue 16's done-when asks ("the new
    fields present within 10% of today's figures"). The earlier code is checked out with
    `git worktree` and served with this venv's packages. Its bench server cannot count what
    it stored nor what it is still serving: after each of its runs the next waits a fixed
    time for wrk's last requests, longer than the longest batch left in flight takes."""
    code = Path(tempfile.mkdtemp(prefix="auditlog-before-")) / "checkout"
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        ["git", "-C", str(root), "worktree", "add", "--detach", str(code), BEFORE_ISSUE_16],
        check=True, capture_output=True,
    )  # fmt: skip
    now, then = Server("--seed", "10000"), Server("--seed", "10000", code=code)
    long = Wrk(run.wrk.seconds * 2, 2)
    try:
        for name, size, wrk in (
            ("single_before", 1, run.wrk), ("batch_100_before", 100, run.wrk),
            ("batch_1000_before", 1000, long),
        ):  # fmt: skip
            occurred_at = datetime.now(UTC) - timedelta(seconds=3)
            first = 1 if size == 1 else 0
            rich_body = Fresh(
                _ingest([rich_event(i, occurred_at) for i in range(first, first + size)])
            )
            # Written anew by wrk like the rich one (its requestId), so both cost wrk the same.
            plain_body = Fresh(_ingest([plain_fresh(i) for i in range(first, first + size)]))
            now.post("/graphql", rich_body.sample(f"warm-{uuid.uuid4().hex[:12]}"))
            then.post("/graphql", plain_body.sample(f"warm-{uuid.uuid4().hex[:12]}"))
            stored = now.stored()["keyed"]
            ours, theirs = [], []
            for _ in range(run.rounds):
                ours.append(wrk.run(f"{now.url}/graphql", rich_body))
                now.settle()
                theirs.append(wrk.run(f"{then.url}/graphql", plain_body))
                time.sleep(DRAIN_SECONDS)
            grown = now.stored()["keyed"] - stored
            answered = sum(load.requests for load in ours) * size
            if not answered <= grown <= answered + run.rounds * wrk.connections * size:
                raise RuntimeError(f"{name}: {answered} events answered, the store grew by {grown}")
            run.results[name] = {
                "service": _median(ours), "baseline": _median(theirs),
                "events_per_request": size, "connections": wrk.connections,
                "seconds": wrk.seconds, "baseline_code": BEFORE_ISSUE_16,
                "stored": {"service": {"events_answered": answered, "entries_stored": grown}},
            }  # fmt: skip
    finally:
        now.stop()
        then.stop()
        subprocess.run(
            ["git", "-C", str(root), "worktree", "remove", "--force", str(code)], check=False
        )


# Longer than the longest a run leaves in flight: 16 batches of 100 or 2 of 1,000 on the
# earlier code take well under a second (bench/results/http.json).
DRAIN_SECONDS = 3


def _ingest(events: list[dict[str, Any]]) -> dict[str, Any]:
    """One event as recordAuditEvent, more as a batch: the documents of the plain cases."""
    if len(events) == 1:
        return gql(RECORD, {"input": events[0]})
    return gql(RECORD_MANY, {"inputs": events})


def pages(run: Run) -> None:
    """On a fresh server: the ingestion runs leave hundreds of thousands of entries."""
    wrk, rounds, results = run.wrk, run.rounds, run.results
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
                wrk, rounds, (f"{url}/graphql", document),
                (f"{url}/bare/logs?first=100{params}", None),
            )  # fmt: skip
            results[name]["floor"] = paired(
                wrk, rounds, (f"{url}/graphql", document), (f"{url}/floor/graphql", document)
            )["baseline"]
    finally:
        server.stop()


def sealing(run: Run) -> None:
    ingest = gql(RECORD, {"input": event(2)})
    plain, sealed = Server(), Server("--seal")
    try:
        off, on = [], []
        # Two processes on two cores with wrk beside them drift apart more than one does:
        # more rounds, alternating, for this pair.
        for _ in range(run.rounds * 2):
            off.append(run.wrk.run(f"{plain.url}/graphql", ingest))
            on.append(run.wrk.run(f"{sealed.url}/graphql", ingest))
        run.results["sealing"] = {"service": _median(on), "baseline": _median(off)}
    finally:
        plain.stop()
        sealed.stop()


def embedded(run: Run) -> None:
    server = Server("--embedded")
    try:
        run.results["embedded_pages"] = []
        stored = 0
        for target in (1_000, 10_000, 50_000):
            while stored < target:
                size = min(1_000, target - stored)
                server.post("/bare/record-many", {"inputs": [event(i) for i in range(size)]})
                stored += size
            load = run.wrk.run(f"{server.url}/graphql", gql(PAGE, {"filter": None}), connections=1)
            run.results["embedded_pages"].append({"entries": stored, **asdict(load)})
    finally:
        server.stop()


def cheap_pages(run: Run) -> None:
    """How a page's cost grows with the data: one client, so latency is the request's own."""
    run.results["cheap_pages"] = []
    for entries in (1_000, 10_000, 50_000):
        server = Server("--seed", str(entries))
        try:
            pair = paired(
                run.wrk, 1, (f"{server.url}/graphql", gql(PAGE, {"filter": None})),
                (f"{server.url}/bare/logs?first=100", None), connections=1,
            )  # fmt: skip
            run.results["cheap_pages"].append({"entries": entries, **pair})
        finally:
            server.stop()


CASES = {
    "ingestion": ingestion, "rich": rich, "before": before, "pages": pages, "sealing": sealing,
    "embedded": embedded, "cheap_pages": cheap_pages,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, default=list(CASES),
        help="only these (default: all); the others keep their figures in the results file",
    )  # fmt: skip
    args = parser.parse_args()
    path = RESULTS / "http.json"
    # A partial run replaces only what it measured: the report reads every case.
    kept = json.loads(path.read_text()) if path.exists() and args.cases != list(CASES) else {}
    results: dict[str, Any] = {
        **kept,
        "load_generator": "wrk 4.1 (1 thread, keep-alive)",
        "connections": args.connections,
        "seconds": args.seconds,
    }
    measured = results.setdefault("measured_at", {})
    run = Run(Wrk(args.seconds, args.connections), args.rounds, results)
    for name in args.cases:
        CASES[name](run)
        measured[name] = datetime.now(UTC).isoformat(timespec="seconds")

    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
