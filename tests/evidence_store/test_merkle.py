"""RFC 9162 trees: roots and proofs checked against pymerkle (an independent implementation)
for many tree sizes, and against the Certificate Transparency test vectors computed by hand."""

from __future__ import annotations

import pytest
from pymerkle import InmemoryTree
from pymerkle import verify_consistency as pymerkle_consistency

from evidence_store import merkle

# The eight inputs of the Certificate Transparency test vectors (RFC 6962's reference code),
# with the roots of their first n leaves.
CT_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
             "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# (leaf, tree size) -> audit path, and (first, second) -> consistency proof: CT's vectors.
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip
CT_CONSISTENCY = {
    (1, 8): CT_INCLUSION[(0, 8)],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip


class StoredTree:
    """Leaves appended as the witness appends them: complete subtrees stored by (level, idx)."""

    def __init__(self) -> None:
        self.leaves: list[bytes] = []
        self.nodes: dict[merkle.Node, bytes] = {}

    def append(self, data: bytes) -> None:
        index = len(self.leaves)
        digest = merkle.leaf_hash(data)
        self.leaves.append(digest)
        self.nodes[(0, index)] = digest
        for level, idx in merkle.parents_after_append(index):
            digest = merkle.node_hash(self.nodes[(level, idx)], digest)
            self.nodes[(level + 1, idx // 2)] = digest

    def root(self, size: int) -> bytes:
        return merkle.range_hash(0, size, self.nodes)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        ranges = merkle.inclusion_ranges(index, size)
        return [merkle.range_hash(a, b, self.nodes) for a, b in ranges]

    def consistency(self, first: int, second: int) -> list[bytes]:
        ranges = merkle.consistency_ranges(first, second) if first < second else []
        return [merkle.range_hash(a, b, self.nodes) for a, b in ranges]


@pytest.fixture(scope="module")
def trees() -> tuple[StoredTree, InmemoryTree]:
    ours, theirs = StoredTree(), InmemoryTree(algorithm="sha256")
    for n in range(70):
        data = f"entry {n}".encode()
        ours.append(data)
        theirs.append_entry(data)
    return ours, theirs


def test_ct_vectors_roots_paths_and_proofs() -> None:
    tree = StoredTree()
    for item in CT_INPUTS:
        tree.append(bytes.fromhex(item))
    for size, root in CT_ROOTS.items():
        assert tree.root(size).hex() == root
        assert merkle.tree_hash(tree.leaves[:size]).hex() == root
    for (index, size), path in CT_INCLUSION.items():
        assert [p.hex() for p in tree.inclusion(index, size)] == path
        merkle.verify_inclusion(
            index, size, tree.leaves[index], [bytes.fromhex(p) for p in path], tree.root(size)
        )
    for (first, second), path in CT_CONSISTENCY.items():
        assert [p.hex() for p in tree.consistency(first, second)] == path
        merkle.verify_consistency(
            first, second, tree.root(first), tree.root(second), [bytes.fromhex(p) for p in path]
        )


def test_roots_and_inclusion_proofs_match_pymerkle(trees: tuple[StoredTree, InmemoryTree]) -> None:
    ours, theirs = trees
    for size in range(1, 71):
        assert ours.root(size) == theirs.get_root(size)
        for index in range(size):
            path = ours.inclusion(index, size)
            # pymerkle's path starts with the leaf itself, then RFC 9162's audit path.
            theirs_path = theirs.prove_inclusion(index + 1, size).serialize()["path"]
            assert [p.hex() for p in path] == theirs_path[1:]
            merkle.verify_inclusion(index, size, ours.leaves[index], path, ours.root(size))


def test_consistency_proofs_verify_between_every_pair_pymerkle_agrees_on(
    trees: tuple[StoredTree, InmemoryTree],
) -> None:
    ours, theirs = trees
    for second in range(1, 71):
        for first in range(1, second + 1):
            # The roots are pymerkle's; the proof is ours, checked by the RFC's algorithm.
            old, new = theirs.get_root(first), theirs.get_root(second)
            merkle.verify_consistency(first, second, old, new, ours.consistency(first, second))
            pymerkle_consistency(old, new, theirs.prove_consistency(first, second))


def test_a_wrong_proof_or_root_is_refused(trees: tuple[StoredTree, InmemoryTree]) -> None:
    ours, _ = trees
    proof = ours.inclusion(5, 70)
    root = ours.root(70)
    with pytest.raises(merkle.ProofError, match="root"):
        merkle.verify_inclusion(5, 70, ours.leaves[6], proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(5, 70, ours.leaves[5], proof[:-1], root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(5, 70, ours.leaves[5], [*proof, proof[0]], root)
    with pytest.raises(merkle.ProofError, match="not in a tree"):
        merkle.verify_inclusion(70, 70, ours.leaves[5], proof, root)
    consistency = ours.consistency(40, 70)
    with pytest.raises(merkle.ProofError, match="earlier root"):
        merkle.verify_consistency(40, 70, ours.root(41), root, consistency)
    with pytest.raises(merkle.ProofError, match="later root"):
        merkle.verify_consistency(40, 70, ours.root(40), ours.root(69), consistency)
    with pytest.raises(merkle.ProofError, match="empty"):
        merkle.verify_consistency(40, 70, ours.root(40), root, [])
    with pytest.raises(merkle.ProofError, match="same size"):
        merkle.verify_consistency(70, 70, ours.root(69), root, [])


def test_proofs_of_a_huge_tree_need_only_a_logarithm_of_its_subtrees() -> None:
    size = 10**8 + 12345
    nodes = merkle.nodes_for(merkle.inclusion_ranges(54_321_987, size))
    assert len(nodes) <= 2 * size.bit_length()
    nodes = merkle.nodes_for(merkle.consistency_ranges(77_777_777, size))
    assert len(nodes) <= 2 * size.bit_length()
