"""Where a request's time goes: pyinstrument profiles of the service and its baselines.

In process (httpx's ASGI transport into the benchmark app over the cheap store, no sockets),
each request kind runs `--requests` times under pyinstrument's sampling profiler; the
samples' self time is summed by the package it was spent in and divided by the number of
requests. Running the GraphQL request and the bare route's the same way shows which layer
the difference is in: the evidence behind "what bounds it" in docs/benchmarks.md.

    .venv/bin/python -m bench.profiles [--requests 1000]
"""

import argparse
import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pyinstrument import Profiler
from pyinstrument.frame import AWAIT_FRAME_IDENTIFIER, Frame

from bench.bench_server import KEY, build
from bench.http_bench import PAGE, RECORD, RECORD_MANY, event, gql

RESULTS = Path(__file__).parent / "results" / "profiles.json"
ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    *(
        (f"site-packages/{package}/", name)
        for package, name in (
            ("graphql", "graphql-core"),
            ("strawberry", "strawberry"),
            ("pydantic", "pydantic"),
            ("pydantic_core", "pydantic"),
            ("httpx", "client (httpx, in process)"),
            ("starlette", "HTTP framework"),
            ("fastapi", "HTTP framework"),
            ("anyio", "HTTP framework"),
        )
    ),
    ("/asyncio/", "event loop"),
)
SERVICE = ("domain", "application", "adapters", "entrypoints")
OTHER = "other (stdlib, C extensions' callers)"
HARNESS = ("client (httpx, in process)", "bench harness")


def layer(path: str | None) -> str | None:
    if path is None:
        return None
    for marker, name in LAYERS:
        if marker in path:
            return name
    relative = Path(path).resolve()
    if relative.is_relative_to(ROOT) and ".venv" not in relative.parts:
        top = relative.relative_to(ROOT).parts[0]
        return "the service" if top in SERVICE else "bench harness"
    return OTHER


def self_time(
    frame: Frame, parent: tuple[str, str], into: Counter[str], functions: Counter[str]
) -> None:
    """Sum time spent in each frame itself into its layer and its function; pyinstrument
    keeps a function's own time in a synthetic `[self]` child."""
    if frame.identifier == AWAIT_FRAME_IDENTIFIER:
        return  # waiting, not working
    if frame.is_synthetic:
        into[parent[0]] += frame.time
        functions[parent[1]] += frame.time
        return
    found = layer(frame.file_path)
    if found in (None, OTHER) and parent[0] in HARNESS:
        found = parent[0]  # what the client calls (an import, the stdlib) is the client's
    here = (found or parent[0], f"{frame.file_path_short}:{frame.function}")
    own = frame.time - sum(child.time for child in frame.children)
    into[here[0]] += own
    functions[here[1]] += own
    for child in frame.children:
        self_time(child, here, into, functions)


async def profile(call: Callable[[], Awaitable[httpx.Response]], requests: int) -> dict[str, Any]:
    for _ in range(20):  # warm: caches, imports, the first page of each kind
        (await call()).raise_for_status()
    # The profiler slows call-heavy code more than the rest: time a pass without it too.
    started = time.perf_counter()
    for _ in range(requests):
        await call()
    unprofiled = (time.perf_counter() - started) / requests * 1000
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    for _ in range(requests):
        await call()
    session = profiler.stop()
    root = session.root_frame()
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    if root is not None:
        self_time(root, (OTHER, "?"), layers, functions)
    total = sum(layers.values())
    # The client is not the service: drop it, and the harness that drives it.
    for name in HARNESS:
        total -= layers.pop(name, 0.0)
    return {
        "ms_per_request": total / requests * 1000,
        "ms_per_request_unprofiled_with_client": unprofiled,
        "layers_ms": {k: v / requests * 1000 for k, v in layers.most_common()},
        "top_functions_ms": _top(functions, requests),
    }


def _top(functions: Counter[str], requests: int) -> dict[str, float]:
    kept = [(k, v) for k, v in functions.most_common() if "httpx" not in k and "bench/" not in k]
    return {k: v / requests * 1000 for k, v in kept[:10]}


async def run(app: FastAPI, requests: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    batch = [event(i) for i in range(1_000)]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            def post(path: str, body: Any) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: http.post(path, json=body, headers=headers)

            def get(path: str) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: http.get(path, headers=headers)

            kinds = {
                "single: recordAuditEvent": post("/graphql", gql(RECORD, {"input": event(1)})),
                "single: bare route": post("/bare/record", event(1)),
                "batch 1000: recordAuditEvents": post(
                    "/graphql", gql(RECORD_MANY, {"inputs": batch})
                ),
                "batch 1000: GraphQL floor": post(
                    "/floor/graphql", gql(RECORD_MANY, {"inputs": batch})
                ),
                "batch 1000: bare route": post("/bare/record-many", {"inputs": batch}),
                "page: auditLogs(first: 100)": post("/graphql", gql(PAGE, {"filter": None})),
                "page: bare route": get("/bare/logs?first=100"),
            }
            results = {}
            for name, call in kinds.items():
                count = requests // 10 if name.startswith("batch") else requests
                results[name] = await profile(call, max(count, 10))
    return {"requests": requests, "profiler": "pyinstrument (sampling every 0.5 ms)", **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000)
    args = parser.parse_args()
    logging.getLogger("auditlog").setLevel(logging.ERROR)
    app = build(embedded=False, seed=10_000, seal=False)  # seeds with its own event loop
    results = asyncio.run(run(app, args.requests))
    for name, result in results.items():
        if not isinstance(result, dict):
            continue
        print(f"{name}: {result['ms_per_request']:.2f} ms/request")
        for layer_name, ms in result["layers_ms"].items():
            print(f"    {layer_name:<40}{ms:>8.3f} ms")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
