"""Inclusion proofs of the witness's log at 10^6 and 10^8 leaves: their size, the subtree
hashes a proof needs from the database, and the time to verify one.

    python -m benchmarks.inclusion_proofs [--proofs 2000]

At 10^6 leaves the tree is real (every leaf and inner node computed, level by level). At 10^8
it is synthetic: a proof needs only the O(log n) complete subtrees covering its ranges
(``evidence_store.merkle.nodes_for``), so those are drawn at random and the root is what they
fold to; the proof is checked by the RFC 9162 algorithm all the same. The baseline, measured
in the same run, is what every head already costs a verifier: checking one Ed25519 signature.
Prints figures and ratios; never asserts.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import time

from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_store import merkle


def real_levels(size: int) -> list[list[bytes]]:
    """Every complete subtree of a tree of ``size`` leaves, level by level."""
    levels = [[merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(size)]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        )
    return levels


def proof_from(nodes: dict[merkle.Node, bytes], index: int, size: int) -> list[bytes]:
    return [merkle.range_hash(a, b, nodes) for a, b in merkle.inclusion_ranges(index, size)]


def root_from(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """The root a proof leads to (RFC 9162, 2.1.3.2's walk, without the comparison)."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if fn & 1 or fn == sn:
            r = merkle.node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = merkle.node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r


def measure(size: int, proofs: int, nodes_of: object) -> tuple[float, float, float]:
    """(hashes per proof, subtrees read per proof, µs to verify one)."""
    rng = random.Random(size)
    cases = []
    lengths, reads = 0, 0
    for _ in range(proofs):
        index = rng.randrange(size)
        ranges = merkle.inclusion_ranges(index, size)
        needed = merkle.nodes_for(ranges)
        nodes = nodes_of(needed)  # type: ignore[operator]
        leaf = nodes.get((0, index)) or os.urandom(32)
        proof = [merkle.range_hash(a, b, nodes) for a, b in ranges]
        cases.append((index, leaf, proof, root_from(leaf, index, size, proof)))
        lengths += len(proof)
        reads += len(needed)
    started = time.perf_counter()
    for index, leaf, proof, root in cases:
        merkle.verify_inclusion(index, size, leaf, proof, root)
    elapsed = time.perf_counter() - started
    return lengths / proofs, reads / proofs, elapsed / proofs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()
    key = ed25519.Ed25519PrivateKey.generate()
    message = os.urandom(600)  # a link's size
    signature = key.sign(message)
    public = key.public_key()
    started = time.perf_counter()
    for _ in range(args.proofs):
        public.verify(signature, message)
    signature_us = (time.perf_counter() - started) / args.proofs * 1e6
    levels = real_levels(10**6)

    def real(needed: list[merkle.Node]) -> dict[merkle.Node, bytes]:
        return {(level, idx): levels[level][idx] for level, idx in needed}

    def synthetic(needed: list[merkle.Node]) -> dict[merkle.Node, bytes]:
        return {node: hashlib.sha256(repr(node).encode()).digest() for node in needed}

    print(f"baseline: one Ed25519 signature check: {signature_us:7.1f} µs")
    for label, size, nodes_of in (
        ("10^6 (real)", 10**6, real),
        ("10^8 (synthetic)", 10**8, synthetic),
    ):
        hashes, reads, micros = measure(size, args.proofs, nodes_of)
        print(
            f"{label:17s} proof {hashes:4.1f} hashes = {hashes * 32:5.0f} bytes; "
            f"{reads:4.1f} subtrees read; verify {micros:6.1f} µs "
            f"= {micros / signature_us:5.2f} x a signature check"
        )


if __name__ == "__main__":
    main()
