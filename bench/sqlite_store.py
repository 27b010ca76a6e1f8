"""The embedded SQLite store against the cheap in-memory store, in the same run: pages as the
log grows, ingestion, a stored export, a sweep beside recording, bytes on disk.

Both sides are the real app (the same settings, the directory in memory as in
bench/bench_server.py); only the entries' store differs: SQLite (`AUDITLOG_STORE=sqlite` in
a temporary data directory, WAL, `synchronous=FULL`) or `tests/fakes.py`'s in-memory store.
Pages and ingestion go over HTTP (GraphQL, wrk, the two sides alternating); the export goes
through the real route in process (bench/export_driver.py's counting ASGI client), with the
process's RSS sampled while it streams.

    .venv/bin/python -m bench.sqlite_store [--sizes 1000,10000,100000,1000000] [--seconds 3]
"""

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from adapters.outbound.data_dir import DATABASE_FILE
from adapters.outbound.sqlite.store import SqliteStore
from application.reading.criteria import EntryCriteria, LogFilter
from bench.bench_server import directory, mount_baselines
from bench.bench_server import settings as bench_settings
from bench.export_driver import Exporter, download
from bench.http_bench import PAGE, RECORD, RECORD_MANY, Load, Server, Wrk, event, gql
from domain.entry import AuditEntry
from entrypoints.app import Overrides, create_app
from entrypoints.settings import ExportSettings, Settings, StoreSettings
from tests.builders import nth_entry
from tests.fakes import (
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySealerState,
    InMemorySeals,
)

RESULTS = Path(__file__).parent / "results" / "sqlite_store.json"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
LOAD_BATCH = 20_000
NEEDLE = "needle@example.com"
NEEDLES = 200
"""Entries carrying NEEDLE at every size, spread evenly over the trail: the email filter
matches the same 200 rows (two pages) at 1,000 entries as at 1,000,000."""
WINDOW = (timedelta(seconds=900), timedelta(seconds=300))
"""The time range, back from the newest entry (one per second): 600 entries at every size."""
EXPIRED = 100_000
DIGEST = "5" * 64
BUSY_TIMEOUT_MS = 5_000
CASES = ("pages", "ingestion", "export", "sweep")
FILTERS: dict[str, dict[str, Any] | None] = {
    "no filter": None,
    "action filter": {"actions": ["mfa.enrolled"]},  # a quarter of the trail at every size
    "email filter": {"email": NEEDLE},
    "time range": None,  # set from the trail's newest entry
}


# --- the trail --------------------------------------------------------------------------


def entries(count: int, newest: datetime) -> Iterator[AuditEntry]:
    """acme's trail, newest first, one entry a second; NEEDLES of them carry NEEDLE."""
    stride = max(1, count // NEEDLES)
    for i in range(count):
        entry = nth_entry(i, newest=newest, digest=DIGEST)
        if i % stride == 0 and i // stride < NEEDLES:
            entry = dataclasses.replace(entry, email=NEEDLE)
        yield entry


def expired(count: int, newest: datetime) -> Iterator[AuditEntry]:
    """Entries whose retention has passed (ids apart from the live trail's)."""
    for i in range(count):
        entry = nth_entry(i, newest=newest, digest=DIGEST, retention=timedelta(seconds=1))
        yield dataclasses.replace(entry, id=f"e{entry.id[1:]}")


def newest_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def time_filter(newest: datetime) -> dict[str, Any]:
    return {"since": (newest - WINDOW[0]).isoformat(), "until": (newest - WINDOW[1]).isoformat()}


def batches(rows: Iterator[AuditEntry], size: int = LOAD_BATCH) -> Iterator[list[AuditEntry]]:
    batch: list[AuditEntry] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def data_dir(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(mode=0o700)
    return path


async def load(path: Path, rows: Iterator[AuditEntry]) -> dict[str, float]:
    """Append rows to the data directory's database with add_many; entries/s."""
    store = await SqliteStore.open(
        path / DATABASE_FILE, busy_timeout_ms=BUSY_TIMEOUT_MS, ttl_sweep_seconds=3600
    )
    count, spent = 0, 0.0
    try:
        for batch in batches(rows):
            started = time.perf_counter()
            await store.entries.add_many(batch)
            spent += time.perf_counter() - started
            count += len(batch)
    finally:
        await store.close()
    return {"entries": count, "seconds": spent, "entries_per_s": count / spent if spent else 0}


def on_disk(path: Path) -> dict[str, float]:
    """The database's pages (the WAL is checkpointed at close) and the files' sizes."""
    conn = sqlite3.connect(path / DATABASE_FILE)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        entries_ = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()
    files = sum(f.stat().st_size for f in path.iterdir() if f.name.startswith(DATABASE_FILE))
    return {
        "entries": entries_,
        "file_bytes": files,
        "used_bytes": (pages - free) * page_size,
        "bytes_per_entry": files / entries_ if entries_ else float("nan"),
    }


# --- the servers ------------------------------------------------------------------------


def app_settings(store: str, data: Path | None) -> Settings:
    base = bench_settings(seal=False)
    kind = "sqlite" if store == "sqlite" else "memory"
    return dataclasses.replace(
        base,
        store=StoreSettings(
            store=kind,
            data_dir=data or Path(tempfile.gettempdir()),
            sqlite_busy_timeout_ms=BUSY_TIMEOUT_MS,
            embedded_ttl_sweep_seconds=3600,  # the sweep runs when this benchmark asks
        ),
    )


def build(store: str, data: Path | None, seed: int) -> FastAPI:
    accounts, applications, keys = directory()
    overrides = Overrides(accounts=accounts, applications=applications, keys=keys)
    if store == "fake":
        fake = InMemoryAuditEntries()
        rows = list(entries(seed, newest_from_env()))
        rows.reverse()  # oldest first, as bench_server seeds
        asyncio.run(fake.add_many(rows))
        overrides = dataclasses.replace(
            overrides,
            entries=fake,
            seals=InMemorySeals(),
            sealer_state=InMemorySealerState(),
            checkpoints=InMemoryCheckpoints(),
        )
    app = create_app(app_settings(store, data), overrides)
    mount_baselines(app)

    @app.post("/bench/sweep")
    async def sweep(request: Request) -> JSONResponse:
        started = time.perf_counter()
        deleted = await request.app.state.store.sweep.run_once()
        return JSONResponse({"deleted": deleted, "seconds": time.perf_counter() - started})

    return app


def newest_from_env() -> datetime:
    return datetime.fromisoformat(os.environ["BENCH_NEWEST"])


def start_server(
    store: str, data: Path | None = None, seed: int = 0, newest: datetime | None = None
) -> Server:
    """`python -m bench.sqlite_store --serve`: one uvicorn worker, as the other benchmarks."""
    flags = ["--serve", store, "--seed", str(seed)]
    if data is not None:
        flags += ["--data-dir", str(data)]
    env = {**os.environ, "BENCH_NEWEST": (newest or newest_now()).isoformat()}
    return Server(
        *flags, module="bench.sqlite_store", env=env, start_seconds=300, request_seconds=600
    )


def median(loads: list[Load]) -> dict[str, float]:
    return {
        "requests_per_s": statistics.median(x.requests_per_s for x in loads),
        "p50_ms": statistics.median(x.p50_ms for x in loads),
        "p99_ms": statistics.median(x.p99_ms for x in loads),
    }


def alternate(wrk: Wrk, rounds: int, sides: dict[str, tuple[str, Any]],
              connections: int | None = None) -> dict[str, dict[str, float]]:  # fmt: skip
    runs: dict[str, list[Load]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (url, body) in sides.items():
            load_ = wrk.run(url, body, connections=connections)
            if not load_.requests_per_s:
                raise RuntimeError(f"no request to {url} finished within a run")
            runs[name].append(load_)
    return {name: median(loads) for name, loads in runs.items()}


# --- the cases --------------------------------------------------------------------------


def pages(wrk: Wrk, root: Path, sizes: tuple[int, ...], rounds: int) -> dict[str, Any]:
    """A page of 100 at each size, one client, SQLite and the cheap store alternating."""
    curve: list[dict[str, Any]] = []
    dirs: dict[int, Path] = {}
    for size in sizes:
        newest = newest_now()
        path = data_dir(root, f"pages-{size}")
        loaded = asyncio.run(load(path, entries(size, newest)))
        disk = on_disk(path)
        print(f"loaded {size:,}: {loaded['entries_per_s']:,.0f} entries/s, "
              f"{disk['bytes_per_entry']:.0f} bytes/entry", flush=True)  # fmt: skip
        dirs[size] = path
        sqlite_side = start_server("sqlite", path, newest=newest)
        fake_side = start_server("fake", seed=size, newest=newest)
        point: dict[str, Any] = {"entries": size, "loading": loaded, "disk": disk}
        try:
            for side in (sqlite_side, fake_side):  # warm both: imports, caches, first pages
                wrk.run(f"{side.url}/graphql", gql(PAGE, {"filter": None}), connections=1)
            for name, filter_ in FILTERS.items():
                wanted = time_filter(newest) if name == "time range" else filter_
                document = gql(PAGE, {"filter": wanted})
                for side in (sqlite_side, fake_side):  # the filter fills a page on both
                    data = side.post("/graphql", document)["data"]["auditLogs"]["edges"]
                    if len(data) != 100:
                        raise RuntimeError(f"{name} at {size}: {len(data)} rows")
                point[name] = alternate(
                    wrk, rounds,
                    {"sqlite": (f"{sqlite_side.url}/graphql", document),
                     "cheap": (f"{fake_side.url}/graphql", document)},
                    connections=1,
                )  # fmt: skip
                print(f"  {name}: sqlite p50 {point[name]['sqlite']['p50_ms']:.2f} ms, "
                      f"cheap {point[name]['cheap']['p50_ms']:.2f} ms", flush=True)  # fmt: skip
        finally:
            sqlite_side.stop()
            fake_side.stop()
        curve.append(point)
    return {"curve": curve, "dirs": dirs}


def ingestion(wrk: Wrk, batch_wrk: Wrk, root: Path, rounds: int) -> dict[str, Any]:
    sqlite_side = start_server("sqlite", data_dir(root, "ingest"))
    fake_side = start_server("fake")
    results: dict[str, Any] = {}
    try:
        single = gql(RECORD, {"input": event(1)})
        batch = gql(RECORD_MANY, {"inputs": [event(i) for i in range(1000)]})
        for side in (sqlite_side, fake_side):
            side.post("/graphql", single)
            side.post("/graphql", batch)
        for name, document, load_ in (("single", single, wrk), ("batch_1000", batch, batch_wrk)):
            results[name] = alternate(
                load_, rounds,
                {"sqlite": (f"{sqlite_side.url}/graphql", document),
                 "cheap": (f"{fake_side.url}/graphql", document)},
            )  # fmt: skip
            print(f"ingestion {name}: {results[name]}", flush=True)
    finally:
        sqlite_side.stop()
        fake_side.stop()
    return results


class Rss:
    """The process's resident set, sampled every 10 ms while in use: the peak above start."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.start = self.peak = self._now()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _now() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._now())

    def __enter__(self) -> "Rss":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._now())


@asynccontextmanager
async def exporting(path: Path) -> AsyncIterator[Exporter]:
    """export_driver.running_app, on the SQLite store in `path` (accounts there too)."""
    token = secrets.token_urlsafe(32)
    base = app_settings("sqlite", path)
    config = dataclasses.replace(
        base,
        access=base.access.model_copy(update={"operator_token": SecretStr(token)}),
        export=ExportSettings(signing_key=SecretStr(secrets.token_urlsafe(32))),
    )
    app = create_app(config, None)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as http:
            exporter = Exporter(app, http, token)
            await exporter.operator(
                'mutation { createAccount(id: "acme", name: "Acme", plan: "pro") { id } }', {}
            )
            yield exporter


async def export(path: Path, stored: int) -> dict[str, Any]:
    async with exporting(path) as exporter:
        url = await exporter.link("NDJSON")
        with Rss() as rss:
            started = time.perf_counter()
            body = await download(exporter.app, url)
            seconds = time.perf_counter() - started
        read_alone = await stream_alone(exporter.app.state.store)
    rows = body.rows - 1  # the signed trailer is a line of its own
    if rows < stored:
        raise RuntimeError(f"exported {rows} of {stored} rows")
    return {
        "rows": rows,
        "bytes": body.bytes,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "rss_start_mib": rss.start / 2**20,
        "rss_growth_mib": (rss.peak - rss.start) / 2**20,
        "store_read_alone": read_alone,
    }


async def stream_alone(store: SqliteStore) -> dict[str, float]:
    """The repository's stream alone, no HTTP and no encoding: what the store costs."""
    criteria = EntryCriteria(LogFilter(account="acme"))
    count = 0
    started = time.perf_counter()
    async for batch in store.entries.stream(criteria, now=datetime.now(UTC)):
        count += len(batch)
    seconds = time.perf_counter() - started
    return {"rows": count, "seconds": seconds, "rows_per_s": count / seconds}


def sweep(wrk: Wrk, root: Path, rounds: int) -> dict[str, Any]:
    """Recording (recordAuditEvent, wrk) with and without a sweep of EXPIRED entries."""
    path = data_dir(root, "sweep")
    newest = newest_now()
    asyncio.run(load(path, entries(EXPIRED, newest)))  # live entries beside the expired
    document = gql(RECORD, {"input": event(3)})
    without: list[Load] = []
    with_: list[Load] = []
    sweeps: list[dict[str, Any]] = []
    for round_ in range(rounds):
        old = newest_now() - timedelta(days=1) - timedelta(seconds=EXPIRED * round_)
        rows = (dataclasses.replace(e, id=f"e{round_:x}{e.id[2:]}") for e in expired(EXPIRED, old))
        asyncio.run(load(path, rows))
        server = start_server("sqlite", path)
        try:
            server.post("/graphql", document)
            without.append(wrk.run(f"{server.url}/graphql", document))
            answer: dict[str, Any] = {}

            def run_sweep(answer: dict[str, Any] = answer, server: Server = server) -> None:
                time.sleep(0.5)
                answer.update(server.post("/bench/sweep", {}))

            thread = threading.Thread(target=run_sweep)
            thread.start()
            with_.append(wrk.run(f"{server.url}/graphql", document))
            thread.join()
            if answer["deleted"] < EXPIRED:
                raise RuntimeError(f"the sweep deleted {answer['deleted']} of {EXPIRED}")
            if answer["seconds"] + 0.5 > wrk.seconds:
                print(f"  the sweep outlasted the load ({answer['seconds']:.1f} s)", flush=True)
            sweeps.append(answer)
        finally:
            server.stop()
        print(f"sweep round {round_}: {answer}; p99 without {without[-1].p99_ms:.1f} ms, "
              f"with {with_[-1].p99_ms:.1f} ms", flush=True)  # fmt: skip
    return {
        "expired": EXPIRED,
        "without_sweep": median(without),
        "with_sweep": median(with_),
        "sweeps": sweeps,
        "disk_after": on_disk(path),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--seconds", type=int, default=3, help="wrk seconds per page run")
    parser.add_argument("--load-seconds", type=int, default=5, help="wrk seconds, ingestion")
    parser.add_argument("--sweep-seconds", type=int, default=15, help="wrk seconds, sweep")
    parser.add_argument("--batch-seconds", type=int, default=10, help="wrk seconds, batches")
    parser.add_argument(
        "--batch-connections", type=int, default=2,
        help="connections for batches of 1,000 (each takes ~0.3 s of CPU: with 16 in flight "
        "few would finish within a run)",
    )  # fmt: skip
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--serve", choices=("sqlite", "fake"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        app = build(args.serve, args.data_dir, args.seed)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
        return

    sizes = tuple(int(s) for s in args.sizes.split(","))
    cases = set(args.cases.split(","))
    root = Path(tempfile.mkdtemp(prefix="auditlog-sqlite-bench-"))
    # A subset of the cases measured again replaces only its own figures.
    results: dict[str, Any] = (
        json.loads(RESULTS.read_text()) if cases != set(CASES) and RESULTS.exists() else {}
    )
    results.update(
        {
            "load_generator": "wrk 4.1 (1 thread, keep-alive)",
            "connections": args.connections,
            "batch_connections": args.batch_connections,
            "page_seconds": args.seconds,
            "load_seconds": args.load_seconds,
            "batch_seconds": args.batch_seconds,
            "sweep_seconds": args.sweep_seconds,
            "rounds": args.rounds,
            "page_size": 100,
            "needles": NEEDLES,
        }
    )
    biggest = max(sizes)
    smaller = sorted(sizes)[-2] if len(sizes) > 1 else biggest
    try:
        dirs: dict[int, Path] = {}
        if "pages" in cases:
            measured = pages(Wrk(args.seconds, 1), root, sizes, args.rounds)
            results["pages"] = measured["curve"]
            dirs = measured["dirs"]
        if "ingestion" in cases:
            results["ingestion"] = ingestion(
                Wrk(args.load_seconds, args.connections),
                Wrk(args.batch_seconds, args.batch_connections),
                root,
                args.rounds,
            )
        if "export" in cases:
            for size in {smaller, biggest} - dirs.keys():
                dirs[size] = data_dir(root, f"export-{size}")
                asyncio.run(load(dirs[size], entries(size, newest_now())))
            results["export"] = {
                "small": asyncio.run(export(dirs[smaller], smaller)),
                "large": asyncio.run(export(dirs[biggest], biggest)),
            }
            print(f"export: {results['export']}", flush=True)
        for path in dirs.values():  # free the disk before the sweep
            shutil.rmtree(path)
        if "sweep" in cases:
            # Long enough that the sweep (4 to 9 s here) ends inside the load.
            results["sweep"] = sweep(Wrk(args.sweep_seconds, args.connections), root, args.rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
