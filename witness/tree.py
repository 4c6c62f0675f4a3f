"""The witness's append-only Merkle tree in SQL (RFC 9162 algorithms: ``evidence_store.merkle``).

Every complete subtree's hash is stored once, by ``(level, idx)``, the moment its last leaf
arrives. Appending leaf ``n`` reads the left siblings it completes (at most log2 n, one query)
and writes the leaf and its new parents; a root, an inclusion proof or a consistency proof
reads the O(log n) complete subtrees that cover its ranges, in one query. Nothing scans the
leaves, so the cost stays the same at a billion entries.

Appenders are serialised for the whole transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
a transaction advisory lock), so every leaf gets one index and every signed tree head one
size. Each append issues a signed tree head of the new size, kept forever.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, event, select, text, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from evidence_store import TreeHead, canonical_json, merkle
from witness.identity import WitnessIdentity
from witness.schema import EntryRow, NodeRow, TreeHeadRow, TreeRow

APPEND_LOCK_KEY = 0x5EA1_0002  # the witness's PostgreSQL advisory lock
EMPTY_ROOT = hashlib.sha256(b"").digest()


def serialise_sqlite_writers(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN, so two writers never append the same leaf."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_for_append(session: Session) -> None:
    """Hold the append lock until the transaction ends (SQLite holds it from BEGIN)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})


def fetch_nodes(session: Session, nodes: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The stored hashes of ``nodes``, in one query."""
    wanted = list(dict.fromkeys(nodes))
    if not wanted:
        return {}
    rows = session.execute(
        select(NodeRow.level, NodeRow.idx, NodeRow.hash).where(
            tuple_(NodeRow.level, NodeRow.idx).in_(wanted)
        )
    )
    return {(level, idx): bytes(digest) for level, idx, digest in rows}


class MerkleTree:
    """The log's tree. Every method works inside the caller's transaction."""

    def __init__(self, identity: WitnessIdentity) -> None:
        self.identity = identity

    @staticmethod
    def size(session: Session) -> int:
        tree = session.get(TreeRow, 1)
        return tree.size if tree is not None else 0

    def append(self, session: Session, entry: bytes, *, session_id: str, at: str) -> int:
        """Add ``entry`` (canonical JSON) as the next leaf; returns its index. The caller holds
        the append lock (``lock_for_append``)."""
        tree = session.get(TreeRow, 1)
        assert tree is not None, "the witness schema creates the tree's row"
        index = tree.size
        siblings = merkle.parents_after_append(index)
        found = fetch_nodes(session, siblings)
        digest = merkle.leaf_hash(entry)
        rows = [NodeRow(level=0, idx=index, hash=digest)]
        for level, idx in siblings:
            digest = merkle.node_hash(found[(level, idx)], digest)
            rows.append(NodeRow(level=level + 1, idx=idx // 2, hash=digest))
        session.add_all(rows)
        session.add(EntryRow(leaf_index=index, entry=entry, session_id=session_id, received_at=at))
        tree.size = index + 1
        return index

    def sign_head(
        self, session: Session, size: int, timestamp: str, *, root: bytes | None = None
    ) -> TreeHead:
        """Sign the tree head of ``size`` leaves (whose root may be given) and keep it."""
        body: dict[str, Any] = {
            "v": 1,
            "type": "sealroom.tree-head",
            "log": self.identity.key_id,
            "tree_size": size,
            "root_hash": (root or self.root(session, size)).hex(),
            "timestamp": timestamp,
        }
        head = TreeHead.model_validate(
            {**body, "signature": self.identity.sign(canonical_json(body)).hex()}
        )
        session.add(
            TreeHeadRow(
                tree_size=size, document=canonical_json(head.to_document()), timestamp=timestamp
            )
        )
        return head

    @staticmethod
    def root_and_inclusion(session: Session, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """The root of ``size`` leaves and leaf ``index``'s inclusion proof, in one read."""
        ranges = merkle.inclusion_ranges(index, size)
        nodes = fetch_nodes(session, [*merkle.root_nodes(size), *merkle.nodes_for(ranges)])
        proof = [merkle.range_hash(start, end, nodes) for start, end in ranges]
        return merkle.range_hash(0, size, nodes), proof

    @staticmethod
    def root(session: Session, size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        return merkle.range_hash(0, size, fetch_nodes(session, merkle.root_nodes(size)))

    @staticmethod
    def inclusion(session: Session, index: int, size: int) -> list[bytes]:
        ranges = merkle.inclusion_ranges(index, size)
        nodes = fetch_nodes(session, merkle.nodes_for(ranges))
        return [merkle.range_hash(start, end, nodes) for start, end in ranges]

    @staticmethod
    def consistency(session: Session, first: int, second: int) -> list[bytes]:
        if first == second:
            return []
        ranges = merkle.consistency_ranges(first, second)
        nodes = fetch_nodes(session, merkle.nodes_for(ranges))
        return [merkle.range_hash(start, end, nodes) for start, end in ranges]

    @staticmethod
    def head(session: Session, size: int | None = None) -> bytes | None:
        """A kept signed tree head (canonical JSON): of ``size``, or the newest."""
        query = select(TreeHeadRow.document)
        if size is None:
            query = query.order_by(TreeHeadRow.tree_size.desc()).limit(1)
        else:
            query = query.where(TreeHeadRow.tree_size == size)
        found = session.execute(query).scalar_one_or_none()
        return bytes(found) if found is not None else None
