"""Words for what the console shows but does not write itself: custody actions, and the
errors that other packages raise in English (accounts, the room's recorder).

The codes and the English messages stay as they are in the custody log and on the command
line; a person in the console reads them in the console's language. A message that matches
no pattern is shown as it is, after a translated "Error:" (better English than nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

ACTION_LABELS: dict[str, LazyString] = {
    "access_denied": _l("access denied"),
    "account_change_approved": _l("account change approved"),
    "account_change_refused": _l("account change refused"),
    "account_change_requested": _l("account change requested"),
    "alarm": _l("alarm"),
    "audience_opened": _l("court screen opened"),
    "backup": _l("backed up"),
    "bookmark_added": _l("bookmark added"),
    "bookmark_removed": _l("bookmark removed"),
    "clip_created": _l("clip defined"),
    "custody_exported": _l("custody log exported"),
    "custody_repair": _l("custody log repaired"),
    "custody_rows_lost": _l("custody rows lost"),
    "custody_verified": _l("custody log verified"),
    "custody_viewed": _l("custody log viewed"),
    "diagram_display": _l("diagram shown"),
    "diagram_download": _l("diagram downloaded"),
    "diagram_download_failed": _l("diagram download failed"),
    "diagram_drawn": _l("diagram drawn"),
    "diagram_layer_deleted": _l("diagram drawing removed"),
    "diagram_layer_saved": _l("diagram drawing saved"),
    "diagram_page_refused": _l("diagram page refused"),
    "diagram_page_restore_failed": _l("diagram page not restored"),
    "diagram_page_restored": _l("diagram page restored"),
    "diagram_pages_derived": _l("diagram pages prepared"),
    "diagram_pages_refused": _l("diagram pages refused"),
    "diagram_upload": _l("diagram uploaded"),
    "diagram_upload_refused": _l("diagram upload refused"),
    "diagram_view": _l("diagram viewed"),
    "export": _l("exported"),
    "export_download": _l("export downloaded"),
    "export_download_incomplete": _l("export download incomplete"),
    "export_download_refused": _l("export download refused"),
    "export_refused": _l("export refused"),
    "export_requested": _l("export requested"),
    "hearing_created": _l("hearing created"),
    "hearing_exhibit_added": _l("exhibit added to a hearing"),
    "hearing_exhibit_moved": _l("exhibit moved"),
    "hearing_exhibit_removed": _l("exhibit removed from a hearing"),
    "legal_hold_set": _l("legal hold set"),
    "list_alarms": _l("alarms listed"),
    "list_clips": _l("clips listed"),
    "list_diagrams": _l("diagrams listed"),
    "list_exports": _l("exports listed"),
    "list_hearings": _l("hearings listed"),
    "list_sessions": _l("sessions listed"),
    "login": _l("logged in"),
    "login_failed": _l("login failed"),
    "login_throttled": _l("login slowed down"),
    "logout": _l("logged out"),
    "logout_everywhere": _l("logged out everywhere"),
    "password_change_failed": _l("password change failed"),
    "password_change_refused": _l("password change refused"),
    "password_changed": _l("password changed"),
    "password_reset": _l("password reset"),
    "playback": _l("played"),
    "playback_refused": _l("playback refused"),
    "present": _l("shown on the court screen"),
    "present_blank": _l("court screen blanked"),
    "present_callout": _l("callout added on the court screen"),
    "present_clear_callouts": _l("callouts cleared from the court screen"),
    "present_pause": _l("paused on the court screen"),
    "present_play": _l("played on the court screen"),
    "present_refused": _l("presenting refused"),
    "present_seek": _l("moved to a moment on the court screen"),
    "present_unblank": _l("court screen shown again"),
    "present_zoom": _l("zoomed on the court screen"),
    "present_withdraw": _l("withdrawn from the court screen"),
    "presenter_opened": _l("presenter opened"),
    "quarantine": _l("quarantined"),
    "record_recovered": _l("recording recovered"),
    "record_sealed": _l("recording sealed"),
    "record_started": _l("recording started"),
    "release": _l("released from the spool"),
    "restore": _l("restored from a backup"),
    "room_address_changed": _l("room address changed"),
    "room_created": _l("room created"),
    "room_credential_issued": _l("room credential issued"),
    "room_live_viewed": _l("live picture of a room viewed"),
    "rooms_wall_viewed": _l("wall of rooms viewed"),
    "scrub": _l("scheduled check"),
    "seal_sheet_printed": _l("seal sheet printed"),
    "seal_sheet_viewed": _l("seal sheet viewed"),
    "session_paused": _l("session paused"),
    "session_resumed": _l("session resumed"),
    "session_started": _l("session started"),
    "session_stopped": _l("session stopped"),
    "show": _l("shown in court"),
    "time_stamped": _l("time-stamped"),
    "unit_created": _l("unit created"),
    "upload": _l("uploaded"),
    "user_created": _l("user created"),
    "user_disabled": _l("user disabled"),
    "user_enabled": _l("user enabled"),
    "user_role_changed": _l("role changed"),
    "user_unit_changed": _l("unit changed"),
    "user_unlocked": _l("user unlocked"),
    "verify": _l("verified"),
    "view": _l("viewed"),
    "view_hearing": _l("hearing viewed"),
}


# The names of a custody event's details that people meet most; others show as their code.
DETAIL_LABELS: dict[str, LazyString] = {
    "action": _l("action"),
    "actor": _l("user"),
    "after": _l("newer than row"),
    "archive_sha256": _l("SHA-256 of the archive"),
    "before": _l("older than row"),
    "bytes": _l("bytes"),
    "case": _l("case"),
    "case_number": _l("case"),
    "checkpoints": _l("checkpoints"),
    "clip_id": _l("clip"),
    "code": _l("code"),
    "court": _l("court"),
    "diagram": _l("diagram"),
    "end_ms": _l("clip end"),
    "endpoint": _l("console function"),
    "error": _l("error"),
    "exhibit_id": _l("exhibit list entry"),
    "exhibit_number": _l("exhibit number"),
    "filename": _l("file name"),
    "from": _l("before the change"),
    "method": _l("HTTP method"),
    "name": _l("name"),
    "outcome": _l("outcome"),
    "package": _l("package"),
    "package_sha256": _l("SHA-256 of the package"),
    "parent": _l("parent unit"),
    "path": _l("address"),
    "position": _l("position"),
    "recorder_url": _l("recorder address"),
    "role": _l("role"),
    "segments": _l("segments"),
    "signer": _l("signer"),
    "size": _l("size"),
    "start_ms": _l("clip start"),
    "state": _l("state"),
    "status": _l("status"),
    "title": _l("title"),
    "to": _l("after the change"),
    "total": _l("total"),
    "unit": _l("unit"),
    "url": _l("address"),
    "username": _l("username"),
    "filed_under": _l("filed under unit"),
    "filters": _l("filters"),
    "format": _l("format"),
    "found_by": _l("found by"),
    "head": _l("head"),
    "hearing_id": _l("hearing"),
    "index": _l("segment number"),
    "intact": _l("intact"),
    "kind": _l("kind"),
    "location": _l("where"),
    "login_id": _l("login number"),
    "note": _l("note"),
    "other_case": _l("of another case"),
    "offset_ms": _l("moment in the session"),
    "page": _l("page"),
    "reason": _l("reason"),
    "reprint": _l("reprint"),
    "request_id": _l("request"),
    "requested_by": _l("found through"),
    "result": _l("result"),
    "found_sha256": _l("SHA-256 found"),
    "found_size": _l("size found (bytes)"),
    "sealed_sha256": _l("sealed SHA-256"),
    "sealed_size": _l("sealed size (bytes)"),
    "first_segment": _l("first segment"),
    "verification": _l("verification"),
    "last_segment": _l("last segment"),
    "room": _l("room"),
    "rows": _l("rows"),
    "segment": _l("segment"),
    "session": _l("session"),
    "shared": _l("shared"),
    "shown": _l("shown"),
    "since": _l("from"),
    "until": _l("to"),
    "up_to": _l("up to row"),
}


# An account change waiting for a second administrator: what it changes, and where it is.
CHANGE_KIND_LABELS: dict[str, LazyString] = {
    "create": _l("new account"),
    "role": _l("new role"),
    "unit": _l("new unit"),
    "password": _l("password set by an administrator"),
}
CHANGE_STATUS_LABELS: dict[str, LazyString] = {
    "pending": _l("waiting for a decision"),
    "approved": _l("approved"),
    "refused": _l("refused"),
}


# Why a request was refused as if the thing did not exist (``web.visibility.hidden``), as
# the custody log keeps it.
DENIAL_REASONS: dict[str, LazyString] = {
    "outside the user's units": _l("outside the user's units"),
    "other unit": _l("of another unit"),
    "not yours": _l("not the user's own"),
}


def _worded(table: Mapping[str, LazyString], code: str) -> str:
    """The code's words from ``table``; the code itself where it has none."""
    label = table.get(code)
    return code if label is None else str(label)


def recorded_reason(text: str) -> str:
    """A reason the console recorded in English without a code, in its language."""
    return _worded(DENIAL_REASONS, text)


def change_kind_label(code: str) -> str:
    return _worded(CHANGE_KIND_LABELS, code)


def change_status_label(code: str) -> str:
    return _worded(CHANGE_STATUS_LABELS, code)


def detail_label(key: str) -> str:
    return _worded(DETAIL_LABELS, key)


def action_label(code: str) -> str:
    return _worded(ACTION_LABELS, code)


# (pattern, translation): the pattern's named groups fill the translation's placeholders.
_MESSAGES: list[tuple[re.Pattern[str], Callable[..., str]]] = [
    (re.compile(r"unknown unit '(?P<unit>[^']*)'"), lambda **v: _("Unknown unit %(unit)s.", **v)),
    (re.compile(r"no user '(?P<user>[^']*)'"), lambda **v: _("No user %(user)s.", **v)),
    (
        re.compile(r"unit '(?P<unit>[^']*)' exists already"),
        lambda **v: _("Unit %(unit)s exists already.", **v),
    ),
    (
        re.compile(r"user '(?P<user>[^']*)' exists already"),
        lambda **v: _("User %(user)s exists already.", **v),
    ),
    (
        re.compile(r"a unit code is 1-64 lowercase letters.*"),
        lambda: _("A unit code is 1-64 lowercase letters, digits, '.', '_' or '-'."),
    ),
    (
        re.compile(r"a username is 2-64 lowercase letters.*"),
        lambda: _("A username is 2-64 lowercase letters, digits, '.', '_' or '-'."),
    ),
    (re.compile(r"the current password is not right"), lambda: _("The current password is wrong.")),
    (
        re.compile(r"the new password must differ from the current one"),
        lambda: _("The new password must differ from the current one."),
    ),
    (
        re.compile(
            r"the last active administrator (cannot be disabled|must stay an administrator)"
        ),
        lambda: _("The last active administrator must stay an active administrator."),
    ),
    (
        re.compile(r"(?P<user>\S+) is (disabled|enabled|in \S+|\S+) already"),
        lambda **v: _("No change: %(user)s is so already.", **v),
    ),
    (
        re.compile(r"(?P<user>\S+) is a directory account.*"),
        lambda **v: _("%(user)s is a directory account: change it in the directory.", **v),
    ),
    (
        re.compile(r"cannot start: session (?P<session>\S+) is being recorded"),
        lambda **v: _("Cannot start: session %(session)s is being recorded.", **v),
    ),
    (
        re.compile(r"cannot start: room (?P<room>.+) is not held"),
        lambda **v: _("Cannot start: room %(room)s is held by another recorder.", **v),
    ),
    (
        re.compile(r"cannot (?P<action>pause|resume|stop): the room is not recording"),
        lambda **v: _("Nothing to do: the room is not recording."),
    ),
    (
        re.compile(r"cannot (pause|resume): the recorder is (?P<state>\S+)"),
        lambda **v: _("Not possible now: the recorder is %(state)s.", **v),
    ),
    (
        re.compile(r"no picture.*"),
        lambda: _("No picture: the room is not recording, or its first frame is still to come."),
    ),
]


def spoken(message: str) -> str:
    """An English error from another package, in the console's language."""
    text = message.strip()
    for pattern, translate in _MESSAGES:
        if match := pattern.fullmatch(text):
            return str(translate(**match.groupdict()))
    return str(_("Error: %(message)s", message=text))


# Why the recorder wrote a device event into the sealed chain (English, as sealed): the
# session page's timeline reads them in the console's language.
_EVENT_REASONS: list[tuple[re.Pattern[str], Callable[..., str]]] = [
    (
        re.compile(r"no data for (?P<seconds>[0-9.]+) s"),
        lambda **v: _("no data for %(seconds)s s", **v),
    ),
    (
        re.compile(r"no sound for (?P<seconds>[0-9.]+) s"),
        lambda **v: _("no sound for %(seconds)s s", **v),
    ),
    (
        re.compile(
            r"audio clock (?P<ppm>\d+) ppm fast against the session clock: resampled by "
            r"(?P<ratio>[+-]?\d+) ppm from sample (?P<sample>\d+) on"
        ),
        lambda **v: _(
            "audio clock %(ppm)s ppm fast against the session clock: resampled by %(ratio)s "
            "ppm from sample %(sample)s on",
            **v,
        ),
    ),
    (
        re.compile(
            r"audio clock (?P<ppm>\d+) ppm slow against the session clock: resampled by "
            r"(?P<ratio>[+-]?\d+) ppm from sample (?P<sample>\d+) on"
        ),
        lambda **v: _(
            "audio clock %(ppm)s ppm slow against the session clock: resampled by %(ratio)s "
            "ppm from sample %(sample)s on",
            **v,
        ),
    ),
]


def event_reason(text: str) -> str:
    """A sealed event's reason (a device lost, the audio clock corrected) in the console's
    language; one the console has no words for is shown as it was sealed."""
    for pattern, translate in _EVENT_REASONS:
        if match := pattern.fullmatch(text.strip()):
            return str(translate(**match.groupdict()))
    return text
