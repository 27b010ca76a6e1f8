"""Receipts (auditLogProof's use case) generated and checked per second, by seal size.

For each size, one window of acme's trail holding that many entries is recorded through
the batch use case on the in-memory fakes (tests/fakes.py), under a clock that stands
still, with production's window (60 s); the real sealing pass then writes its version 2
seal and the signed checkpoint listing it, with a real Ed25519 key. Measured, in rounds
that alternate, medians:

- proofs/s: `ProveEntry.execute` for entries spread over the window;
- checks/s: `check_proof` of those receipts, with the public keys only;
- the baseline: a page of one entry (`QueryAuditLogs`, first=1), the cheapest read there is;
- what a receipt costs per entry of its seal, each alone: the seal's Merkle root computed
  once (`merkle_root`, the work of the whole tree), one Merkle path (`merkle_path`, which
  builds the whole tree again for each proof) and the seal's signed header (`Seal.header`,
  which digests the whole entry list again for each proof).

The operator reads: reads by an operator record no event of their own (reads by a key
would add one queued event each, to proofs and pages alike).

    .venv/bin/python -m bench.proofs [--sizes 10,1000,10000,100000] [--seconds 1] [--rounds 3]
"""

import argparse
import asyncio
import dataclasses
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.access.principal import Operator, System
from application.integrity.proving import check_proof
from application.reading.criteria import LogFilter
from application.services import Services
from bench.sealing_overhead import BATCH, SEALING, fake_ports, services
from domain.integrity import Seal, merkle_root
from domain.proof import merkle_path
from tests.builders import nth_event
from tests.fakes import FakeClock

RESULTS = Path(__file__).parent / "results" / "proofs.json"
SIZES = (10, 1_000, 10_000, 100_000)
# Production's window (AUDITLOG_SEAL_WINDOW_SECONDS' default): a busy account's seal holds
# all it records in 60 s.
WINDOW = timedelta(seconds=60)
SAMPLED = 16
"""Entries proved per size, spread evenly over the window (first, last and between)."""
OPERATOR = Operator()
ACME = LogFilter(account="acme")


async def sealed_window(entries: int, keys: Ed25519SealKeys) -> tuple[Services, Seal]:
    """Services whose store holds one sealed, checkpointed window of `entries` entries."""
    clock = FakeClock()
    ports = fake_ports(clock)
    built = services(ports, dataclasses.replace(SEALING, window=WINDOW), keys)
    for start in range(0, entries, BATCH):
        batch = [nth_event(i, users=BATCH) for i in range(start, min(entries, start + BATCH))]
        await built.recording.record_many.execute(System(), batch)
        clock.advance(milliseconds=1)
    clock.advance(seconds=WINDOW.total_seconds() + SEALING.grace.total_seconds())
    if await built.seal_trail.run_once() != 1:
        raise RuntimeError("the window was not sealed in one seal")
    (seal,) = await ports.seals.in_range("acme", None, None)
    if len(seal.entries) != entries:
        raise RuntimeError(f"the seal holds {len(seal.entries)} entries, not {entries}")
    return built, seal


async def rate(call: Callable[[int], Awaitable[object]], seconds: float) -> float:
    """Calls per second of `call(0)`, `call(1)`, ...: for at least `seconds`, at least 5."""
    done, started = 0, time.perf_counter()
    while True:
        await call(done)
        done += 1
        elapsed = time.perf_counter() - started
        if done >= 5 and elapsed >= seconds:
            return done / elapsed


async def measure(entries: int, seconds: float, rounds: int) -> dict[str, Any]:
    keys = Ed25519SealKeys(new_signing_key())
    built, seal = await sealed_window(entries, keys)
    prove, query = built.reading.prove, built.reading.query
    count = min(SAMPLED, entries)
    indexes = [k * (entries - 1) // max(count - 1, 1) for k in range(count)]
    ids = [seal.entries[i].id for i in indexes]
    digests = [e.digest for e in seal.entries]
    documents = [(await prove.execute(OPERATOR, id_)).proof.document() for id_ in ids]
    for document in documents:
        if problems := check_proof(document, keys):
            raise RuntimeError(f"a receipt does not check: {problems}")

    async def one_proof(i: int) -> object:
        return await prove.execute(OPERATOR, ids[i % count])

    async def one_check(i: int) -> object:
        return check_proof(documents[i % count], keys)

    async def one_page(i: int) -> object:
        return await query.execute(OPERATOR, ACME, first=1, after=None)

    async def one_root(i: int) -> object:
        return merkle_root(digests)

    async def one_path(i: int) -> object:
        return merkle_path(digests, indexes[i % count])

    async def one_header(i: int) -> object:
        return seal.header()

    calls = {
        "proofs_per_s": one_proof,
        "checks_per_s": one_check,
        "page_of_one_per_s": one_page,
        "merkle_root_per_s": one_root,
        "merkle_path_per_s": one_path,
        "seal_header_per_s": one_header,
    }
    rates: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            rates[name].append(await rate(call, seconds))
    sizes = [len(json.dumps(d, separators=(",", ":"))) for d in documents]
    return {
        "entries": entries,
        **{name: statistics.median(values) for name, values in rates.items()},
        "siblings": max(len(d["siblings"]) for d in documents),
        "receipt_bytes": max(sizes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    windows = [asyncio.run(measure(n, args.seconds, args.rounds)) for n in sizes]
    result = {
        "seconds_per_measure": args.seconds,
        "rounds": args.rounds,
        "sampled_entries": SAMPLED,
        "window_seconds": WINDOW.total_seconds(),
        "windows": windows,
    }
    print(f"receipts by seal size, median of {args.rounds} alternating rounds of "
          f"{args.seconds} s per figure")  # fmt: skip
    print(f"{'entries':>8} {'proofs/s':>10} {'checks/s':>10} {'page of 1/s':>12} "
          f"{'root/s':>10} {'path/s':>10} {'header/s':>10} {'bytes':>6}")  # fmt: skip
    for w in windows:
        print(f"{w['entries']:>8,} {w['proofs_per_s']:>10,.0f} {w['checks_per_s']:>10,.0f} "
              f"{w['page_of_one_per_s']:>12,.0f} {w['merkle_root_per_s']:>10,.0f} "
              f"{w['merkle_path_per_s']:>10,.0f} {w['seal_header_per_s']:>10,.0f} "
              f"{w['receipt_bytes']:>6,}")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
