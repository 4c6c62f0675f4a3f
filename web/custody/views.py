"""The auditor's view of the custody log: integrity, checkpoints, and filtered history.

It shows only the events about the viewer's units and the viewer's own actions
(``web.visibility.EventScope``), others' private notes hidden. ``?session=`` of a session the
viewer may not see answers 404, as the session's own page does, and the attempt is logged.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from evidence_store import VerificationError, format_utc, parse_utc, reason_fields
from evidence_store.custody import CustodyEntry
from web.access import allow
from web.audit import custody_log, record
from web.display import ROLE_LABELS, detail_items, localtime
from web.labels import ACTION_LABELS, action_label
from web.roles import Role
from web.visibility import EventScope, visible_session

blueprint = Blueprint("custody", __name__, url_prefix="/custody")
PAGE_ROWS = 100


def _day_bound(value: str, *, end: bool) -> str | None:
    """A YYYY-MM-DD filter as a UTC timestamp bound, or None if it is not a date."""
    try:
        return format_utc(parse_utc(f"{value}T{'23:59:59.999999' if end else '00:00:00.000000'}Z"))
    except ValueError:
        return None


@blueprint.get("/")
@allow(Role.AUDITOR, Role.SUPERVISOR)
def overview() -> str | Response:
    log = custody_log()
    try:
        report = log.verify()
        integrity = {
            "intact": True,
            "rows": report.rows,
            "head": report.head,
            "checkpoints": report.checkpoints,
            "last": report.last_checkpoint_seq,
        }
    except VerificationError as failure:
        integrity = {
            "intact": False,
            "location": failure.location,
            "reason": failure.reason,
            **reason_fields(failure.reason),
        }
    filters = {
        key: (request.args.get(key) or "").strip()[:200]
        for key in ("actor", "session", "action", "since", "until")
    }
    if filters["session"]:
        visible_session(filters["session"])  # another unit's: 404, and logged
    scope = EventScope(current_user)
    entries = log.entries(
        actor=filters["actor"] or None,
        session_id=filters["session"] or None,
        action=filters["action"] or None,
        since=_day_bound(filters["since"], end=False) if filters["since"] else None,
        until=_day_bound(filters["until"], end=True) if filters["until"] else None,
    )
    entries = scope.visible(entries)[::-1]  # newest first
    wants_csv = request.args.get("format") == "csv"
    record(
        "custody_viewed",
        detail={
            "filters": {k: v for k, v in filters.items() if v},
            "intact": integrity["intact"],
            **({"format": "csv"} if wants_csv else {}),
        },
    )
    if wants_csv:
        return _as_csv(entries, auditing=True)
    pages = max(1, -(-len(entries) // PAGE_ROWS))
    page = min(pages, max(1, request.args.get("page", 1, type=int) or 1))
    shown = entries[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    return render_template(
        "custody/log.html",
        integrity=integrity,
        entries=shown,
        total=len(entries),
        filters=filters,
        page=page,
        pages=pages,
        actions=sorted(ACTION_LABELS, key=action_label),
    )


def _as_csv(entries: list[CustodyEntry], *, auditing: bool) -> Response:
    """The filtered events as CSV (UTF-8 with a BOM, so spreadsheets read Vietnamese), with
    the actions and roles by name and the times in the console's zone."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "#",
            _("Time"),
            _("Who"),
            _("Role"),
            _("Action"),
            _("Session"),
            "IP",
            _("Detail"),
            "UTC",
        ]
    )
    for e in entries:
        writer.writerow(
            [
                e.seq,
                localtime(e.at),
                e.actor,
                ROLE_LABELS.get(e.role, e.role),
                action_label(e.action),
                e.session_id or "",
                (e.ip or "") if auditing else "",
                "; ".join(f"{k}: {v}" for k, v in detail_items(e.detail)),
                e.at,
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="custody.csv"'},
    )
