"""Merkle paths: every leaf of every tree size reaches the root `merkle_root` computes, and
nothing else does."""

import hashlib

import pytest

from domain.integrity import merkle_root
from domain.proof import merkle_path, root_from_path


def digests(count: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_every_leaf_reaches_the_root(count: int) -> None:
    leaves = digests(count)
    root = merkle_root(leaves)
    for index in range(count):
        path = merkle_path(leaves, index)
        assert root_from_path(leaves[index], index, count, path) == root
        assert len(path) <= max(1, count - 1).bit_length()


def test_a_one_leaf_tree_needs_no_sibling() -> None:
    [only] = digests(1)
    assert merkle_path([only], 0) == []
    assert root_from_path(only, 0, 1, []) == merkle_root([only])


@pytest.mark.parametrize("count", [2, 5, 9])
def test_a_changed_leaf_sibling_index_or_count_misses_the_root(count: int) -> None:
    leaves = digests(count)
    root = merkle_root(leaves)
    index = count - 2
    path = merkle_path(leaves, index)
    other = hashlib.sha256(b"other").hexdigest()
    assert root_from_path(other, index, count, path) != root
    for i in range(len(path)):
        changed = [*path[:i], "00" * 32, *path[i + 1 :]]
        assert root_from_path(leaves[index], index, count, changed) != root
    assert root_from_path(leaves[index], index + 1, count, path) != root
    # (The count is the signed header's: a verifier never takes it from the proof alone.)
    assert root_from_path(leaves[index], index, count, [*path, path[0]]) is None
    assert root_from_path(leaves[index], index, count, path[:-1]) is None
    assert root_from_path(leaves[index], count, count, path) is None
    assert root_from_path(leaves[index], index, count, ["zz"] * len(path)) is None
