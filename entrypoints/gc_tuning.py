"""The garbage collector's thresholds for the service's long-running processes."""

import gc

# Python's defaults (700, 10, 10) collect the youngest objects every 700 allocations and
# every object every 7,000 collections or so: a batch of 1,000 events allocates some 100,000
# short-lived objects (parsed JSON, coerced inputs, entries), so a request paid for many
# collections, each walking what the process holds (caches, stores kept in memory). Almost
# nothing the service allocates is cyclic garbage; collecting less often costs little memory.
# (bench/http_bench.py: 0.2 to 0.3 of a batch's time went to the collector.)
GC_THRESHOLDS = (20_000, 50, 1_000)


def tune_garbage_collection() -> None:
    """The collector's thresholds for a serving process (GC_THRESHOLDS)."""
    gc.set_threshold(*GC_THRESHOLDS)
