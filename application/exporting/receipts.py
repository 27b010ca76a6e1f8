"""The receipts an export carries for a key bound to one application, batch by batch.

Such a key may not see seals (each lists every application's entries of its window), so its
export proves its rows one by one instead: after each batch of rows, a receipt for each row
whose window is sealed in a checkpoint no newer than the one read when the export began.
That bound lets a verifier hold the file to it: a row before the `sealed_through` of any
receipt's checkpoint was sealed by then, and so has a receipt of its own. Memory stays that
of a batch: the seals of its windows, and the trees of the last few seals (`SealTrees`).
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from application.integrity.proving import SealTree, SealTrees, listing_of
from application.ports import Checkpoints, Seals
from domain.checkpoint import Checkpoint
from domain.entry import AuditEntry
from domain.proof import EntryProof

_MS = timedelta(milliseconds=1)


class BatchProofs:
    def __init__(
        self, *, account: str, seals: Seals, checkpoints: Checkpoints, through: Checkpoint | None
    ) -> None:
        self._account = account
        self._seals = seals
        self._checkpoints = checkpoints
        self._through = through
        self._trees = SealTrees()

    async def of(self, batch: Sequence[AuditEntry]) -> list[EntryProof]:
        """A receipt for each entry of the batch its seal lists as it is, in batch order. An
        entry its seal does not list so gets none, and a verifier then reports it."""
        if not batch or self._through is None:
            return []
        moments = [entry.created_at for entry in batch]
        listed: list[tuple[SealTree, dict[str, Any]]] = []
        for seal in await self._seals.in_range(self._account, min(moments), max(moments) + _MS):
            if seal.version < 2:
                continue  # sealed before receipts existed: its header cannot prove a leaf
            checkpoint = await listing_of(self._checkpoints, seal)
            if checkpoint is not None and checkpoint.sequence <= self._through.sequence:
                document = checkpoint.document(self._account)
                listed.append((await self._trees.of(seal), document))
        proofs: list[EntryProof] = []
        for entry in batch:
            for tree, document in listed:
                seal = tree.seal
                if seal.window_start <= entry.created_at < seal.window_end:
                    index = tree.leaf_of(entry)
                    if index is not None:
                        proofs.append(tree.proof(entry, index, document))
                    break
        return proofs
