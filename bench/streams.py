"""Log stream delivery (issue 17): entries delivered per second to a local webhook receiver
against the recording rate, the lag at a steady 1,000 events/s, and what delivering costs
ingestion.

The server is bench/bench_server.py with `--streams` (the real app on the cheap in-memory
stores, streams kept in memory too, a settle delay of 1 s, delivery as configured by
default: a pass every second, batches of 100); the receiver is a process of its own (this
module with `--receiver`): a plain ASGI handler under uvicorn that counts the entries of each
batch, notes when each arrived against its createdAt, and answers 200 without checking the
signature. All three share the machine's two cores with the client (and wrk).

1. Delivery rate: a stream is created and paused, N entries are recorded with
   recordAuditEvents (batches of 100, 4 requests at a time: the recording rate of this run),
   then the stream is resumed and timed until the receiver holds all N.
2. Lag: recordAuditEvents at a steady 1,000 events/s (10 requests of 100 a second) with the
   stream delivering; the receiver's arrival time less each entry's createdAt, and the
   stream's `lagSeconds` sampled every 0.5 s, both shown less the settle delay.
3. Ingestion cost: wrk recording as fast as it can with one stream delivering (created anew
   for each run, deleted after it) against none, alternately; the ratio of their throughputs.

    .venv/bin/python -m bench.streams [--entries 50000] [--steady-seconds 30] [--seconds 8]
        [--rounds 4]
"""

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from starlette import types as asgi

from bench.bench_server import KEY, OPERATOR, STREAM_SETTLE_SECONDS
from bench.bench_server import settings as bench_settings
from bench.http_bench import RECORD, RECORD_MANY, Load, Server, Wrk, event, gql

RESULTS = Path(__file__).parent / "results"
ACCOUNT = "acme"
STREAM = "id state delivered lagSeconds lastError"
CREATE = f"""mutation($a: ID!, $i: LogStreamInput!) {{ createLogStream(account: $a, input: $i) {{
  logStream {{ {STREAM} }} }} }}"""
LIST = f"query($a: ID) {{ logStreams(account: $a) {{ {STREAM} }} }}"
CHANGE = "mutation($id: ID!) {{ {field}(id: $id) {{ state }} }}"


# --- the receiver ------------------------------------------------------------------------


class Receiver:
    """ASGI: `POST /hook` counts a batch's entries of the bench's application (and, when
    asked, each one's arrival less its createdAt), and every entry by application and action;
    `GET /stats` reports them, `POST /reset[?lags=1]` starts again."""

    def __init__(self) -> None:
        self.reset(lags=False)

    def reset(self, *, lags: bool) -> None:
        self.entries = 0
        self.batches = 0
        self.first_batch = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.keep_lags = lags
        self.lags: list[float] = []
        self.applications: dict[str, int] = {}

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        assert scope["type"] == "http"
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        arrived = time.time()
        path, method = scope["path"], scope["method"]
        answer: Any = {}
        if path == "/hook" and method == "POST":
            self._took(orjson.loads(body)["entries"], arrived)
        elif path == "/stats":
            answer = {
                "entries": self.entries, "batches": self.batches,
                "first_batch": self.first_batch, "first_at": self.first_at,
                "last_at": self.last_at, "lags": self.lags,
                "applications": self.applications,
            }  # fmt: skip
        elif path == "/reset" and method == "POST":
            self.reset(lags=b"lags=1" in scope["query_string"])
        elif path != "/healthz":
            answer = None
        status = 404 if answer is None else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})

    def _took(self, rows: list[dict[str, Any]], arrived: float) -> None:
        for row in rows:
            key = f"{row['application']} {row['action']}"
            self.applications[key] = self.applications.get(key, 0) + 1
        # The bench's own: the service's audit of its changes (the stream's, and on disk
        # the account's, application's and key's) is in the account's trail too, and
        # delivered with it.
        entries = [row for row in rows if row["action"] == "auth.login"]
        if not entries:
            return
        if self.first_at is None:
            self.first_at, self.first_batch = arrived, len(entries)
        self.last_at = arrived
        self.entries += len(entries)
        self.batches += 1
        if self.keep_lags:
            self.lags.extend(
                arrived - datetime.fromisoformat(row["createdAt"]).timestamp() for row in entries
            )


# --- the driver --------------------------------------------------------------------------


class Bench:
    def __init__(self, server: Server, receiver: Server, client: httpx.AsyncClient) -> None:
        self.server = server
        self.receiver = receiver
        self.client = client
        self.hook = f"{receiver.url}/hook"
        self.key = KEY
        """What records: the cheap directory's key, or on disk the one `set_up` issued."""

    async def set_up(self) -> None:
        """On the embedded store: the account, its application and a key, made over GraphQL
        as a user would (the cheap stores come with them)."""
        await self.gql(f'mutation {{ createAccount(id: "{ACCOUNT}", name: "Acme", plan: "pro") '
                       "{ id } }")  # fmt: skip
        await self.gql(
            f'mutation {{ createApplication(account: "{ACCOUNT}", id: "portal", name: "Portal")'
            " { id } }"
        )
        issued = await self.gql(
            f'mutation {{ issueApiKey(account: "{ACCOUNT}", scopes: [RECORD, READ]) {{ secret }} }}'
        )
        self.key = issued["issueApiKey"]["secret"]

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str = OPERATOR
    ) -> Any:
        response = await self.client.post(
            f"{self.server.url}/graphql",
            content=orjson.dumps(gql(query, variables or {})),
            headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        response.raise_for_status()
        data = response.json()
        if data.get("errors"):  # the codes only: no bodies in messages
            codes = [e.get("extensions", {}).get("code") for e in data["errors"]]
            raise RuntimeError(f"GraphQL errors {codes} for {query.split('(')[0]}")
        return data["data"]

    async def create(self, name: str) -> str:
        created = await self.gql(
            CREATE, {"a": ACCOUNT, "i": {"name": name, "kind": "WEBHOOK", "url": self.hook}}
        )
        return str(created["createLogStream"]["logStream"]["id"])

    async def change(self, field: str, stream: str) -> None:
        await self.gql(CHANGE.format(field=field), {"id": stream})

    async def stream(self, stream: str) -> dict[str, Any]:
        listed = await self.gql(LIST, {"a": ACCOUNT})
        [found] = [s for s in listed["logStreams"] if s["id"] == stream]
        if found["lastError"]:
            raise RuntimeError(f"the stream failed: {found['lastError']}")
        return found  # type: ignore[no-any-return]

    async def record(self, body: bytes) -> None:
        response = await self.client.post(
            f"{self.server.url}/graphql",
            content=body,
            headers={"Authorization": f"Bearer {self.key}", "content-type": "application/json"},
        )
        response.raise_for_status()
        if b'"errors"' in response.content:
            raise RuntimeError("recordAuditEvents answered with errors")

    async def reset(self, *, lags: bool = False) -> None:
        query = "?lags=1" if lags else ""
        (await self.client.post(f"{self.receiver.url}/reset{query}")).raise_for_status()

    async def received(self) -> dict[str, Any]:
        response = await self.client.get(f"{self.receiver.url}/stats")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def wait_received(self, entries: int, seconds: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while (got := await self.received())["entries"] < entries:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the receiver got {got['entries']} of {entries} entries")
            await asyncio.sleep(0.05)
        return got


def batches(count: int, size: int, first: int = 0) -> list[bytes]:
    """`count` recordAuditEvents documents of `size` plain events each, encoded once."""
    return [
        orjson.dumps(
            gql(RECORD_MANY, {"inputs": [event(first + k * size + i) for i in range(size)]})
        )
        for k in range(count)
    ]


def cpu_seconds(server: Server) -> float:
    """The CPU time (user and system) so far of the server process and of its live
    children (its log stream delivery process), from /proc."""
    pid = server._process.pid  # the bench's own helper: no public handle
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def quantiles(values: list[float], less: float = 0.0) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": statistics.median(values) - less,
        "p99": cuts[98] - less,
        "max": max(values) - less,
    }


async def delivery_rate(bench: Bench, entries: int, size: int, concurrency: int) -> dict[str, Any]:
    """Record `entries` with the stream paused, then time it delivering them all."""
    stream = await bench.create("delivery rate")
    await bench.change("pauseLogStream", stream)
    bodies = iter(batches(entries // size, size))
    cpu = cpu_seconds(bench.server)
    started = time.perf_counter()

    async def sending() -> None:
        for body in bodies:  # one iterator shared: each body sent once
            await bench.record(body)

    await asyncio.gather(*(sending() for _ in range(concurrency)))
    recording_seconds = time.perf_counter() - started
    recording_cpu = cpu_seconds(bench.server) - cpu
    await asyncio.sleep(STREAM_SETTLE_SECONDS + 0.5)  # every entry settled before the resume
    await bench.reset()
    cpu = cpu_seconds(bench.server)
    resumed = time.time()
    await bench.change("resumeLogStream", stream)
    got = await bench.wait_received(entries)
    delivering_cpu = cpu_seconds(bench.server) - cpu
    delivering_seconds = got["last_at"] - resumed
    listed = await bench.stream(stream)
    others = sum(n for key, n in got["applications"].items() if not key.endswith(" auth.login"))
    assert listed["delivered"] == entries + others, (listed, got["applications"])
    assert got["entries"] == entries, got
    return {
        "stream": stream,
        "entries": entries,
        "service_audit_entries_also_delivered": others,
        "recording": {
            "events_per_s": entries / recording_seconds,
            "seconds": recording_seconds,
            "events_per_request": size,
            "requests_at_once": concurrency,
            "server_cpu_us_per_event": recording_cpu / entries * 1e6,
        },
        "delivering": {
            "entries_per_s": entries / delivering_seconds,
            "seconds": delivering_seconds,
            "first_to_last_entries_per_s": (entries - got["first_batch"])
            / max(got["last_at"] - got["first_at"], 1e-9),
            "first_batch_after_s": got["first_at"] - resumed,
            "batches": got["batches"],
            # Includes the passes' own idling (the server does nothing else meanwhile).
            "server_cpu_us_per_entry": delivering_cpu / entries * 1e6,
        },
        "delivered_over_recorded": (entries / delivering_seconds) / (entries / recording_seconds),
        # Were the server's CPU all it had, ingestion delivering every entry it recorded
        # would keep this share of its throughput: each event costs both.
        "cpu_projected_ingestion_kept": recording_cpu / (recording_cpu + delivering_cpu),
    }


async def steady_lag(
    bench: Bench, stream: str, rate: int, size: int, seconds: float
) -> dict[str, Any]:
    """recordAuditEvents at `rate` events/s for `seconds` with the stream delivering."""
    await bench.reset(lags=True)
    count = int(seconds * rate / size)
    bodies = batches(count, size, first=10_000_000)
    interval = size / rate
    latencies: list[float] = []
    samples: list[float] = []
    sampling = True

    async def one(body: bytes) -> None:
        at = time.perf_counter()
        await bench.record(body)
        latencies.append((time.perf_counter() - at) * 1e3)

    async def sample() -> None:
        while sampling:
            lag = (await bench.stream(stream))["lagSeconds"]
            if lag is not None:
                samples.append(lag)
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    sent: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for k, body in enumerate(bodies):
        await asyncio.sleep(max(0.0, started + k * interval - time.perf_counter()))
        sent.append(asyncio.create_task(one(body)))
    await asyncio.gather(*sent)
    sending_seconds = time.perf_counter() - started
    got = await bench.wait_received(count * size)
    sampling = False
    await sampler
    lags = got["lags"]
    assert len(lags) == count * size, len(lags)
    settle = float(STREAM_SETTLE_SECONDS)
    return {
        "target_events_per_s": rate,
        "events_per_request": size,
        "seconds": seconds,
        "entries": count * size,
        "sent_events_per_s": count * size / sending_seconds,
        "record_p50_ms": statistics.median(latencies),
        "record_p99_ms": statistics.quantiles(latencies, n=100, method="inclusive")[98],
        "arrival_lag_s": quantiles(lags),
        "arrival_lag_over_settle_s": quantiles(lags, settle),
        "lag_seconds_field": {**quantiles(samples), "samples": len(samples)},
        "lag_seconds_field_over_settle": quantiles(samples, settle),
    }


async def ingestion_cost(
    bench: Bench, wrk: Wrk, rounds: int, cases: dict[str, tuple[Any, int]]
) -> dict[str, Any]:
    """wrk recording with one stream delivering against none, alternately (the side first
    in a round alternating too); medians."""
    results: dict[str, Any] = {}
    url = f"{bench.server.url}/graphql"
    poll = bench_settings(seal=False, streams=True).streams.poll_seconds
    for name, (document, events) in cases.items():
        runs: dict[str, list[Load]] = {"stream": [], "no_stream": []}
        delivered: list[float] = []
        behind: list[float] = []
        for index in range(rounds):
            sides = ("no_stream", "stream") if index % 2 == 0 else ("stream", "no_stream")
            for side in sides:
                stream = None
                if side == "stream":
                    await bench.reset()
                    stream = await bench.create(f"ingestion {name} {index}")
                load = await asyncio.to_thread(wrk.run, url, document)
                if stream is not None:
                    # Entries the receiver took while wrk ran, less the last settle delay's
                    # worth it could not yet be sent.
                    delivered.append((await bench.received())["entries"] / wrk.seconds)
                await asyncio.to_thread(bench.server.settle)
                if stream is not None:
                    behind.append((await bench.stream(stream))["lagSeconds"] or 0.0)
                    await bench.change("deleteLogStream", stream)
                    await asyncio.sleep(poll + 0.5)  # the worker's last send returned
                runs[side].append(load)
        on = statistics.median(r.requests_per_s for r in runs["stream"])
        off = statistics.median(r.requests_per_s for r in runs["no_stream"])
        results[name] = {
            "events_per_request": events,
            "stream": _median(runs["stream"]),
            "no_stream": _median(runs["no_stream"]),
            "runs": {side: [asdict(r) for r in loads] for side, loads in runs.items()},
            "recorded_events_per_s_with_stream": on * events,
            "delivered_entries_per_s": statistics.median(delivered),
            "stream_lag_after_run_s": statistics.median(behind),
            "ratio": on / off,
        }
    return results


def _median(loads: list[Load]) -> dict[str, float]:
    return {
        "requests_per_s": statistics.median(load.requests_per_s for load in loads),
        "p50_ms": statistics.median(load.p50_ms for load in loads),
        "p99_ms": statistics.median(load.p99_ms for load in loads),
    }


CONFIGURATIONS = {
    "embedded_process": "the embedded SQLite store, delivery in a process of its own (the "
    "default: `auditlog-server` as `make run` starts it)",
    "memory_inline": "the in-memory stores, delivery on the server's event loop (the only "
    "way there: no other process can read them)",
}
"""What bench.streams measures, each with its own server (and the same receiver)."""


def server_for(configuration: str, data_dir: Path) -> Server:
    if configuration == "embedded_process":
        return Server("--streams", "--data-dir", str(data_dir), "--delivery", "process")
    return Server("--streams")


async def measure_one(
    configuration: str, args: argparse.Namespace, receiver: Server, wrk: Wrk, data: Path
) -> dict[str, Any]:
    server = server_for(configuration, data / configuration)
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            bench = Bench(server, receiver, client)
            if configuration == "embedded_process":
                await bench.set_up()
            rate = await delivery_rate(bench, args.entries, 100, 4)
            print(f"{configuration} delivery: {json.dumps(rate)}", flush=True)
            lag = await steady_lag(bench, rate["stream"], 1000, 100, args.steady_seconds)
            print(f"{configuration} lag: {json.dumps(lag)}", flush=True)
            await bench.change("deleteLogStream", rate["stream"])
            cases: dict[str, tuple[Any, int]] = {
                "batch_100": (gql(RECORD_MANY, {"inputs": [event(i) for i in range(100)]}), 100),
                "single": (gql(RECORD, {"input": event(1)}), 1),
            }
            wrk.token = bench.key
            cost = await ingestion_cost(bench, wrk, args.rounds, cases)
            print(f"{configuration} ingestion: {json.dumps(cost)}", flush=True)
    finally:
        server.stop()
    return {"described": CONFIGURATIONS[configuration], "delivery": rate, "steady": lag,
            "ingestion": cost}  # fmt: skip


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    configured = bench_settings(seal=False, streams=True).streams
    wrk = Wrk(args.seconds, args.connections)
    receiver = Server("--receiver", module="bench.streams")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-streams-") as data:
            measured = {
                name: await measure_one(name, args, receiver, wrk, Path(data))
                for name in args.configurations
            }
    finally:
        receiver.stop()
    return {
        "settle_seconds": STREAM_SETTLE_SECONDS,
        "poll_seconds": configured.poll_seconds,
        "batch_size": configured.batch_size,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "configurations": measured,
    }


def serve_receiver(port: int) -> None:
    uvicorn.run(
        Receiver(), host="127.0.0.1", port=port, log_level="warning", access_log=False,
        lifespan="off",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--steady-seconds", type=float, default=30)
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--configurations", nargs="+", choices=sorted(CONFIGURATIONS), default=list(CONFIGURATIONS)
    )
    parser.add_argument("--receiver", action="store_true", help="serve the receiver only")
    parser.add_argument("--port", type=int, help="the receiver's port (with --receiver)")
    args = parser.parse_args()
    if args.receiver:
        serve_receiver(args.port)
        return
    results = asyncio.run(measure(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "streams.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS / 'streams.json'}")


if __name__ == "__main__":
    main()
