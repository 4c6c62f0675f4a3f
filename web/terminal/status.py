"""What the room terminal shows of its recorder, as one document: the page's first paint
renders it on the server (the right controls from the start, no blank second), and
``status.json`` sends the same every second for terminal.js to apply.

Numbers a person reads are formatted here, in the console's language (whole seconds, whole
dBFS): a browser's ``toFixed`` would write "0.0 giây" with an English decimal point.
"""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _

from evidence_store import SealroomError
from evidence_store.upload import last_status
from recorder.control import DeviceHealth
from web.evidence import data_dir
from web.models import Room
from web.room_health import NoRecorderCredential, recorder_client

FIRST_PAINT_TIMEOUT = 2.0  # seconds: an unreachable recorder must not hold the page up


def unavailable(problem: SealroomError) -> str:
    """What the terminal says when the recorder cannot be driven: never "recording"."""
    if isinstance(problem, NoRecorderCredential):
        return str(
            _("The console has no credential for the room's recorder. Nothing is being recorded.")
        )
    return str(_("The room's recorder cannot be reached. Nothing is being recorded."))


def device_text(device: DeviceHealth) -> str:
    """One device's line: kind and name, working or lost, frames, last frame's age, level."""
    kind = _("Microphone") if device.kind == "microphone" else _("Camera")
    facts = [f"{kind} {device.name}", _("LOST") if device.lost else _("working")]
    if device.kind == "camera":
        facts.append(f"{format_decimal(device.frames_received)} {_('frames')}")
    if device.last_frame_age_seconds is not None:
        seconds = format_decimal(round(device.last_frame_age_seconds))
        facts.append(_("last frame %(s)s s ago", s=seconds))
    if device.audio_level_dbfs is not None:
        facts.append(level_text(device.audio_level_dbfs))
    return " · ".join(facts)


def level_text(dbfs: float | None) -> str:
    return "—" if dbfs is None else f"{format_decimal(round(dbfs))} dBFS"


def room_status(room: Room, *, timeout: float | None = None) -> dict[str, Any]:
    """The room's recorder now, as the terminal shows it; ``reachable`` False (with the
    reason in ``error``) when it cannot be asked."""
    try:
        client = recorder_client(room)
        if timeout is not None:
            client.timeout = timeout
        current = client.status()
        level = client.audio_level()
    except SealroomError as problem:  # unreachable, no credential, or not the room it claims
        return {"reachable": False, "error": unavailable(problem)}
    # The upload backlog comes from the uploader's own status file (no network needed).
    uploader = last_status(data_dir()) or {}
    backlog = current.backlog or uploader.get("backlog") or {}
    configured = backlog.get("upload_configured")
    return {
        "reachable": True,
        **current.as_dict(),
        "audio_dbfs": level.dbfs,
        "audio_shown": level_text(level.dbfs),
        "backlog_objects": backlog.get("objects"),
        # False: no upload destination at all, so the terminal says so instead of a count.
        "upload_configured": configured if isinstance(configured, bool) else None,
        "devices_shown": [
            {"name": d.name, "lost": d.lost, "text": device_text(d)} for d in current.devices
        ],
    }
