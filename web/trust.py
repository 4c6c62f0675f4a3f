"""What the console last learnt of a session's integrity, and the alarm a failure raises.

The custody log already holds every verification: "verify now" (``verify``), a player
refused a segment (``playback_refused``) and the scrubber's passes (``scrub``). The newest of
them is the session's last verdict, shown in the list and on the session page; a failed one
overrides the stored state, so a session is never shown "sealed" after it was found
tampered. A failure found in the console is also an ``alarm`` event (the scrubber raises its
own), which the supervisors of the session's unit see on the alarms page.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
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

    @property
    def label(self) -> str:
        return str(VERDICT_LABELS.get(self.kind, VERDICT_LABELS["failed"]))

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS.get(self.source, self.source))

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
    """An alarm as a supervisor sees it, with what is known of its session now."""

    entry: CustodyEntry
    now: Verdict | None  # the session's last verdict, which may have come since

    @property
    def open(self) -> bool:
        """Still true: a session's alarm stays open until the session verifies again."""
        if self.entry.session_id is None or self.entry.detail.get("kind") != VERIFICATION_FAILED:
            return True
        return self.now is None or not self.now.intact

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


def alarms_for(viewer: User, *, limit: int = 200) -> list[Alarm]:
    """The alarms ``viewer`` may see (their units' sessions and events), newest first."""
    entries = EventScope(viewer).visible(custody_log().entries(action=ALARM))[::-1][:limit]
    verdicts = last_verdicts({e.session_id for e in entries if e.session_id})
    return [Alarm(e, verdicts.get(e.session_id or "")) for e in entries]


def open_alarm_count() -> int:
    """How many alarms the current user has still open, one per session at most."""
    seen: set[str] = set()
    count = 0
    for alarm in alarms_for(current_user):
        key = alarm.entry.session_id or f"#{alarm.entry.seq}"
        if alarm.open and key not in seen:
            seen.add(key)
            count += 1
    return count


def raise_alarm(session_id: str, verdict: Verdict) -> None:
    """A verification failed in front of a person: an alarm for the unit's supervisors."""
    # English, as every reason in the log is (its code and values beside it are what the
    # console shows in its own language: ``Alarm.reason``, ``web.custody.details``).
    where = f"{verdict.location}: " if verdict.location else ""
    reason = f"{verdict.kind.upper()}: first failure: {where}{verdict.reason}"
    log.error("ALARM (%s) %s: %s", VERIFICATION_FAILED, session_id, reason)
    record(
        ALARM,
        session_id=session_id,
        detail={
            "kind": VERIFICATION_FAILED,
            "reason": reason,
            "found_by": verdict.source,
            "result": verdict.kind,
            "location": verdict.location,
            **(
                {"reason_code": verdict.reason_code, "reason_params": verdict.reason_params}
                if verdict.reason_code
                else {}
            ),
        },
    )
