"""The witness's tables. Changes go through an Alembic migration (``migrations/``), with the
version table ``witness_alembic_version``, so the log can share a database.

- ``witness_tree``: one row, the log's size; appenders lock it, so leaves are numbered once.
- ``witness_nodes``: every complete subtree's hash, by ``(level, idx)`` (RFC 9162 trees):
  appending, inclusion and consistency proofs each read O(log n) of them in one query.
- ``witness_entries``: each leaf's entry (canonical JSON), the log's content.
- ``witness_tree_heads``: every signed tree head issued, so consistency can be shown between
  any two; a time-stamp token when the TSA stamped it.
- ``witness_sessions`` and ``witness_heads``: each session's chain as the witness holds it,
  and the receipt it gave for each head (a resubmission gets the same receipt back).
- ``witness_forks``: heads that did not extend the chain held, kept whole as evidence.
- ``witness_devices``: the devices enrolled (trust on first use, or by a CA).
- ``witness_alarms``: what a person must look at (a fork, a refused enrolment).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class WitnessBase(DeclarativeBase):
    pass


class TreeRow(WitnessBase):
    __tablename__ = "witness_tree"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class NodeRow(WitnessBase):
    __tablename__ = "witness_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class EntryRow(WitnessBase):
    __tablename__ = "witness_entries"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    received_at: Mapped[str] = mapped_column(String(27))


class TreeHeadRow(WitnessBase):
    __tablename__ = "witness_tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the signed tree head, canonical
    timestamp: Mapped[str] = mapped_column(String(27))
    stamp: Mapped[bytes | None] = mapped_column(LargeBinary)  # DER TimeStampResp, when stamped


class SessionRow(WitnessBase):
    __tablename__ = "witness_sessions"

    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), index=True)
    links: Mapped[int] = mapped_column(Integer)
    segments: Mapped[int] = mapped_column(Integer)
    head: Mapped[str | None] = mapped_column(String(64))
    first_received_at: Mapped[str] = mapped_column(String(27))
    seal_sha256: Mapped[str | None] = mapped_column(String(64))
    seal_chain_length: Mapped[int | None] = mapped_column(Integer)
    seal_head: Mapped[str | None] = mapped_column(String(64))
    seal_segments: Mapped[int | None] = mapped_column(Integer)
    seal_received_at: Mapped[str | None] = mapped_column(String(27))
    seal_receipt: Mapped[bytes | None] = mapped_column(LargeBinary)


class HeadRow(WitnessBase):
    __tablename__ = "witness_heads"

    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    receipt: Mapped[bytes] = mapped_column(LargeBinary)


class ForkRow(WitnessBase):
    __tablename__ = "witness_forks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[str] = mapped_column(String(27))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # the head's bytes, as submitted
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # the device's signature over them


class DeviceRow(WitnessBase):
    __tablename__ = "witness_devices"

    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    enrolled_by: Mapped[str] = mapped_column(String(10))  # "tofu" or "ca"
    enrolled_at: Mapped[str] = mapped_column(String(27))


class AlarmRow(WitnessBase):
    __tablename__ = "witness_alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(27), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
