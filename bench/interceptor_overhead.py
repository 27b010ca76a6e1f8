"""Added latency of an audited call against the same call unaudited, in one run.

The flow is a minimal async function (one event-loop yield), so the figure is the
interceptor's own cost: binding arguments, deriving fields, validating the event and
enqueueing it. Calls alternate between the two variants so both see the same machine
state, and the added latency is taken pair by pair. The sender runs concurrently, against a
sink that does nothing (`idle`) or one that takes 20 ms per batch (`slow sink`), to show
the caller does not wait for it.

    .venv/bin/python -m bench.interceptor_overhead [--calls 20000]
"""

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from adapters.observability.metrics import Metrics
from application.interceptor import AuditEmitter, Auditor
from domain.entry import AuditEvent
from tests import configs

RESULTS = Path(__file__).parent / "results" / "interceptor_overhead.json"


class Sink:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def send(self, events: Sequence[AuditEvent], *, delivery_id: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)


async def login(email: str, password: str) -> str:
    await asyncio.sleep(0)
    return "session"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(calls: int, sink_delay: float) -> dict[str, float]:
    # The service's own telemetry, so the figure includes what counting costs in production.
    metrics = Metrics()
    emitter = AuditEmitter(
        Sink(sink_delay), configs.emitter_config(capacity=calls * 2), telemetry=metrics
    )
    emitter.start()
    audited = Auditor(emitter, telemetry=metrics).audited(
        "auth.login", application="portal", email=lambda call: call["email"]
    )(login)
    plain: list[float] = []
    wrapped: list[float] = []

    async def timed(flow: Callable[[str, str], Awaitable[str]], into: list[float]) -> None:
        started = time.perf_counter_ns()
        await flow("bob@example.com", "secret")
        into.append((time.perf_counter_ns() - started) / 1000)

    for i in range(calls):
        first, second = ((login, plain), (audited, wrapped))[:: 1 if i % 2 else -1]
        await timed(*first)
        await timed(*second)
    await emitter.stop()
    counters = {
        result: metrics.registry.get_sample_value(
            "auditlog_interceptor_events_total", {"result": result}
        )
        for result in ("sent", "failed", "dropped", "invalid")
    }
    if counters != {"sent": calls, "failed": 0, "dropped": 0, "invalid": 0}:
        # A sink that fails measures a different thing: refuse to report it.
        raise RuntimeError(f"the sink did not take every event: {counters}")
    result = {
        "plain_p50_us": percentile(plain, 0.5),
        "plain_p99_us": percentile(plain, 0.99),
        "audited_p50_us": percentile(wrapped, 0.5),
        "audited_p99_us": percentile(wrapped, 0.99),
        "plain_mean_us": statistics.fmean(plain),
        "audited_mean_us": statistics.fmean(wrapped),
    }
    # Added latency call by call: each audited call against the plain call beside it. The
    # difference of the two p99s is not that: the tails come from whatever else the loop
    # ran during a call (the sender, GC), and land on either variant.
    added = [a - p for a, p in zip(wrapped, plain, strict=True)]
    result["added_p50_us"] = percentile(added, 0.5)
    result["added_p99_us"] = percentile(added, 0.99)
    result["ratio_p50"] = result["audited_p50_us"] / result["plain_p50_us"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    results = {
        "calls": args.calls,
        "idle sink": asyncio.run(measure(args.calls, 0.0)),
        "slow sink (20 ms/batch)": asyncio.run(measure(args.calls, 0.02)),
    }
    print(f"interceptor overhead, {args.calls} calls of each variant, alternating (microseconds)")
    print(f"{'sink':<26}{'plain p50':>10}{'p99':>8}{'audited p50':>13}{'p99':>8}"
          f"{'added p50':>11}{'p99':>8}{'ratio p50':>11}")  # fmt: skip
    for name in ("idle sink", "slow sink (20 ms/batch)"):
        r = results[name]
        print(
            f"{name:<26}{r['plain_p50_us']:>10.1f}{r['plain_p99_us']:>8.1f}"
            f"{r['audited_p50_us']:>13.1f}{r['audited_p99_us']:>8.1f}"
            f"{r['added_p50_us']:>11.1f}{r['added_p99_us']:>8.1f}{r['ratio_p50']:>11.2f}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
