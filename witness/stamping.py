"""Time-stamping the tree heads: at most every ``[witness] stamp_minutes``, the newest signed
tree head is stamped by an RFC 3161 time-stamp authority, and the token (a DER
TimeStampResp) is kept beside it (``witness_tree_heads.stamp``, ``GET /sth/<size>/tsr``).

A stamp fixes a tree head in time by someone other than the witness, so the log cannot be
rewritten and re-signed later with heads dated in the past: a rewritten log would need
stamps it cannot get. The stamp is taken on a thread of its own, so a slow or absent TSA
never slows a submission; a failure is logged and tried again at the next round.

The TSA client is ``Stamp``: ``stamp(data) -> bytes``, the appliance's RFC 3161 client
(``evidence_store.timestamping.TsaClient.stamp``), which checks each answer against the
authority's root before it is kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store import parse_utc, utc_now
from witness.schema import TreeHeadRow

log = logging.getLogger("sealroom.witness")

Stamp = Callable[[bytes], bytes]  # RFC 3161: the stamped data -> DER TimeStampResp
CHECK_SECONDS = 15.0


class TreeHeadStamper:
    """Stamps the newest tree head when the last stamp is older than ``every``."""

    def __init__(
        self, engine_session: Callable[[], Session], stamp: Stamp, *, every: timedelta
    ) -> None:
        self._session = engine_session
        self._stamp = stamp
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-head-stamper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def stamp_due(self) -> int | None:
        """Stamp the newest tree head if one is due; returns the stamped size."""
        with self._session() as session:
            newest = session.scalars(
                select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(1)
            ).one_or_none()
            last = session.scalars(
                select(TreeHeadRow)
                .where(TreeHeadRow.stamp.is_not(None))
                .order_by(TreeHeadRow.tree_size.desc())
                .limit(1)
            ).one_or_none()
            if newest is None or newest.stamp is not None:
                return None
            if last is not None and utc_now() - parse_utc(last.timestamp) < self.every:
                return None
            size, document = newest.tree_size, bytes(newest.document)
        token = self._stamp(document)  # outside any transaction: the TSA may be slow
        with self._session() as session, session.begin():
            row = session.get(TreeHeadRow, size)
            if row is not None:
                row.stamp = token
        log.info("tree head %d time-stamped", size)
        return size

    def _run(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            try:
                self.stamp_due()
            except Exception as exc:  # a TSA that is down must not end the thread
                log.warning("time-stamping the tree head failed (tried again later): %s", exc)
