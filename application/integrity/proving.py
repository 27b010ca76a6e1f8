"""Use case: a receipt for one sealed entry (`domain.proof`), and checking one offline.

A receipt needs what reading the entry needs (READ, the entry's account, and its
application for a key bound to one) and nothing more: it reveals no other entry but by
hash, so keys bound to one application may have receipts for their entries. An entry the
caller may not read is NOT_FOUND, as one that does not exist.
"""

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from application.access.principal import Principal
from application.access.rate_limit import RateLimiter
from application.access.tenancy import Directory, criteria_for_reading, require_scope
from application.errors import NotFound
from application.ports import AuditEntryRepository, Checkpoints, Clock, SealKeys, Seals
from application.reading.criteria import LogFilter
from application.self_audit import SelfAudit
from domain.checkpoint import Checkpoint
from domain.entry import DIGEST_FIELDS, OMITTED_WHEN_EMPTY, AuditEntry, entry_digest
from domain.errors import InvalidField
from domain.integrity import Seal, canonical
from domain.proof import PROOF_FORMAT, EntryProof, merkle_levels, path_in, root_from_path
from domain.tenancy import Scope
from domain.timestamps import iso_utc

PROVED = "portal.audit_logs.proved"
_MS = timedelta(milliseconds=1)
ENTRIES_PER_READ_TOKEN = 10_000
"""A receipt from a seal of more entries than this costs a read token more per this many
(building its tree is work in the seal's size), never more than a bucket holds."""
CACHED_SEALS = 64
"""Seals whose tree and header are kept: receipts for entries of one window (the usual
case: a window's entries asked for one after the other) build them once."""


@dataclass(frozen=True, slots=True)
class SealTree:
    """A seal with its header and Merkle tree: what every receipt from it is cut out of."""

    seal: Seal
    header: dict[str, Any]
    """The seal's header with its id, key id and signature, as a receipt holds it (one
    object shared by every receipt from the seal)."""
    levels: list[list[bytes]]
    index: dict[str, int]

    def leaf_of(self, entry: AuditEntry) -> int | None:
        """The entry's leaf, or None if the seal does not list it as it is."""
        index = self.index.get(entry.id)
        if index is None or self.seal.entries[index].digest != entry.digest:
            return None
        return index

    def proof(self, entry: AuditEntry, index: int, checkpoint: dict[str, Any]) -> EntryProof:
        """The receipt for the entry at leaf `index`; `checkpoint` is the document of one that
        lists the seal as published to the seal's account (`Checkpoint.document(account)`:
        naming no other tenant), built once for every receipt it goes in."""
        return EntryProof(
            entry=proof_entry(entry),
            leaf_index=index,
            leaf_count=len(self.seal.entries),
            siblings=tuple(path_in(self.levels, index)),
            seal=self.header,
            checkpoint=checkpoint,
        )


class SealTrees:
    """Seals' trees, built off the event loop (a window of tens of thousands of entries takes
    tens of milliseconds) and the last `CACHED_SEALS` kept for the next receipt."""

    def __init__(self) -> None:
        self._trees: OrderedDict[tuple[str, str], SealTree] = OrderedDict()

    async def of(self, seal: Seal) -> SealTree:
        key = (seal.id, seal.signature)
        tree = self._trees.get(key)
        if tree is None:
            tree = await asyncio.to_thread(_build, seal)
            self._trees[key] = tree
            if len(self._trees) > CACHED_SEALS:
                self._trees.popitem(last=False)
        else:
            self._trees.move_to_end(key)
        return tree


async def listing_of(checkpoints: Checkpoints, seal: Seal) -> Checkpoint | None:
    """The first checkpoint that lists the seal, or None if none does yet."""
    for checkpoint in await checkpoints.listing(
        seal.account, seal.window_start, seal.window_start + _MS
    ):
        if any(head.seal_id == seal.id for head in checkpoint.sealed):
            return checkpoint
    return None


def proof_entry(entry: AuditEntry) -> dict[str, Any]:
    """The entry as a receipt holds it: its digested fields under their stored names
    (timestamps ISO 8601 UTC, milliseconds), and its digest."""
    fields = entry.digested_values()
    for name in ("created_at", "expires_at", "occurred_at"):
        if fields[name] is not None:
            fields[name] = iso_utc(fields[name])
    return {**fields, "digest": entry.digest}


@dataclass(frozen=True, slots=True)
class Receipt:
    entry: AuditEntry
    proof: EntryProof


class ProveEntry:
    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        seals: Seals,
        checkpoints: Checkpoints,
        directory: Directory,
        clock: Clock,
        limiter: RateLimiter,
        self_audit: SelfAudit,
    ) -> None:
        self._entries = entries
        self._seals = seals
        self._checkpoints = checkpoints
        self._directory = directory
        self._clock = clock
        self._limiter = limiter
        self._self_audit = self_audit
        self._trees = SealTrees()

    async def execute(self, principal: Principal, entry_id: str) -> Receipt:
        self._limiter.take(principal, "read")
        with self._self_audit.viewed(principal, PROVED):
            require_scope(principal, Scope.READ)
            criteria = await criteria_for_reading(principal, LogFilter(), self._directory)
            entry = await self._entries.get(entry_id, now=self._clock.now())
            if entry is None or not criteria.admits(entry):
                raise NotFound("entry", entry_id)
            seal = await self._seal_of(entry)
            self._charge(principal, seal)
            tree = await self._trees.of(seal)
            index = tree.leaf_of(entry)
            if index is None:
                raise InvalidField(
                    "id", "the entry is not as its seal lists it: run verifyAuditLogs"
                )
            checkpoint = await listing_of(self._checkpoints, seal)
            if checkpoint is None:
                raise InvalidField(
                    "id",
                    "the entry's seal is in no checkpoint yet: ask again after the next "
                    "sealing pass",
                )
            proof = tree.proof(entry, index, checkpoint.document(seal.account))
            return Receipt(entry, proof)

    def _charge(self, principal: Principal, seal: Seal) -> None:
        extra = (len(seal.entries) - 1) // ENTRIES_PER_READ_TOKEN
        burst = self._limiter.burst(principal, "read")
        if burst is not None:
            extra = min(extra, burst - 1)
        if extra > 0:
            self._limiter.take(principal, "read", extra)

    async def _seal_of(self, entry: AuditEntry) -> Seal:
        moment = entry.created_at
        covering = [
            seal
            for seal in await self._seals.in_range(entry.account, moment, moment + _MS)
            if seal.window_start <= moment < seal.window_end
        ]
        if not covering:
            raise InvalidField(
                "id", "the entry is not sealed yet: ask again once its window closes"
            )
        seal = covering[0]
        if seal.version < 2:
            raise InvalidField(
                "id",
                "the entry was sealed before receipts existed (a version 1 seal): verify it "
                "with verifyAuditLogs or an export",
            )
        return seal


def _build(seal: Seal) -> SealTree:
    signed = {"id": seal.id, "key_id": seal.key_id, "signature": seal.signature}
    return SealTree(
        seal=seal,
        header={**seal.header(), **signed},
        levels=merkle_levels([e.digest for e in seal.entries]),
        index={e.id: i for i, e in enumerate(seal.entries)},
    )


def check_proof(document: Any, keys: SealKeys) -> list[str]:
    """What does not hold in a receipt, checked with nothing but the published keys; empty
    when it proves its entry. Fails closed: anything unreadable is a problem, never a pass."""
    try:
        return _check(document, keys)
    except (LookupError, TypeError, ValueError, AttributeError):
        return ["the proof is not in the format this version reads"]


def _check(document: Any, keys: SealKeys) -> list[str]:
    if not isinstance(document, dict) or document.get("proof") != PROOF_FORMAT:
        return ["not a proof of a format this version reads"]
    entry, seal = document["entry"], document["seal"]
    if not isinstance(entry, dict) or set(entry) not in (
        {*DIGEST_FIELDS, "digest"},
        {*DIGEST_FIELDS, "digest"} - OMITTED_WHEN_EMPTY,  # issued before those fields existed
    ):
        return ["the entry does not hold exactly the digested fields and its digest"]
    problems: list[str] = []
    digest = entry_digest(entry)
    if digest != entry["digest"]:
        problems.append("the entry's fields do not match its digest")
    header = {k: v for k, v in seal.items() if k not in ("id", "key_id", "signature")}
    if header.get("seal") != 2:
        return [*problems, "the seal is not a version 2 header"]
    index, count = document["leaf_index"], document["leaf_count"]
    if not isinstance(index, int) or not isinstance(count, int) or count != header["count"]:
        problems.append("the leaf count is not the seal's")
    elif root_from_path(digest, index, count, document["siblings"]) != header["merkle_root"]:
        problems.append("the path does not lead from the entry to the seal's Merkle root")
    if not keys.verify(seal["key_id"], canonical(header), seal["signature"]):
        problems.append("the seal's signature does not verify")
    if entry["account"] != header["account"] or not (
        header["window_start"] <= entry["created_at"] < header["window_end"]
    ):
        problems.append("the entry is not of the seal's account and window")
    if seal["id"] != f"{header['account']}/{header['window_start']}":
        problems.append("the seal's id does not name its account and window")
    signed = {**header, "key_id": seal["key_id"], "signature": seal["signature"]}
    seal_hash = hashlib.sha256(canonical(signed)).hexdigest()
    checkpoint = Checkpoint.from_document(document["checkpoint"])
    if not keys.verify(checkpoint.key_id, checkpoint.message(), checkpoint.signature):
        problems.append("the checkpoint's signature does not verify")
    if not any(
        head.seal_id == seal["id"] and head.seal_hash == seal_hash for head in checkpoint.sealed
    ):
        problems.append("the checkpoint does not list this seal")
    return problems


def proof_hash(document: Any) -> str:
    """What an export's trailer digests of a `_proof` line: SHA-256 (hex) of the canonical
    JSON of its receipt, so any change to a receipt's values changes it."""
    return hashlib.sha256(canonical(document)).hexdigest()
