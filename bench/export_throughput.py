"""Export throughput and memory: GET /exports/<token> against a plain loop, in one run.

Cases: (i) `--rows` entries (default 1,000,000) that a repository makes on the fly, exported
as NDJSON and as CSV, so the figures are the service's own cost; (ii) a tenth as many
(default 100,000) stored in the embedded store (mongomock, through `create_app` with no
override), exported as NDJSON. Each export runs through the ASGI streaming path, driven by
a hand-written client that counts the body and drops it.

Each is paired with a baseline run in the same process: the same entries serialised by a
plain loop without HTTP (`orjson.dumps(as_row(entry))` per line, as the service does;
`csv.writer` over the
neutralised `as_row` cells for CSV), which writes the same bytes as the export body.
Throughput is measured in a pass without tracemalloc, memory in a second pass with it
(peak traced memory minus what was traced when the pass began).

    .venv/bin/python -m bench.export_throughput [--rows 1000000]
"""

import argparse
import asyncio
import csv
import gc
import io
import json
import logging
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from adapters.inbound.http.export_formats import COLUMNS, as_row, neutralise
from application.reading.criteria import EntryCriteria, LogFilter
from bench.export_driver import Exporter, download, generated, newest_now, running_app
from domain.entry import AuditEntry
from entrypoints.app import Overrides
from tests.fakes import STREAM_BATCH, GeneratedEntries

RESULTS = Path(__file__).parent / "results" / "export_throughput.json"
SEED_BATCH = 5_000


@dataclass
class Output:
    rows: int
    bytes: int


def ndjson_loop(entries: Iterable[AuditEntry]) -> Output:
    rows = size = 0
    for entry in entries:
        size += len(orjson.dumps(as_row(entry)) + b"\n")
        rows += 1
    return Output(rows, size)


def csv_loop(entries: Iterable[AuditEntry]) -> Output:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = size = 0
    for entry in entries:
        row = as_row(entry)
        writer.writerow([neutralise(row[column]) for column in COLUMNS])
        rows += 1
        if rows % STREAM_BATCH == 0:  # let the text go, as the export does (per batch)
            size += len(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    size += len(buffer.getvalue().encode())
    return Output(rows, size)


async def measure(run: Callable[[], Awaitable[Output]]) -> dict[str, float]:
    """Rows/s from a pass without tracemalloc, then the peak from a pass with it."""
    gc.collect()
    started = time.perf_counter()
    output = await run()
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "rows": output.rows,
        "bytes": output.bytes,
        "seconds": seconds,
        "rows_per_s": output.rows / seconds,
        "peak_mib": (peak - before) / 2**20,
    }


def exported(exporter: Exporter, url: str, fmt: str) -> Callable[[], Awaitable[Output]]:
    async def run() -> Output:
        body = await download(exporter.app, url, b"\r\n" if fmt == "CSV" else b"\n")
        # CSV: the header is a line too, as in the loop, which counts only rows. NDJSON: the
        # signed trailer is a line the loop does not write.
        if fmt == "CSV":
            return Output(body.rows - 1, body.bytes)
        assert body.trailer_size, "an NDJSON export ends with its trailer"
        return Output(body.rows - 1, body.bytes - body.trailer_size)

    return run


def looped(
    entries: Callable[[], Iterable[AuditEntry]], fmt: str
) -> Callable[[], Awaitable[Output]]:
    loop = csv_loop if fmt == "CSV" else ndjson_loop

    async def run() -> Output:
        return loop(entries())

    return run


def paired(export: dict[str, float], baseline: dict[str, float]) -> dict[str, Any]:
    return {
        "export": export,
        "baseline": baseline,
        "time_ratio": baseline["rows_per_s"] / export["rows_per_s"],
    }


async def generated_case(rows: int, fmt: str) -> dict[str, Any]:
    newest = newest_now()
    async with running_app(
        Overrides(entries=GeneratedEntries(rows, lambda i: generated(i, newest)))
    ) as exporter:
        url = await exporter.link(fmt)
        export = await measure(exported(exporter, url, fmt))
    baseline = await measure(looped(lambda: (generated(i, newest) for i in range(rows)), fmt))
    if (export["rows"], export["bytes"]) != (baseline["rows"], baseline["bytes"]):
        raise RuntimeError(f"the export and the loop differ: {export} {baseline}")
    return paired(export, baseline)


async def stored_case(rows: int) -> dict[str, Any]:
    newest = newest_now()
    seeded = [generated(i, newest) for i in range(rows)]
    async with running_app() as exporter:
        store = exporter.app.state.store
        started = time.perf_counter()
        for start in range(0, rows, SEED_BATCH):
            await store.entries.add_many(seeded[start : start + SEED_BATCH])
        seeding = time.perf_counter() - started
        url = await exporter.link("NDJSON")
        export = await measure(exported(exporter, url, "NDJSON"))
        read_alone = await measure(store_stream(store.entries, rows))
    baseline = await measure(looped(lambda: seeded, "NDJSON"))
    # The export also holds acme's own audit trail (account created, links, downloads).
    return {
        **paired(export, baseline),
        "store_read_alone": read_alone,
        "seeding_seconds": seeding,
    }


def store_stream(entries: Any, rows: int) -> Callable[[], Awaitable[Output]]:
    """The repository's stream alone, no HTTP and no encoding: what the store costs."""
    criteria = EntryCriteria(LogFilter(account="acme", application="portal"))

    async def run() -> Output:
        count = 0
        async for batch in entries.stream(criteria, now=datetime.now(UTC)):
            count += len(batch)
        if count != rows:
            raise RuntimeError(f"the store streamed {count} of {rows} entries")
        return Output(count, 0)

    return run


async def run_all(rows: int) -> dict[str, Any]:
    stored_rows = max(1, rows // 10)
    # How time and memory grow with the size of the export: an eighth, a quarter, a half.
    scaling = [await generated_case(max(1, rows // d), "NDJSON") for d in (8, 4, 2)]
    full = await generated_case(rows, "NDJSON")
    return {
        "rows": rows,
        "stored_rows": stored_rows,
        "rows_per_chunk": STREAM_BATCH,
        "generated NDJSON": full,
        "scaling NDJSON": [*scaling, full],
        "generated CSV": await generated_case(rows, "CSV"),
        "stored NDJSON (mongomock)": await stored_case(stored_rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="generated rows")
    args = parser.parse_args()
    logging.getLogger("auditlog").setLevel(logging.ERROR)  # the embedded-store warning
    results = asyncio.run(run_all(args.rows))

    print(
        f"export throughput: {results['rows']:,} generated rows, {results['stored_rows']:,} "
        "stored; export = GET /exports/<token> through ASGI; loop = the same bytes, no HTTP"
    )
    print(f"{'case':<27}{'rows':>10}{'export rows/s':>15}{'loop rows/s':>13}{'ratio':>7}"
          f"{'export peak':>13}{'loop peak':>11}{'body MB':>9}")  # fmt: skip
    for name in ("generated NDJSON", "generated CSV", "stored NDJSON (mongomock)"):
        r = results[name]
        export, baseline = r["export"], r["baseline"]
        print(
            f"{name:<27}{export['rows']:>10,}{export['rows_per_s']:>15,.0f}"
            f"{baseline['rows_per_s']:>13,.0f}{r['time_ratio']:>6.2f}x"
            f"{export['peak_mib']:>9.1f} MiB{baseline['peak_mib']:>7.1f} MiB"
            f"{export['bytes'] / 1e6:>9.1f}"
        )
    stored = results["stored NDJSON (mongomock)"]
    alone = stored["store_read_alone"]
    print(
        f"stored: seeding took {stored['seeding_seconds']:.1f} s; the repository's stream "
        f"alone reads {alone['rows_per_s']:,.0f} rows/s, peak {alone['peak_mib']:.1f} MiB"
    )
    print("ratio: how many times longer the export takes than the loop")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
