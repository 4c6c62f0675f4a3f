"""Finding what the rooms' events missed: the store's and the bucket's listings compared with
the catalog, in bounded batches, off any request path (the worker runs it on a schedule;
`sealroom catalog reconcile` runs it by hand).

Each batch is one query for what the catalog holds of those sessions; only a session the
catalog lacks, still shows open, or holds in an older place is read (``summarise``) and
merged, and a merge only ever moves a row forward, so reconciling while events arrive is
safe. A session found only in the bucket has left its spool: it is "released". A receipt
from the witness that arrived after the session's last event is found here too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.errors import SealroomError
from evidence_store.index.events import LOCATION_RANK, Location
from evidence_store.index.session_index import SessionIndex
from evidence_store.index.summary import FINAL_STATES, session_ids, summarise
from evidence_store.store import BrowsableStore

log = logging.getLogger("sealroom.catalog")
BATCH = 500
FINAL = frozenset(state.value for state in FINAL_STATES)


@dataclass
class ReconcileReport:
    """What one reconcile run looked at and changed."""

    listed: int = 0  # sessions named by the store and the bucket
    read: int = 0  # of which were read, because the catalog lacked them or was behind
    changed: int = 0  # rows added or moved forward
    batches: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # session -> why it was not read

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def reconcile(
    index: SessionIndex,
    local: BrowsableStore | None,
    bucket: BrowsableStore | None,
    policy: RetentionPolicy | None = None,
    *,
    batch: int = BATCH,
    stop: threading.Event | None = None,
    witnessing: bool = False,
) -> ReconcileReport:
    """Bring the catalog up to what ``local`` (this machine's store) and ``bucket`` hold.

    With ``witnessing`` (a witness is configured), a sealed row not yet marked witnessed
    costs one look at one file: whether the witness's receipt for its seal has arrived."""
    report = ReconcileReport()
    in_spool = set(session_ids(local)) if local is not None else set()
    in_bucket = set(session_ids(bucket)) if bucket is not None else set()
    everything = sorted(in_spool | in_bucket)
    report.listed = len(everything)
    for chunk in _batches(everything, max(1, batch)):
        if stop is not None and stop.is_set():
            break
        report.batches += 1
        known = index.progress(chunk)
        for session_id in chunk:
            where: Location = "spool" if session_id in in_spool else "released"
            held = known.get(session_id)
            source = local if session_id in in_spool else bucket
            assert source is not None
            try:
                if (
                    held is not None
                    and held[0] in FINAL
                    and _not_behind(held[2], where)
                    and not (witnessing and not held[3] and _has_receipt(source, session_id))
                ):
                    continue
                summary = summarise(source, session_id, policy)
            except SealroomError as exc:  # an unreachable bucket, a store error: next run
                report.failed[session_id] = str(exc)
                continue
            report.read += 1
            if index.merge(summary, where):
                report.changed += 1
    if report.failed:
        log.warning("reconcile: %d session(s) could not be read", len(report.failed))
    return report


def _has_receipt(source: BrowsableStore, session_id: str) -> bool:
    return source.exists(layout.session_prefix(session_id) + layout.SEAL_RECEIPT)


def _not_behind(held: str, found: Location) -> bool:
    return LOCATION_RANK.get(held, 0) >= LOCATION_RANK[found]
