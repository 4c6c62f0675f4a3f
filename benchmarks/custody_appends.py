"""Custody appends per second, each anchored by its own signed checkpoint, against the same
appends without one, in the same run.

    python -m benchmarks.custody_appends [--appends 300] [--rounds 3]

Every append now writes a checkpoint (two write-once, fsynced files and an Ed25519
signature) before it returns, so that no custody row is ever left unanchored. The baseline
is the same log and the same database with the checkpoint left out. Best of N, alternating.
Prints appends/s of both and their ratio. Never asserts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evidence_store.custody import CustodyEntry, CustodyLog
from evidence_store.signing import ensure_device_identity
from evidence_store.store import FilesystemStore


class UnanchoredLog(CustodyLog):
    """The baseline: the custody log as it would append without its checkpoints."""

    def _checkpoint(self, entry: CustodyEntry) -> None:
        pass


def appends_per_second(log: CustodyLog, count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        log.record(
            actor="Lê Hoàng Phúc",
            role="investigator",
            action="viewed",
            session_id="s-20261122T235911Z-1a2b3c4d",
            detail={"n": n},
            ip="10.0.0.7",
        )
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        signer = ensure_device_identity(root / "keys", root / "trust", device_name="bench")
        anchored_rate = bare_rate = 0.0
        for round_ in range(args.rounds):
            store = FilesystemStore.open(root / f"evidence-{round_}", create=True)
            url = f"sqlite:///{root / f'custody-{round_}.db'}"
            anchored = CustodyLog.open(url, store, signer)
            bare = UnanchoredLog(anchored.engine, store, signer)
            bare_rate = max(bare_rate, appends_per_second(bare, args.appends))
            anchored_rate = max(anchored_rate, appends_per_second(anchored, args.appends))
    print(f"appends: {args.appends} a round, best of {args.rounds}, SQLite")
    print(f"without checkpoints     : {bare_rate:8.0f} appends/s")
    print(f"a checkpoint per append : {anchored_rate:8.0f} appends/s")
    print(f"ratio                   : {anchored_rate / bare_rate:.3f}")


if __name__ == "__main__":
    main()
