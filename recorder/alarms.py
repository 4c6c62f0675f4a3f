"""Alarms: what a person must act on (a full disk, a failed recording, evidence that does not
check out). Each one is logged, shown in the status and recorded in the custody log."""

from __future__ import annotations

import logging

from evidence_store.custody import CustodyLog
from recorder.errors import RecorderError
from recorder.room_recorder import RoomRecorder

log = logging.getLogger("sealroom.recorder")


def record_alarm(
    custody: CustodyLog, *, actor: str, role: str, session_id: str | None, kind: str, reason: str
) -> None:
    """Log the alarm and append it to the custody log (action ``alarm``)."""
    log.error("ALARM (%s) %s: %s", kind, session_id or "-", reason)
    custody.record(
        actor=actor,
        role=role,
        action="alarm",
        session_id=session_id,
        detail={"kind": kind, "reason": reason},
    )


def raise_if_stopped_itself(
    recorder: RoomRecorder, custody: CustodyLog, *, actor: str, role: str, session_id: str
) -> None:
    """If the recorder stopped itself (its guard, a full disk), record the alarm and raise a
    RecorderError that says so; the session is already stopped and sealed. Otherwise
    return, so the caller re-raises what it caught."""
    alarm = recorder.status().alarm
    if alarm is None:
        return
    record_alarm(
        custody, actor=actor, role=role, session_id=session_id, kind="stopped_itself", reason=alarm
    )
    raise RecorderError(f"the recording stopped itself and was sealed: {alarm}")
