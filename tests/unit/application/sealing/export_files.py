"""NDJSON exports made by the real use case and body encoder over the fakes, as lines a test
can edit, and a forger's helper that signs a trailer again over edited lines (what someone
holding the signing key, or the service over a tampered store, would write)."""

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

from adapters.inbound.http.exports import export_body
from application.access.tenancy import Directory
from application.exporting.export import DownloadExport
from application.exporting.grant import ExportFormat, ExportGrant
from application.exporting.lines import ProofLine, Row, SealLine, read_line
from application.integrity.offline_verify import ExportReport, verify_export
from application.integrity.proving import proof_hash
from application.ports import NoTelemetry
from application.reading.criteria import LogFilter
from application.services import Services
from domain.export_trailer import Digests, ExportTrailer, SealsSummary
from domain.integrity import Problem
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryApiKeys,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemoryExportLinks,
    InMemorySeals,
)


@dataclasses.dataclass
class Exporter:
    download: DownloadExport
    links: InMemoryExportLinks
    clock: FakeClock

    async def lines(
        self, wanted: LogFilter | None = None, *, key_id: str | None = None, account: str = "acme"
    ) -> list[str]:
        """The export's body as lines, newest entry first, then seals, then the trailer."""
        grant = ExportGrant(
            key_id=key_id,
            account=account,
            filter=wanted or LogFilter(account=account),
            format=ExportFormat.NDJSON,
            expires_at=self.clock.now() + timedelta(minutes=5),
        )
        export = await self.download.execute(self.links.seal(grant))
        body = b"".join([chunk async for chunk in export_body(export)])
        return body.decode().splitlines()


def exporter(
    *,
    services: Services,
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    seal_keys: HmacSealKeys,
    clock: FakeClock,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    keys: InMemoryApiKeys,
) -> Exporter:
    links = InMemoryExportLinks()
    download = DownloadExport(
        directory=Directory(accounts, applications),
        plans=services.plans,
        keys=keys,
        entries=entries,
        seals=seals,
        checkpoints=checkpoints,
        signer=seal_keys,
        clock=clock,
        links=links,
        self_audit=services.self_audit,
        limiter=services.limiter,
        telemetry=NoTelemetry(),
    )
    return Exporter(download, links, clock)


def check(lines: list[str], keys: HmacSealKeys | None = None) -> ExportReport:
    return verify_export(lines, keys or HmacSealKeys())


def kinds(report: ExportReport) -> list[tuple[str, str | None]]:
    return sorted((p.kind, p.entry_id) for p in report.problems)


def details(report: ExportReport, kind: str) -> list[str]:
    return [p.detail for p in report.problems if p.kind == kind]


def trailer_of(lines: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(lines[-1])
    return document


def signed_again(lines: list[str], keys: HmacSealKeys | None = None, **changes: Any) -> list[str]:
    """`lines` with their trailer rebuilt over them (and `changes` applied) and signed."""
    *body, last = lines
    parsed = [read_line(number, line) for number, line in enumerate(body, start=1)]
    rows = [line for line in parsed if isinstance(line, Row)]
    seals = [line.seal for line in parsed if isinstance(line, SealLine)]
    proofs = [line.document for line in parsed if isinstance(line, ProofLine)]
    old = read_line(len(lines), last)
    assert not isinstance(old, Row | SealLine)
    trailer: ExportTrailer = old.trailer  # type: ignore[union-attr]
    row_digests, seal_hashes, proof_hashes = Digests(), Digests(), Digests()
    for proof in proofs:
        proof_hashes.add(proof_hash(proof))
    for row in rows:
        row_digests.add(row.digest)
    for seal in seals:
        seal_hashes.add(seal.hash())
    fields: dict[str, Any] = {
        "count": len(rows),
        "rows_digest": row_digests.hexdigest(),
        "oldest": min((r.created_at for r in rows), default=None),
        "newest": max((r.created_at for r in rows), default=None),
        "seals": None
        if trailer.seals is None
        else SealsSummary(len(seals), seal_hashes.hexdigest()),
        "proofs": None
        if trailer.proofs is None
        else SealsSummary(len(proofs), proof_hashes.hexdigest()),
    }
    rebuilt = dataclasses.replace(trailer, **{**fields, **changes})
    signer = keys or HmacSealKeys()
    resigned = rebuilt.signed(signer.key_id, signer.sign)
    line = json.dumps({"_export": resigned.body(), "signature": resigned.signature})
    return [*body, line]


def window_of_problem(problems: list[Problem], kind: str) -> datetime | None:
    return next(p.window for p in problems if p.kind == kind)
