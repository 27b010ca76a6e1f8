"""Use cases: request an export link, and download through it.

Download is enforced here, not only in a UI: a link needs the EXPORT scope (or the
operator) and an account whose *current* plan allows download, and both are checked again
when the link is used, so a plan downgrade or a revoked key closes links already handed out.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from application.access.origin import Origin
from application.access.principal import KeyHolder, Operator, Principal, System
from application.access.rate_limit import RateLimiter
from application.access.tenancy import (
    Directory,
    bound_application,
    criteria_for_export,
    link_holder,
    sees_seals,
)
from application.errors import InvalidExportLink
from application.exporting.grant import ExportFormat, ExportGrant
from application.exporting.receipts import BatchProofs
from application.integrity.proving import proof_hash
from application.ports import (
    ApiKeys,
    AuditEntryRepository,
    Checkpoints,
    Clock,
    ExportLinks,
    Seals,
    SealSigner,
    Telemetry,
)
from application.reading.criteria import EntryCriteria, LogFilter, filter_document
from application.self_audit import SelfAudit
from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.export_trailer import CheckpointRef, Digests, ExportTrailer, SealsSummary
from domain.integrity import Seal
from domain.plan import PlanCatalog
from domain.proof import EntryProof


@dataclass(frozen=True, slots=True)
class ExportLink:
    token: str
    format: ExportFormat
    expires_at: datetime


@dataclass(slots=True)
class Export:
    account: str
    format: ExportFormat
    entries: AsyncGenerator[Sequence[AuditEntry], None]
    """Newest first, live entries only, in the batches they are read from the store in."""
    seals: Callable[[], AsyncIterator[Seal]]
    """Once the entries are read: the seals of the windows they came from, oldest first,
    so a verifier can check the file offline; none for a key bound to one application."""
    checkpoint: Checkpoint | None
    """The latest checkpoint, read before the entries: every window it says is sealed has
    its seal among `seals` (the sealer writes a seal before the checkpoint that moves past
    it). None for a key bound to one application (it gets no seals to check it against),
    for CSV, and before the first sealing pass."""
    trailer: Callable[[], ExportTrailer]
    """Once the entries and seals are read: the signed statement of what the export holds.
    RuntimeError if either was not read to its end, or a batch's proofs were not asked for."""
    proofs: Callable[[Sequence[AuditEntry]], Awaitable[list[EntryProof]]] | None = None
    """For an NDJSON export by a key bound to one application (else None): the receipts of
    a batch's sealed entries, asked for once per batch, after its rows went out."""


class RequestExport:
    def __init__(
        self,
        *,
        directory: Directory,
        plans: PlanCatalog,
        clock: Clock,
        links: ExportLinks,
        self_audit: SelfAudit,
        link_ttl: timedelta,
        limiter: RateLimiter,
    ) -> None:
        self._limiter = limiter
        self._directory = directory
        self._plans = plans
        self._clock = clock
        self._links = links
        self._self_audit = self_audit
        self._ttl = link_ttl

    async def execute(
        self, principal: Principal, wanted: LogFilter, export_format: ExportFormat
    ) -> ExportLink:
        self._limiter.take(principal, "read")
        with self._self_audit.exported(principal, account=wanted.account) as record:
            criteria = await criteria_for_export(principal, wanted, self._directory, self._plans)
            assert criteria.account is not None
            record.account = criteria.account
            grant = ExportGrant(
                key_id=_key_id(principal),
                account=criteria.account,
                filter=criteria.filter,
                format=export_format,
                expires_at=self._clock.now() + self._ttl,
            )
            record.reason = f"link created for {export_format.value}"
            return ExportLink(self._links.seal(grant), export_format, grant.expires_at)


class DownloadExport:
    def __init__(
        self,
        *,
        directory: Directory,
        plans: PlanCatalog,
        keys: ApiKeys,
        entries: AuditEntryRepository,
        seals: Seals,
        checkpoints: Checkpoints,
        signer: SealSigner,
        clock: Clock,
        links: ExportLinks,
        self_audit: SelfAudit,
        limiter: RateLimiter,
        telemetry: Telemetry,
    ) -> None:
        self._seals = seals
        self._checkpoints = checkpoints
        self._signer = signer
        self._limiter = limiter
        self._telemetry = telemetry
        self._directory = directory
        self._plans = plans
        self._keys = keys
        self._entries = entries
        self._clock = clock
        self._links = links
        self._self_audit = self_audit

    async def execute(self, token: str, origin: Origin | None = None) -> Export:
        grant = self._links.open(token)
        now = self._clock.now()
        if grant.expires_at <= now:
            raise InvalidExportLink("this export link has expired")
        principal = await self._principal(grant, origin or Origin())
        self._limiter.take(principal, "read")
        with self._self_audit.exported(principal, account=grant.account, only_failures=True):
            criteria = await criteria_for_export(
                principal, grant.filter, self._directory, self._plans
            )
        with_seals = sees_seals(principal)
        ndjson = grant.format is ExportFormat.NDJSON
        tally = _Tally(with_seals=with_seals, with_proofs=ndjson and not with_seals)
        checkpoint = await self._checkpoints.latest() if ndjson else None
        proofs = None
        if tally.proofs is not None:
            proofs = BatchProofs(
                account=grant.account,
                seals=self._seals,
                checkpoints=self._checkpoints,
                through=checkpoint,
            )
            checkpoint = None  # it lists every application's seals: the receipts carry theirs
        return Export(
            account=grant.account,
            format=grant.format,
            entries=self._stream(principal, criteria, grant.format, tally, now),
            seals=lambda: self._covering(grant.account, tally),
            checkpoint=checkpoint,
            trailer=lambda: self._trailer(
                principal, criteria, grant.format, tally, now, checkpoint
            ),
            proofs=None if proofs is None else lambda batch: self._proofs(proofs, batch, tally),
        )

    async def _principal(self, grant: ExportGrant, origin: Origin) -> Principal:
        key = None if grant.key_id is None else await self._keys.get(grant.key_id)
        if key is not None and key.revoked:
            self._self_audit.key_rejected(key, origin)
        return link_holder(grant, key, origin)

    async def _stream(
        self,
        principal: Principal,
        criteria: EntryCriteria,
        export_format: ExportFormat,
        tally: "_Tally",
        now: datetime,
    ) -> AsyncGenerator[Sequence[AuditEntry], None]:
        with self._self_audit.exported(principal, account=criteria.account) as record:
            async for batch in self._entries.stream(criteria, now=now):
                self._telemetry.export_rows(len(batch))
                tally.rows_of(batch)
                yield batch
            tally.rows_done = True
            record.reason = f"downloaded {tally.rows.count} entries as {export_format.value}"

    async def _proofs(
        self, proofs: BatchProofs, batch: Sequence[AuditEntry], tally: "_Tally"
    ) -> list[EntryProof]:
        found = await proofs.of(batch)
        assert tally.proofs is not None
        for proof in found:
            tally.proofs.add(proof_hash(proof.document()))
        tally.proved += 1
        return found

    async def _covering(self, account: str, tally: "_Tally") -> AsyncIterator[Seal]:
        if tally.seals is not None and tally.oldest is not None and tally.newest is not None:
            for seal in await self._seals.in_range(account, tally.oldest, tally.newest + _MS):
                tally.seals.add(seal.hash())
                yield seal
        tally.seals_done = True

    def _trailer(
        self,
        principal: Principal,
        criteria: EntryCriteria,
        export_format: ExportFormat,
        tally: "_Tally",
        now: datetime,
        checkpoint: Checkpoint | None,
    ) -> ExportTrailer:
        if not (tally.rows_done and tally.seals_done):
            raise RuntimeError("a trailer is signed only once every row and seal went out")
        if tally.proofs is not None and tally.proved != tally.batches:
            raise RuntimeError("a trailer is signed only once every batch's proofs went out")
        assert criteria.account is not None
        seals, proofs = tally.seals, tally.proofs
        trailer = ExportTrailer(
            account=criteria.account,
            filter=filter_document(criteria.filter),
            key=_key_id(principal),
            application=bound_application(principal),
            format=export_format.value,
            exported_at=now,
            count=tally.rows.count,
            oldest=tally.oldest,
            newest=tally.newest,
            rows_digest=tally.rows.hexdigest(),
            seals=None if seals is None else SealsSummary(seals.count, seals.hexdigest()),
            checkpoint=None
            if checkpoint is None
            else CheckpointRef(checkpoint.sequence, checkpoint.hash()),
            proofs=None if proofs is None else SealsSummary(proofs.count, proofs.hexdigest()),
        )
        return trailer.signed(self._signer.key_id, self._signer.sign)


_MS = timedelta(milliseconds=1)


class _Tally:
    """What went out so far: the rows' count, digest and time span, the seals' digest, and
    the proofs' digest with how many batches had theirs asked for."""

    def __init__(self, *, with_seals: bool, with_proofs: bool) -> None:
        self.rows = Digests()
        self.seals = Digests() if with_seals else None
        self.proofs = Digests() if with_proofs else None
        self.batches = 0
        self.proved = 0
        self.oldest: datetime | None = None
        self.newest: datetime | None = None
        self.rows_done = False
        self.seals_done = False

    def rows_of(self, batch: Sequence[AuditEntry]) -> None:
        self.batches += 1
        if not batch:
            return
        add = self.rows.add
        for entry in batch:
            add(entry.digest)
        moments = [entry.created_at for entry in batch]
        if self.oldest is not None and self.newest is not None:
            moments += (self.oldest, self.newest)
        self.oldest, self.newest = min(moments), max(moments)


def _key_id(principal: Principal) -> str | None:
    """The key a link and a trailer name; None for the operator."""
    match principal:
        case KeyHolder():
            return principal.key_id
        case Operator() | System():  # the service, were it to export, as the operator
            return None
        case _:
            assert_never(principal)
