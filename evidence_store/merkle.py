"""The Merkle tree of RFC 9162 (Certificate Transparency version 2.0), section 2.1, with SHA-256.

A leaf's hash is ``SHA-256(0x00 || data)``, an inner node's ``SHA-256(0x01 || left || right)``,
and the Merkle Tree Hash of ``n`` leaves splits them at the largest power of two below ``n``.
Inclusion and consistency proofs are checked exactly as sections 2.1.3.2 and 2.1.4.2 say, so
any RFC 9162 verifier accepts what this module accepts, and the reverse.

Producing proofs from a stored tree: every range a proof names is a run of *complete*
subtrees, each stored once as ``(level, index)`` (level ``l``, index ``i`` covers leaves
``i * 2**l`` to ``(i + 1) * 2**l - 1``). ``inclusion_ranges`` and ``consistency_ranges`` say
which ranges a proof needs, ``nodes_for`` which complete subtrees cover them (O(log n) of them,
fetched in one read), and ``range_hash`` folds them into the proof's hashes.

Standard library only: the export's standalone ``verify.py`` repeats ``verify_inclusion`` and
``verify_consistency`` word for word.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

Node = tuple[int, int]  # (level, index) of a complete subtree
HASH_SIZE = 32


class ProofError(ValueError):
    """A proof does not prove what it claims (or is not shaped as a proof can be)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one entry of the log."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of the leaves whose hashes are given (RFC 9162, 2.1.1); the
    empty tree's is ``SHA-256()``. Reads every leaf: for checks and tests, not for a log."""
    if not leaf_hashes:
        return hashlib.sha256(b"").digest()
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return node_hash(tree_hash(leaf_hashes[:k]), tree_hash(leaf_hashes[k:]))


# -- proofs from a stored tree -----------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose hashes make up the inclusion proof of leaf
    ``index`` in the tree of ``size`` leaves, in proof order (RFC 9162, 2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()  # the recursion names the root's side last; the proof starts at the leaf
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make up the consistency proof from the tree of ``first``
    leaves to the tree of ``second`` (RFC 9162, 2.1.4.1), in proof order."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} to {second} leaves")
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, second, True  # SUBPROOF(m, D[start:end], whole)
    m = first
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[tuple[int, int]]) -> list[Node]:
    """The complete subtrees that cover ``ranges``, each once."""
    found: dict[Node, None] = {}
    for start, end in ranges:
        for node in _covering(start, end):
            found[node] = None
    return list(found)


def _covering(start: int, end: int) -> list[Node]:
    """``[start, end)`` as complete subtrees, largest first (the tree's own split)."""
    nodes = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        # The biggest aligned block that fits (always the tree's split for a proof's range).
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """The Merkle Tree Hash of leaves ``[start, end)`` from the complete subtrees covering it."""
    covering = _covering(start, end)
    if not covering:
        raise ProofError("an empty range has no hash in a proof")
    try:
        folded = nodes[covering[-1]]
        for node in reversed(covering[:-1]):
            folded = node_hash(nodes[node], folded)
    except KeyError as exc:
        raise ProofError(f"the tree lacks the subtree {exc.args[0]}") from None
    return folded


def root_nodes(size: int) -> list[Node]:
    """The complete subtrees whose hashes make the root of the tree of ``size`` leaves."""
    return _covering(0, size)


def parents_after_append(index: int) -> list[Node]:
    """When leaf ``index`` is appended, the left siblings it completes subtrees with, lowest
    first: its new parents are ``node_hash(sibling, child)`` up the tree."""
    siblings = []
    level = 0
    while (index >> level) & 1:
        siblings.append((level, (index >> level) - 1))
        level += 1
    return siblings


# -- checking proofs (RFC 9162, 2.1.3.2 and 2.1.4.2) -------------------------------------------


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows that the leaf hash ``leaf`` is leaf ``index`` of
    the tree of ``size`` leaves whose root is ``root``."""
    if index >= size or index < 0:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the tree head's root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless ``proof`` shows that the tree of ``second`` leaves with root
    ``second_root`` extends the tree of ``first`` leaves with root ``first_root``."""
    if first < 1 or second < first:
        raise ProofError(f"no consistency proof from {first} to {second} leaves")
    if first == second:
        if proof:
            raise ProofError("two heads of the same size need an empty consistency proof")
        if first_root != second_root:
            raise ProofError("two heads of the same size have different roots")
        return
    path = list(proof)
    if not path:
        raise ProofError("the consistency proof is empty")
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != first_root:
        raise ProofError("the consistency proof does not lead to the earlier root")
    if sr != second_root:
        raise ProofError("the consistency proof does not lead to the later root")
