"""What a token says, put on the record: a ``time_stamped`` custody row for each token of a
session, with the device's, the sending and the authority's times; and a ``clock_skew`` alarm
when the authority's time is outside what the device's clock allows.

A custody checkpoint's token is only logged: a custody row for it would make a checkpoint to
stamp, whose token would make a row, and so on without end.
"""

from __future__ import annotations

import logging

from evidence_store.custody import CustodyLog
from evidence_store.timefmt import format_utc
from evidence_store.timestamping.delivery import StampRecord

log = logging.getLogger("sealroom.timestamping")


def skew_reason(record: StampRecord, skew: float) -> str:
    """The alarm's words: how far, which way, and both times it rests on."""
    direction = "behind" if skew > 0 else "ahead of"
    return (
        f"the device's clock is {abs(skew):.1f} s {direction} the time-stamp authority's: "
        f"{record.as_detail()['file']} was sent at {format_utc(record.sent_at)} (device) "
        f"and stamped at {format_utc(record.tsa_time)} (authority)"
    )


def record_stamp(
    custody: CustodyLog, record: StampRecord, *, actor: str, role: str, tolerance: float
) -> str | None:
    """Record ``record`` (see the module's docstring); return the clock alarm's reason, or
    None when the clocks agree."""
    skew = record.skew_seconds(tolerance)
    reason = None if skew is None else skew_reason(record, skew)
    if reason is not None:
        log.error("ALARM (clock_skew) %s: %s", record.session_id or "custody", reason)
    if record.session_id is None:
        return reason
    custody.record(
        actor=actor,
        role=role,
        action="time_stamped",
        session_id=record.session_id,
        detail=record.as_detail(),
    )
    if reason is not None:
        custody.record(
            actor=actor,
            role=role,
            action="alarm",
            session_id=record.session_id,
            detail={"kind": "clock_skew", "reason": reason},
        )
    return reason
