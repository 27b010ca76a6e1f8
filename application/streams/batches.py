"""A stream's next batch: its entries and the signed header that chains it to the last."""

from collections.abc import Sequence
from datetime import datetime

from application.ports import SealSigner
from application.streams.model import LogStream
from application.streams.ports import Batch
from domain.entry import AuditEntry
from domain.stream_batch import SignedBatchHeader, header_of


def sign_batch(
    stream: LogStream, entries: Sequence[AuditEntry], signer: SealSigner, now: datetime
) -> tuple[Batch, SignedBatchHeader]:
    """The batch after the last one `stream` delivered (`progress.sequence + 1`, naming
    `progress.chain`), signed by `signer`; the caller stores `signed.hash()` as the new
    chain once the receiver has taken it."""
    sequence = stream.progress.sequence + 1
    header = header_of(
        stream_id=stream.id,
        account=stream.account,
        sequence=sequence,
        previous=stream.progress.chain,
        entries=entries,
        sent_at=now,
    )
    signed = header.signed(signer.key_id, signer.sign)
    batch = Batch(
        stream_id=stream.id, sequence=sequence, entries=tuple(entries), header=signed.document()
    )
    return batch, signed
