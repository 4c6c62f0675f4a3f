"""How things look to a person: local times, durations, units by their names, translated labels."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, g, has_app_context
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from evidence_store import parse_utc, spelled_out
from web.extensions import db
from web.failures import failure_text
from web.labels import (
    action_label,
    change_kind_label,
    change_status_label,
    event_reason,
)
from web.models import Unit

ROLE_LABELS = {
    "investigator": _l("Investigator"),
    "prosecutor": _l("Prosecutor"),
    "court_clerk": _l("Court clerk"),
    "supervisor": _l("Supervisor"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
    # Who acts without a console account: a room's recorder, the command line, the console.
    "recorder": _l("Room recorder"),
    "operator": _l("Operator (command line)"),
    "system": _l("System"),
    "none": _l("Not logged in"),
}
STATE_LABELS = {
    "sealed": _l("sealed"),
    "interrupted": _l("interrupted, sealed"),
    "open": _l("recording or unsealed"),
    "damaged": _l("damaged"),
    # Shown instead of the stored state once the last verification failed (web.trust).
    "tampered": _l("tampered"),
    "incomplete": _l("incomplete"),
    "untrusted": _l("signed by an untrusted device"),
    "custody": _l("custody log damaged"),
    "failed": _l("failed verification"),
}
VERDICT_LABELS = {
    "intact": _l("INTACT"),
    "tampered": _l("TAMPERED"),
    "incomplete": _l("INCOMPLETE"),
    "untrusted": _l("UNTRUSTED SIGNER"),
    "custody": _l("CUSTODY LOG DAMAGED"),
    "failed": _l("VERIFICATION FAILED"),
}
ALARM_LABELS = {
    "verification_failed": _l("Verification failed"),
    "clock_skew": _l("Clock skew"),
    "custody_damaged": _l("Custody log damaged"),
}
SOURCE_LABELS = {  # what found a verdict
    "verify": _l("verify now"),
    "playback_refused": _l("playback refused a segment"),
    "scrub": _l("scheduled check"),
}
EVENT_LABELS = {
    "session_started": _l("Session started"),
    "paused": _l("Paused"),
    "resumed": _l("Resumed"),
    "device_lost": _l("Device lost"),
    "device_restored": _l("Device restored"),
    "clock_corrected": _l("Clock corrected"),
    "note": _l("Note on the record"),
    "device_stats": _l("What each device delivered"),
    "interrupted": _l("Interrupted"),
    "stopped": _l("Stopped"),
}


def localtime(value: str | None) -> str:
    """A stored UTC timestamp in the console's time zone, to the second."""
    if not value:
        return "—"
    try:
        return str(format_datetime(parse_utc(value), "yyyy-MM-dd HH:mm:ss"))
    except ValueError:
        return value


def printable(value: object) -> str:
    """Text from users as it is, but with every control character written out (``\\n``,
    ``\\u2028``...), so a sealed "A<newline>B" never shows as "A B" or as two lines, in a
    page or a PDF. (New text cannot hold them; sessions sealed before the rule may.)"""
    return spelled_out("" if value is None else str(value))


def stored_time(value: datetime | None) -> str:
    """A time from the console's database (UTC; SQLite hands it back without a zone) in the
    console's time zone, to the second."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(format_datetime(value, "yyyy-MM-dd HH:mm:ss"))


def duration(microseconds: int | float) -> str:
    seconds = int(microseconds // 1_000_000)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def clock_ms(milliseconds: int) -> str:
    """A moment of a session, to the millisecond: 0:01:02.345."""
    seconds, ms = divmod(int(milliseconds), 1000)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.{ms:03d}"


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def unit_name(code: str | None) -> str:
    """The unit's name ("Viện kiểm sát nhân dân tối cao"), its code where it has none or is
    unknown. Names are read once per request."""
    if not code:
        return ""
    if not has_app_context():
        return code
    names: dict[str, str] | None = g.get("unit_names")
    if names is None:
        rows = db.session.execute(select(Unit.code, Unit.name)).all()
        names = {row.code: row.name or row.code for row in rows}
        g.unit_names = names
    return names.get(code, code)


def init_display(app: Flask) -> None:
    app.add_template_global(lambda: str(get_locale() or "vi"), "current_locale")
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(stored_time, "stored_time")
    app.add_template_filter(printable, "printable")
    app.add_template_filter(duration, "duration")
    app.add_template_global(lambda role: str(ROLE_LABELS.get(role, role)), "role_label")
    app.add_template_global(state_label, "state_label")
    app.add_template_filter(clock_ms, "clock_ms")
    app.add_template_global(lambda kind: str(EVENT_LABELS.get(str(kind), kind)), "event_label")
    app.add_template_global(action_label, "action_label")
    app.add_template_global(change_kind_label, "change_kind_label")
    app.add_template_global(change_status_label, "change_status_label")
    app.add_template_global(unit_name, "unit_name")
    app.add_template_filter(event_reason, "event_reason")
    app.add_template_global(failure_text, "failure_text")
    app.add_template_global(lambda kind: str(ALARM_LABELS.get(str(kind), kind)), "alarm_label")
    app.add_template_global(
        lambda kind: str(VERDICT_LABELS.get(str(kind), VERDICT_LABELS["failed"])), "verdict_label"
    )
