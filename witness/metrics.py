"""The witness's metrics (``witness serve --metrics-port``): how many leaves its log holds,
how old its newest signed tree head is, and how many alarms (forks, refused devices) it has
raised. Read from its database at each scrape, so they are never stale."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence_store import parse_utc, utc_now
from witness.schema import AlarmRow, TreeHeadRow
from witness.service import Witness


class WitnessCollector(Collector):
    """``sealroom_witness_log_size``, ``sealroom_witness_tree_head_age_seconds`` and
    ``sealroom_witness_alarms_total``."""

    def __init__(self, witness: Witness) -> None:
        self._witness = witness

    def collect(self) -> Iterator[Metric]:
        with Session(self._witness.engine) as session:
            size = self._witness.tree.size(session)
            newest = session.scalar(
                select(TreeHeadRow.timestamp).order_by(TreeHeadRow.tree_size.desc()).limit(1)
            )
            alarms = session.scalar(select(func.count()).select_from(AlarmRow)) or 0
        yield GaugeMetricFamily("sealroom_witness_log_size", "Leaves in the witness's log", size)
        if newest is not None:
            age = (utc_now() - parse_utc(newest)).total_seconds()
            yield GaugeMetricFamily(
                "sealroom_witness_tree_head_age_seconds",
                "Seconds since the witness signed its newest tree head",
                max(age, 0.0),
            )
        yield CounterMetricFamily(
            "sealroom_witness_alarms", "Alarms the witness raised (forks, refusals)", alarms
        )
