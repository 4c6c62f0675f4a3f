"""What the console last learnt of a session's integrity, and the alarm a failure raises.

The custody log already holds every verification: "verify now" (``verify``), a player
refused a segment (``playback_refused``) and the scrubber's passes (``scrub``). The newest of
them is the session's last verdict, shown in the list and on the session page; a failed one
overrides the stored state, so a session is never shown "sealed" after it was found
tampered. A failure found in the console is also an ``alarm`` event (the scrubber raises its
own), which the supervisors of the session's unit see on the alarms page: one alarm per
failure of a session, to which each later detection adds (a count and the last time seen)
until the session verifies again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from evidence_store import Reason
from evidence_store.custody import CustodyEntry
from web.audit import custody_log, record
from web.display import SOURCE_LABELS, VERDICT_LABELS
from web.failures import failure_text
from web.models import User
from web.visibility import EventScope

VERDICT_ACTIONS = ("verify", "playback_refused", "scrub")
ALARM = "alarm"
VERIFICATION_FAILED = "verification_failed"  # the alarm's kind, as the scrubber names it
PREFETCH, PLAYBACK = "prefetch", "playback"  # who asked for a refused segment
# Said beside a refusal, so nobody is named as having played what the player only fetched.
REQUEST_LABELS = {
    PREFETCH: _l("the player loading ahead, before anyone watched that part"),
    PLAYBACK: _l("while that part was being played"),
}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """One verification's outcome, as the custody log recorded it."""

    intact: bool
    kind: str  # intact, tampered, incomplete, untrusted, custody, failed
    at: str  # UTC, as in the custody log
    actor: str
    source: str  # the custody action it came from
    location: str = ""
    reason: str = ""  # in English, as recorded
    reason_code: str = ""  # the core's code for it ("" when recorded without one)
    reason_params: dict[str, Any] = field(default_factory=dict)
    requested_by: str = ""  # a refused segment: the player's prefetch, or playback

    @property
    def label(self) -> str:
        return str(VERDICT_LABELS.get(self.kind, VERDICT_LABELS["failed"]))

    @property
    def source_label(self) -> str:
        label = str(SOURCE_LABELS.get(self.source, self.source))
        how = REQUEST_LABELS.get(self.requested_by)
        return f"{label} ({how})" if how else label

    @property
    def first_failure(self) -> str:
        """Where and why, in the console's language."""
        where = f"{self.location}: " if self.location else ""
        return f"{where}{failure_text(self.recorded)}"

    @property
    def recorded(self) -> dict[str, Any]:
        """The reason as the custody log keeps it: English, code and values."""
        coded = {"reason_code": self.reason_code, "reason_params": self.reason_params}
        return {"reason": self.reason, **(coded if self.reason_code else {})}


def verdict_of(entry: CustodyEntry) -> Verdict | None:
    """The verdict a custody entry records, or None (a scrub that skipped the session)."""
    detail = entry.detail
    common: dict[str, Any] = {"at": entry.at, "actor": entry.actor, "source": entry.action}
    if entry.action == "verify":
        if detail.get("intact"):
            return Verdict(intact=True, kind="intact", **common)
        return _failed(detail, common)
    if entry.action == "scrub":
        result = str(detail.get("result", ""))
        if result == "intact":
            return Verdict(intact=True, kind="intact", **common)
        return None if result in ("", "skipped") else _failed(detail, common)
    if entry.action == "playback_refused":
        common["requested_by"] = str(detail.get("requested_by") or "")
        verification = detail.get("verification")
        if isinstance(verification, dict):
            return _failed(verification, common)
        return Verdict(
            intact=False,
            kind="tampered",
            location=f"segments/{detail.get('segment', '')}",
            **_reason(_refusal_reason(detail)),
            **common,
        )
    return None


def _refusal_reason(detail: dict[str, Any]) -> Reason:
    if detail.get("found_size") == -1:
        return Reason("segment_missing_deleted_renamed", "segment missing (deleted or renamed)")
    if detail.get("found_size") != detail.get("sealed_size"):
        return Reason(
            "segment_size_differs",
            "segment is {found} bytes, the chain sealed {sealed}",
            found=detail.get("found_size"),
            sealed=detail.get("sealed_size"),
        )
    return Reason(
        "segment_content_does_match",
        "segment content does not match its sealed SHA-256 (altered or replaced)",
    )


def _reason(reason: Reason) -> dict[str, Any]:
    return {"reason": str(reason), "reason_code": reason.code, "reason_params": reason.params}


def _failed(detail: dict[str, Any], common: dict[str, Any]) -> Verdict:
    kind = str(detail.get("result") or "failed")
    return Verdict(
        intact=False,
        kind=kind if kind in VERDICT_LABELS and kind != "intact" else "failed",
        location=str(detail.get("location") or ""),
        reason=str(detail.get("reason") or ""),
        reason_code=str(detail.get("reason_code") or ""),
        reason_params=params if isinstance(params := detail.get("reason_params"), dict) else {},
        **common,
    )


def last_verdicts(session_ids: Collection[str]) -> dict[str, Verdict]:
    """The newest verdict of each of these sessions that has one."""
    verdicts = {}
    for session_id, entry in custody_log().latest(session_ids, VERDICT_ACTIONS).items():
        if (verdict := verdict_of(entry)) is not None:
            verdicts[session_id] = verdict
    return verdicts


def last_verdict(session_id: str) -> Verdict | None:
    return last_verdicts([session_id]).get(session_id)


def shown_state(state: str, verdict: Verdict | None) -> str:
    """The state a person sees: the stored one, unless the last verification failed."""
    if verdict is None or verdict.intact:
        return state
    return verdict.kind


@dataclass(frozen=True)
class Alarm:
    """One alarm as a supervisor sees it: the first ``alarm`` event of its kind about a
    session, with every later detection of the same failure added to it (more alarm events,
    refused segments, failed verifications) until the session verifies again."""

    entry: CustodyEntry  # the event that raised it
    now: Verdict | None  # the session's last verdict, which may have come since
    closed_by: Verdict | None = None  # the intact verification that closed it
    detections: int = 1  # how many times the failure was found while it was open
    last_seen: str = ""  # UTC, the newest of them

    @property
    def open(self) -> bool:
        """A session's failed verification stays open until the session verifies again;
        other alarms stay open."""
        if self.entry.session_id is None or self.entry.detail.get("kind") != VERIFICATION_FAILED:
            return True
        return self.closed_by is None

    @property
    def found_by(self) -> str:
        """What found it, and how, naming nobody as its cause: a player loading ahead is
        not a person watching."""
        detail = self.entry.detail
        source = str(detail.get("found_by") or "")
        label = str(SOURCE_LABELS.get(source, source)) if source else ""
        how = REQUEST_LABELS.get(str(detail.get("requested_by") or ""))
        return f"{label} ({how})" if label and how else label

    @property
    def reason(self) -> str:
        """What the alarm says, in the console's language when it was recorded with the
        failure's code (the English text otherwise)."""
        detail = self.entry.detail
        if not detail.get("reason_code"):
            return str(detail.get("reason") or "")
        label = VERDICT_LABELS.get(str(detail.get("result")), VERDICT_LABELS["failed"])
        where = f"{detail['location']}: " if detail.get("location") else ""
        return f"{label}: {_('First failure:')} {where}{failure_text(detail)}"


def verdict_history(session_id: str) -> list[tuple[int, Verdict]]:
    """Every verdict the custody log holds for a session, oldest first, with its ``seq``."""
    entries = [
        entry
        for action in VERDICT_ACTIONS
        for entry in custody_log().entries(session_id=session_id, action=action)
    ]
    return [
        (entry.seq, verdict)
        for entry in sorted(entries, key=lambda e: e.seq)
        if (verdict := verdict_of(entry)) is not None
    ]


def alarms_for(viewer: User, *, limit: int = 200) -> list[Alarm]:
    """The alarms ``viewer`` may see (their units' sessions and events), newest first: one
    per failure of a session, however many times it was found again while it was open."""
    entries = EventScope(viewer).visible(custody_log().entries(action=ALARM))
    sessions = {e.session_id for e in entries if e.session_id}
    histories = {s: verdict_history(s) for s in sessions}
    alarms: list[Alarm] = []
    current: dict[tuple[str, str], int] = {}  # (session, kind): its open alarm in ``alarms``
    for entry in entries:
        if entry.session_id is None:
            alarms.append(Alarm(entry, None, last_seen=entry.at))
            continue
        history = histories[entry.session_id]
        kind = str(entry.detail.get("kind", ""))
        at = current.get((entry.session_id, kind))
        if kind != VERIFICATION_FAILED:  # nothing closes these: the same again adds to it
            if at is None:
                current[(entry.session_id, kind)] = len(alarms)
                alarms.append(Alarm(entry, history[-1][1] if history else None, last_seen=entry.at))
            else:
                alarms[at] = _found_again(alarms[at], entry, counted=False)
            continue
        if at is not None and _closing(history, alarms[at].entry.seq, entry.seq) is None:
            alarms[at] = _found_again(alarms[at], entry)
            continue
        current[(entry.session_id, kind)] = len(alarms)
        alarms.append(_raised(entry, history))
    return alarms[::-1][:limit]


def _closing(history: list[tuple[int, Verdict]], after: int, before: int | None) -> int | None:
    """The ``seq`` of the first intact verdict after ``after`` (and before ``before``)."""
    return next(
        (
            seq
            for seq, v in history
            if after < seq and (before is None or seq < before) and v.intact
        ),
        None,
    )


def _raised(entry: CustodyEntry, history: list[tuple[int, Verdict]]) -> Alarm:
    """An alarm from its first event: the failures found from the last intact verdict
    before it until the next one (the detection that raised it comes just before it)."""
    closed_at = _closing(history, entry.seq, None)
    opened = max((seq for seq, v in history if seq < entry.seq and v.intact), default=0)
    found = [
        v
        for seq, v in history
        if not v.intact and opened < seq and (closed_at is None or seq < closed_at)
    ]
    return Alarm(
        entry,
        history[-1][1] if history else None,
        closed_by=next((v for seq, v in history if seq == closed_at), None),
        detections=max(1, len(found)),
        last_seen=max([entry.at, *(v.at for v in found)]),
    )


def _found_again(alarm: Alarm, entry: CustodyEntry, *, counted: bool = True) -> Alarm:
    """A later alarm event of the same failure (e.g. the scheduled check's next pass): it
    adds to the open alarm. A verification failure's detections already count the verdict
    behind it (``counted``); another kind's are its alarm events."""
    return Alarm(
        alarm.entry,
        alarm.now,
        closed_by=alarm.closed_by,
        detections=alarm.detections + (0 if counted else 1),
        last_seen=max(alarm.last_seen, entry.at),
    )


def open_alarm_count() -> int:
    """How many alarms the current user has open: the open rows of their alarms page."""
    return sum(1 for alarm in alarms_for(current_user) if alarm.open)


def has_open_alarm(session_id: str) -> bool:
    """Whether a failed verification of this session already has an alarm still open."""
    raised = [
        e.seq
        for e in custody_log().entries(session_id=session_id, action=ALARM)
        if e.detail.get("kind") == VERIFICATION_FAILED
    ]
    if not raised:
        return False
    return _closing(verdict_history(session_id), max(raised), None) is None


def raise_alarm(session_id: str, verdict: Verdict, *, requested_by: str = "") -> None:
    """A verification failed in front of a person: an alarm for the unit's supervisors,
    unless one is already open for this session (the failure, logged as its own custody
    event, then adds to it: one failed session is one alarm, however often it is found)."""
    # English, as every reason in the log is (its code and values beside it are what the
    # console shows in its own language: ``Alarm.reason``, ``web.custody.details``).
    where = f"{verdict.location}: " if verdict.location else ""
    reason = f"{verdict.kind.upper()}: first failure: {where}{verdict.reason}"
    if has_open_alarm(session_id):
        log.warning(
            "%s found again (%s); its alarm is open: %s", session_id, verdict.source, reason
        )
        return
    log.error("ALARM (%s) %s: %s", VERIFICATION_FAILED, session_id, reason)
    record(
        ALARM,
        session_id=session_id,
        detail={
            "kind": VERIFICATION_FAILED,
            "reason": reason,
            "found_by": verdict.source,
            **({"requested_by": requested_by} if requested_by else {}),
            "result": verdict.kind,
            "location": verdict.location,
            **(
                {"reason_code": verdict.reason_code, "reason_params": verdict.reason_params}
                if verdict.reason_code
                else {}
            ),
        },
    )
