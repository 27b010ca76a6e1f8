"""Receipts: the proof that one entry is in a signed seal, and the seal in a checkpoint.

A proof carries the entry's fields and digest, its leaf index among the seal's `count`
leaves, the sibling hashes from its leaf up to the seal's Merkle root, the seal's signed
header with its key id and signature (version 2 seals only: the header holds the entry
list's digest, never the list), and the signed checkpoint that lists the seal. It reveals
nothing of the window's other entries but hashes.

Checking it needs SHA-256 and Ed25519 only:
1. the entry's digest is SHA-256 of the canonical JSON of its fields (`domain.entry`);
2. the leaf is SHA-256(0x00 || digest bytes); going up, a node with a right sibling is
   SHA-256(0x01 || left || right), and the last node of a level with an odd number of
   nodes goes up unchanged (no sibling used): the index and `count` say which, level by
   level (`root_from_path`);
3. the result is the header's `merkle_root`; the header's signature verifies under its key;
4. the seal's hash, SHA-256 of canonical JSON of the header with `key_id` and `signature`,
   is the one the checkpoint lists for the seal's id; the checkpoint's signature verifies.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_LEAF = b"\x00"
_NODE = b"\x01"


def _leaf(digest: str) -> bytes:
    return hashlib.sha256(_LEAF + bytes.fromhex(digest)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def merkle_levels(digests: Sequence[str]) -> list[list[bytes]]:
    """Every level of the tree `domain.integrity.merkle_root(digests)` builds, leaves first:
    built once per seal, a path out of it costs a few list lookups."""
    level = [_leaf(d) for d in digests]
    levels = [level]
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
        levels.append(level)
    return levels


def path_in(levels: Sequence[Sequence[bytes]], index: int) -> list[str]:
    """The sibling hashes (hex), leaf level first, that take leaf `index` to the root. A level
    where the node has no sibling (the last of an odd number) adds none."""
    if not levels or not 0 <= index < len(levels[0]):
        raise ValueError("the index is not a leaf of this tree")
    path: list[str] = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling].hex())
        index //= 2
    return path


def merkle_path(digests: Sequence[str], index: int) -> list[str]:
    """`path_in` a tree built for this one path."""
    if not 0 <= index < len(digests):
        raise ValueError("the index is not a leaf of this tree")
    return path_in(merkle_levels(digests), index)


def root_from_path(digest: str, index: int, count: int, path: Sequence[str]) -> str | None:
    """The root that leaf `digest` at `index` of `count` leaves reaches along `path`; None
    if the path does not fit the index and count (too short, too long, not hex)."""
    if not 0 <= index < count:
        return None
    try:
        node = _leaf(digest)
        siblings = [bytes.fromhex(h) for h in path]
    except ValueError:
        return None
    if any(len(s) != 32 for s in siblings):
        return None
    used = 0
    width = count
    while width > 1:
        sibling = index ^ 1
        if sibling < width:
            if used == len(siblings):
                return None
            other = siblings[used]
            used += 1
            node = _node(node, other) if index % 2 == 0 else _node(other, node)
        index //= 2
        width = (width + 1) // 2
    return node.hex() if used == len(siblings) else None


PROOF_FORMAT = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryProof:
    """A receipt as published: plain JSON values, so it is written out as it is read."""

    entry: dict[str, Any]
    """The entry's fields as an export line writes them (`digest` included)."""
    leaf_index: int
    leaf_count: int
    siblings: tuple[str, ...]
    seal: dict[str, Any]
    """The seal's header, with `id`, `key_id` and `signature`."""
    checkpoint: dict[str, Any]
    """The checkpoint that lists the seal, as `Checkpoint.document()` writes it."""

    def document(self) -> dict[str, Any]:
        return {
            "proof": PROOF_FORMAT,
            "entry": self.entry,
            "leaf_index": self.leaf_index,
            "leaf_count": self.leaf_count,
            "siblings": list(self.siblings),
            "seal": self.seal,
            "checkpoint": self.checkpoint,
        }
