"""A bound key's export carries a receipt per sealed row in the memory of a batch: the rows
come from a repository that makes them as it goes (`GeneratedEntries`), the seals and the
checkpoint are in the fakes before the download, and the body is counted and let go."""

import dataclasses
import tracemalloc
from datetime import datetime, timedelta
from itertools import pairwise

from adapters.inbound.http.exports import export_body
from application.exporting.grant import ExportFormat, ExportGrant
from application.reading.criteria import LogFilter
from application.services import Services
from domain.checkpoint import SealedHead, next_checkpoint
from domain.entry import AuditEntry
from domain.integrity import Seal, SealLink, new_seal, window_of
from domain.tenancy import Scope
from tests.builders import nth_entry
from tests.fakes import (
    FakeClock,
    GeneratedEntries,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryCheckpoints,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import WINDOW, window
from tests.unit.application.sealing.export_files import exporter
from tests.unit.application.support import KeyFactory

ROWS = 20_000
PEAK_GROWTH_LIMIT = 20 * 1024 * 1024
"""A batch's receipts and their chunk, and the trees of its seals, come to about 14 MiB (2026-12,
this suite): the body is several times that."""
STEP = timedelta(milliseconds=15)
"""About 4,000 entries a one-minute window: five seals, each listed by the checkpoint."""
NEWEST = window(6) - timedelta(milliseconds=1)


def generated(i: int) -> AuditEntry:
    return nth_entry(i, newest=NEWEST, step=STEP, request_ids=False)


async def sealed_windows(seals: InMemorySeals, keys: HmacSealKeys, now: datetime) -> list[Seal]:
    """Seals of every window of the generated entries, chained, oldest first."""
    by_window: dict[datetime, list[tuple[str, datetime, datetime, str]]] = {}
    for i in range(ROWS):
        entry = generated(i)
        rows = by_window.setdefault(window_of(entry.created_at, WINDOW), [])
        rows.append((entry.id, entry.created_at, entry.expires_at, entry.digest))
    written: list[Seal] = []
    link: SealLink | None = None
    for start in sorted(by_window):
        unsigned = new_seal(
            account="acme", window_start=start, window=WINDOW, entries=by_window[start],
            previous=link, sealed_at=now,
        )  # fmt: skip
        seal, link = unsigned.signed(keys.key_id, keys.sign)
        await seals.add(seal)
        written.append(seal)
    return written


async def test_a_bound_key_export_of_many_sealed_rows_carries_their_proofs_in_flat_memory(
    services: Services,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    clock: FakeClock,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    keys: InMemoryApiKeys,
    tenants: None,
    key_for: KeyFactory,
) -> None:
    clock.set(window(10))
    written = await sealed_windows(seals, seal_keys, clock.now())
    assert len(written) > 3
    assert all(a.window_end == b.window_start for a, b in pairwise(written))
    checkpoint = next_checkpoint(
        None, issued_at=clock.now(), sealed_through=written[-1].window_end,
        sealed=tuple(SealedHead.of(seal) for seal in written),
    ).signed(seal_keys.key_id, seal_keys.sign)  # fmt: skip
    await checkpoints.add(checkpoint)
    make = exporter(
        services=services, entries=GeneratedEntries(ROWS, generated),  # type: ignore[arg-type]
        seals=seals, checkpoints=checkpoints, seal_keys=seal_keys, clock=clock,
        accounts=accounts, applications=applications, keys=keys,
    )  # fmt: skip
    bound = await key_for("acme", "acme-web", scopes=(Scope.EXPORT,))
    grant = ExportGrant(
        key_id=bound.key_id, account="acme", filter=LogFilter(account="acme"),
        format=ExportFormat.NDJSON, expires_at=clock.now() + timedelta(minutes=5),
    )  # fmt: skip
    export = await make.download.execute(make.links.seal(grant))

    received = dataclasses.make_dataclass("Received", ["bytes", "proofs", "chunks"])(0, 0, 0)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        async for chunk in export_body(export):
            received.bytes += len(chunk)
            received.proofs += chunk.count(b'{"_proof"')
            received.chunks += 1
            last = chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert last.startswith(b'{"_export"')
    assert received.proofs == ROWS
    # Held in memory, this body would be over the limit: the limit can catch a buffered one.
    assert received.bytes > 1.2 * PEAK_GROWTH_LIMIT
    growth = peak - before
    assert growth < PEAK_GROWTH_LIMIT, f"peak grew by {growth / 2**20:.1f} MiB while streaming"
    assert received.chunks > ROWS // 1_000
