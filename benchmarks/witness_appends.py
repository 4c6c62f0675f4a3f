"""How many heads the witness appends per second on PostgreSQL.

    python -m benchmarks.witness_appends [--appends 2000] [--url postgresql+psycopg://…]

Each append is a whole submission as the API takes it (``Witness.submit``): the session's
state read and checked, the device's enrolment read, the leaf and the subtrees it completes
written (O(log n) node reads), a tree head signed and kept, the inclusion proof computed, the
receipt kept. The baseline, in the same run on the same server, writes the same rows with
plain INSERTs, one transaction per append (entry, leaf and parent nodes, tree head, head),
with no reads, no checks, no signature and no proof. Heads are prepared (signed) before the
clock starts. Without ``--url`` a private PostgreSQL is started (Debian's package). Prints
figures and the ratio; never asserts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from evidence_store import FilesystemStore, MediaInfo, SessionMetadata, SessionWriter, SignedHead
from evidence_store.signing import ensure_device_identity
from tests.support.postgres import private_postgres
from tests.support.witness import submission
from witness import Witness, WitnessIdentity
from witness.schema import EntryRow, HeadRow, NodeRow, TreeHeadRow, WitnessBase
from witness.submissions import read_submission

MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="BENCH-1", room="Phòng 1")


def prepare(root: Path, count: int) -> list[dict[str, object]]:
    """``count`` signed heads: sessions of 100 links (pauses and resumes: no media needed)."""
    store = FilesystemStore.open(root / "evidence", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
    heads: list[SignedHead] = []
    while len(heads) < count:
        writer = SessionWriter.start(store, signer, METADATA, MEDIA, on_head=heads.append)
        for n in range(49):
            writer.pause(f"pause {n}")
            writer.resume(f"resume {n}")
        writer.close()
    return [submission(head, signer, "bench") for head in heads[:count]]


def witness_rate(url: str, root: Path, documents: list[dict[str, object]]) -> float:
    witness = Witness.open(url, WitnessIdentity.load_or_create(root / "witness", name="bench"))
    submissions = [read_submission(document) for document in documents]  # checked before
    started = time.perf_counter()
    for item in submissions:
        assert witness.submit(item).status == "accepted"
    elapsed = time.perf_counter() - started
    witness.close()
    return len(submissions) / elapsed


def plain_rate(url: str, count: int) -> float:
    """The same rows, inserted plainly: the floor of what the database can do."""
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        for table in (HeadRow, TreeHeadRow, EntryRow, NodeRow):
            session.execute(delete(table))
    entry, digest = os.urandom(300), os.urandom(32)
    started = time.perf_counter()
    for index in range(count):
        with Session(engine) as session, session.begin():
            session.add(EntryRow(leaf_index=index, entry=entry, session_id="s", received_at="t"))
            level, idx = 0, index
            session.add(NodeRow(level=0, idx=index, hash=digest))
            while idx & 1:  # the parents a real append completes
                level, idx = level + 1, idx // 2
                session.add(NodeRow(level=level, idx=idx, hash=digest))
            session.add(TreeHeadRow(tree_size=index + 1, document=entry, timestamp="t"))
            session.add(HeadRow(session_id=f"s{index}", seq=0, sha256="0" * 64,
                                leaf_index=index, receipt=entry))  # fmt: skip
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--url", default=None, help="an existing PostgreSQL (a fresh database)")
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.url or stack.enter_context(private_postgres())
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        documents = prepare(root, args.appends)
        witness = witness_rate(url, root, documents)
        engine = create_engine(url)
        WitnessBase.metadata.create_all(engine)  # the witness made them; harmless if there
        engine.dispose()
        plain = plain_rate(url, args.appends)
    print(f"witness appends on PostgreSQL: {witness:8.0f} /s  ({args.appends} heads)")
    print(f"plain INSERTs of the same rows: {plain:8.0f} /s")
    print(f"ratio witness / plain:          {witness / plain:8.2f}")


if __name__ == "__main__":
    main()
