"""A custody event's detail as a person reads it, in the page, the CSV and the PDF.

The log keeps codes and English (what a machine and the command line read); here each name
has a label in the console's language and each value a readable form: a clip by its exhibit
number, a moment of a session as ``hh:mm:ss.mmm``, a unit by its name, a verdict, an alarm's
kind and a failure's reason by their words (``web.failures``). The reason's code and values
are not shown themselves: the reason says them.
"""

from __future__ import annotations

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from web.clips import format_timecode
from web.display import (
    ALARM_LABELS,
    ROLE_LABELS,
    SOURCE_LABELS,
    VERDICT_LABELS,
    printable,
    unit_name,
)
from web.extensions import db
from web.failures import failure_text
from web.labels import CHANGE_KIND_LABELS, action_label, detail_label, recorded_reason
from web.models import Clip
from web.trust import REQUEST_LABELS
from web.visibility import HIDDEN_NOTE

HIDDEN = frozenset({"reason_code", "reason_params"})  # said by the reason itself
MOMENTS = frozenset({"start_ms", "end_ms", "offset_ms"})  # ms from the session's start
UNITS = frozenset({"unit", "filed_under", "parent"})
CODES = frozenset({"endpoint", "path", "method", "url", "recorder_url"})  # shown as <code>


ASKED_BY = _l("asked by")  # the administrator who asked for an account change
PRIVATE = _l("(private)")  # a private bookmark's note, to anyone but its author
# What a ``kind`` names: an alarm's, an account change's, an export's or exhibit's.
KINDS: dict[str, LazyString] = {
    **ALARM_LABELS,
    **CHANGE_KIND_LABELS,
    "session": _l("Session"),
    "clip": _l("Clip"),
    "diagram": _l("Diagram"),
}


def exhibit_of(clip_id: object) -> str:
    """A clip by its exhibit number (VC-01), as the console shows it everywhere; its
    database number only when the clip is gone."""
    if not isinstance(clip_id, int) or isinstance(clip_id, bool):
        return str(clip_id)
    numbers: dict[int, str] = g.setdefault("exhibit_numbers", {}) if has_app_context() else {}
    if clip_id not in numbers:
        number = db.session.scalar(select(Clip.exhibit_number).where(Clip.id == clip_id))
        numbers[clip_id] = number or f"#{clip_id}"
    return numbers[clip_id]


def readable(detail: dict[str, object]) -> list[tuple[str, str, bool]]:
    """(label, value, is_code) lines: is_code for addresses and function names, which stay
    as they are (a browser shows them as code)."""
    lines = []
    for key, value in detail.items():
        if key in HIDDEN:
            continue
        label = detail_label(key)
        if key == "requested_by" and value not in REQUEST_LABELS:  # an account change's
            label = str(ASKED_BY)
        lines.append((label, printable(_value(key, value, detail)), key in CODES))
    return lines


def _value(key: str, value: object, detail: dict[str, object]) -> str:
    if value is None or value == "":
        return "—"
    if value == HIDDEN_NOTE:
        return str(PRIVATE)
    if key == "reason" and detail.get("reason_code"):
        return failure_text(detail)
    if key == "reason" and isinstance(value, str):
        return recorded_reason(value)
    if key == "clip_id":
        return exhibit_of(value)
    if key in MOMENTS and isinstance(value, int) and not isinstance(value, bool):
        return format_timecode(value)
    if key in UNITS and isinstance(value, str):
        return unit_name(value)
    if key == "role" and isinstance(value, str):
        return str(ROLE_LABELS.get(value, value))
    if key == "kind" and isinstance(value, str) and (label := KINDS.get(value)) is not None:
        return str(label)
    if key == "result" and isinstance(value, str) and value in VERDICT_LABELS:
        return str(VERDICT_LABELS[value])
    if key == "requested_by" and isinstance(value, str) and value in REQUEST_LABELS:
        return str(REQUEST_LABELS[value])
    if key == "found_by" and isinstance(value, str):
        return str(SOURCE_LABELS.get(value, value))
    return _shown(value)


def _shown(value: object) -> str:
    if isinstance(value, dict):  # e.g. a view's filters: the action by its name
        return (
            ", ".join(
                f"{detail_label(str(k))}: "
                + (
                    action_label(v)
                    if k == "action" and isinstance(v, str)
                    else _value(str(k), v, {})
                )
                for k, v in value.items()
            )
            or "—"
        )
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) or "—"
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    return "—" if value is None else str(value)
