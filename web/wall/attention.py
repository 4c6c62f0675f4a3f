"""Why a room on the wall needs a person, in words, and the figures a tile shows as text.

A room's own recorder tells its health (``web.room_health``); the console adds what only it
knows: an integrity alarm still open about one of the room's sessions. Times and numbers are
formatted here, on the server, in the console's time zone and language: a browser's own
locale and clock would show another format, or UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from web.display import duration, localtime
from web.evidence import session_index
from web.room_health import STALLED_SECONDS, RoomHealth
from web.trust import alarms_for

OPEN_ALARM = "open_alarm"
REASONS = {
    "unreachable": _l("its recorder does not answer"),
    "alarm": _l("alarm from the room: %(alarm)s"),
    "device_lost": _l("device lost: %(devices)s"),
    "low_disk": _l("the disk is almost full"),
    "stalled": _l("nothing sealed for over %(seconds)s s"),
    "upload_backlog": _l("recordings are not leaving the room (upload backlog)"),
    OPEN_ALARM: _l("an integrity alarm is open on a session of this room"),
}
NO_UPLOAD_DESTINATION = _l("No upload destination is configured: recordings stay on this machine.")
NO_UPLOAD_SHORT = _l("No upload destination configured")  # the wall's cell; the above as title


def rooms_with_open_alarms(rooms: Iterable[RoomHealth]) -> set[str]:
    """The codes of the rooms one of whose sessions has an alarm still open, among the
    alarms this user may see. A session is the room's when the recorder names it (live or
    last), or when the catalog files it under the room's name and unit."""
    sessions = {
        alarm.entry.session_id
        for alarm in alarms_for(current_user)
        if alarm.open and alarm.entry.session_id
    }
    if not sessions:
        return set()
    rooms = list(rooms)
    found = {r.code for r in rooms if {r.session_id, r.last_session_id} & sessions}
    index = session_index()
    for session_id in sessions:
        summary = index.get(session_id)
        if summary is None or summary.metadata is None:
            continue
        found |= {r.code for r in rooms if (r.name, r.unit) == (summary.room, summary.unit)}
    return found


def reasons(room: RoomHealth, codes: Collection[str]) -> list[str]:
    """Each reason the room needs attention, in the console's language."""
    lost = ", ".join(d.name for d in room.devices if not d.up)
    values = {"alarm": room.alarm or "", "devices": lost, "seconds": int(STALLED_SECONDS)}
    return [str(REASONS[code]) % values for code in REASONS if code in codes]


def shown_figures(room: RoomHealth) -> dict[str, Any]:
    """The tile's times and figures as text, formatted as the rest of the console's pages."""
    backlog = "—"
    if room.upload_configured is False:
        backlog = str(NO_UPLOAD_SHORT)
    elif room.backlog_objects is not None:
        megabytes = format_decimal((room.backlog_bytes or 0) / 1e6, format="#,##0.0")
        backlog = f"{room.backlog_objects} ({megabytes} MB)"
    share = room.disk_free_share
    return {
        "started_at_shown": localtime(room.started_at),
        "last_seal_shown": localtime(room.last_sealed_at),
        "elapsed_shown": (
            "" if room.elapsed_seconds is None else duration(room.elapsed_seconds * 1_000_000)
        ),
        "backlog_shown": backlog,
        "disk_shown": "—" if share is None else f"{format_decimal(round(share * 100))} %",
        "no_upload_destination": room.upload_configured is False,
        "backlog_title": str(NO_UPLOAD_DESTINATION) if room.upload_configured is False else "",
    }
