"""Ingestion with sealing on versus off, in one run.

Records batches of events through the batch record use case over an in-memory store that
costs almost nothing (so the service's own cost shows), once with the sealer running
beside the writers (a 50 ms window, closing after 50 ms, a pass every 20 ms: far busier
than the production default of a pass every 30 s), each step of a pass ending with its
signed checkpoint as in the service, and once without it. Rounds alternate.
A third variant stands for the service before sealing existed: no digest computed at all.
Also reports what the entry digest itself costs per entry.

    .venv/bin/python -m bench.sealing_overhead [--events 200000]
"""

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.observability.metrics import Metrics
from adapters.outbound.clock import SystemClock
from adapters.outbound.ids import ObjectIdGenerator
from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.access.principal import System
from application.integrity.sealing import SealingConfig
from application.ports import Clock
from application.services import Ports, Services
from domain import entry as entry_module
from domain.entry import entry_digest
from domain.plan import DEFAULT_PLANS, PlanCatalog
from domain.tenancy import Account, Application
from tests import configs
from tests.builders import nth_entry, nth_event
from tests.fakes import (
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySealerState,
    InMemorySeals,
)

RESULTS = Path(__file__).parent / "results" / "sealing_overhead.json"
BATCH = 500


# A 50 ms window, closing 50 ms after it ends: far busier than production's (60 s, 120 s).
SEALING = SealingConfig(
    window=timedelta(milliseconds=50),
    grace=timedelta(milliseconds=50),
    lease=timedelta(seconds=5),
    expiry_tolerance=timedelta(minutes=1),
)


def fake_ports(clock: Clock | None = None) -> Ports:
    """acme and its portal over the in-memory fakes."""
    accounts, applications = InMemoryAccounts(), InMemoryApplications()
    accounts.accounts["acme"] = Account(id="acme", name="Acme", plan="pro")
    applications.applications["portal"] = Application(id="portal", account="acme", name="Portal")
    return Ports(
        entries=InMemoryAuditEntries(), accounts=accounts, applications=applications,
        keys=InMemoryApiKeys(), seals=InMemorySeals(), sealer_state=InMemorySealerState(),
        checkpoints=InMemoryCheckpoints(),
        clock=clock or SystemClock(), ids=ObjectIdGenerator(),
    )  # fmt: skip


def services(
    ports: Ports | None = None,
    sealing: SealingConfig = SEALING,
    keys: Ed25519SealKeys | None = None,
) -> Services:
    """The service over `ports` (else `fake_ports()`), sealing with a real Ed25519 key;
    bench/proofs.py passes a clock that stands still, production's window, and the keys it
    checks receipts with."""
    return Services.build(
        ports or fake_ports(),
        plans=PlanCatalog(DEFAULT_PLANS),
        operator_token="x" * 32,
        export_links=None,  # type: ignore[arg-type]
        seal_keys=keys or Ed25519SealKeys(new_signing_key()),
        telemetry=Metrics(),
        sealing=sealing,
        export_link_ttl=configs.export_link_ttl(),
        interceptor=configs.emitter_config(),
        # The system principal records here, which no limit applies to; off all the same.
        rate_limits=configs.rate_limits(enabled=False),
        auth_failure_limits=configs.auth_failure_limits(enabled=False),
        **configs.event_timing_kwargs(),
    )


def _no_digest(fields: object) -> str:
    return "0" * 64


async def ingest(events: int, sealing: bool, digest: bool = True) -> tuple[float, int, int]:
    """Events/s, and the seals and signed checkpoints the sealer wrote meanwhile."""
    if not digest:
        entry_module.entry_digest = _no_digest  # type: ignore[assignment]
    try:
        return await _ingest(events, sealing)
    finally:
        entry_module.entry_digest = entry_digest


async def _ingest(events: int, sealing: bool) -> tuple[float, int, int]:
    ports = fake_ports()
    built = services(ports)
    principal = System()
    batch = [
        nth_event(i, actions=("auth.login",), users=BATCH, reasons=(None, None), user_agent=None)
        for i in range(BATCH)
    ]
    stop = asyncio.Event()

    async def seal() -> None:
        while not stop.is_set():
            await built.seal_trail.run_once()
            await asyncio.sleep(0.02)

    sealer = asyncio.create_task(seal()) if sealing else None
    started = time.perf_counter()
    for _ in range(events // BATCH):
        await built.recording.record_many.execute(principal, batch)
        await asyncio.sleep(0)  # let the sealer in, as requests would
    elapsed = time.perf_counter() - started
    stop.set()
    if sealer is not None:
        await sealer
    await asyncio.sleep(0.15)
    checkpoint = await ports.checkpoints.latest()
    signed = 0 if checkpoint is None else checkpoint.sequence
    return events / elapsed, built.seal_trail.sealed, signed


def digest_cost(samples: int = 20_000) -> float:
    entry = nth_entry(1, newest=datetime.now(UTC), digest="x")
    started = time.perf_counter()
    for _ in range(samples):
        entry.content_digest()
    return (time.perf_counter() - started) / samples * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    before, off, on, seals, checkpoints = [], [], [], 0, 0
    for _ in range(args.rounds):
        before.append(asyncio.run(ingest(args.events, sealing=False, digest=False))[0])
        off.append(asyncio.run(ingest(args.events, sealing=False))[0])
        rate, written, signed = asyncio.run(ingest(args.events, sealing=True))
        on.append(rate)
        seals += written
        checkpoints += signed
    result = {
        "events_per_round": args.events,
        "rounds": args.rounds,
        "before_sealing_events_per_s": statistics.median(before),
        "sealing_off_events_per_s": statistics.median(off),
        "digest_ratio_to_before": statistics.median(off) / statistics.median(before),
        "sealing_on_events_per_s": statistics.median(on),
        "ratio_on_to_off": statistics.median(on) / statistics.median(off),
        "seals_written": seals,
        "checkpoints_written": checkpoints,
        "digest_cost_us": digest_cost(),
    }
    print(f"ingestion through recordAuditEvents' use case, batches of {BATCH}, median of "
          f"{args.rounds} alternating rounds of {args.events} events")  # fmt: skip
    print(f"  no digest (before sealing existed): "
          f"{result['before_sealing_events_per_s']:>10,.0f} events/s")  # fmt: skip
    print(f"  sealing off (digest computed): {result['sealing_off_events_per_s']:>10,.0f} events/s "
          f"({result['digest_ratio_to_before']:.2f} x before)")  # fmt: skip
    print(f"  sealing on:  {result['sealing_on_events_per_s']:>10,.0f} events/s "
          f"({result['ratio_on_to_off']:.2f} x off; {seals} seals and {checkpoints} signed "
          "checkpoints written)")  # fmt: skip
    print(f"  the entry digest alone: {result['digest_cost_us']:.1f} µs per entry")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
