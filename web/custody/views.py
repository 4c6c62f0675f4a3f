"""The auditor's view of the custody log: its integrity, and its history filtered by who,
what, when and session, a page at a time, and the same rows as CSV or PDF.

It shows only the events about the viewer's units and the viewer's own actions
(``web.visibility.EventScope``), others' private notes hidden. ``?session=`` of a session the
viewer may not see answers 404, as the session's own page does, and the attempt is logged.
Pages are read by key from the database (``web.custody.pages``); every view and export is
itself a custody event.

Verifying the whole log reads every row and every signed checkpoint: a second per thousand
rows. A page view therefore shows the last verification (a ``custody_verified`` event, by
whoever pressed "Verify now") and any damage the log has noticed itself, never a verdict
older than it says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from evidence_store import VerificationError, format_utc, reason_fields, utc_now
from evidence_store.custody import CustodyEntry, CustodyLog
from web.access import allow
from web.audit import custody_log, record
from web.custody.details import readable
from web.custody.pages import Filters, every_row, read_page
from web.custody.pdf import Header, custody_pdf
from web.display import ROLE_LABELS, localtime
from web.forms import ConfirmForm
from web.labels import ACTION_LABELS, action_label
from web.roles import Role
from web.visibility import EventScope, visible_session

blueprint = Blueprint("custody", __name__, url_prefix="/custody")
PDF_ROWS = 5_000  # a PDF longer than this is no longer read by a person: narrow the filter
VERIFIED = "custody_verified"
READERS = (Role.AUDITOR, Role.SUPERVISOR)


def _filters() -> Filters:
    """The request's filters; a bad date is a 400, and a session the viewer may not see a
    404 (logged), before anything is read."""
    filters = Filters.from_args(request.args)
    if bad := filters.bad_dates():
        message = _("Not a date: %(value)s. Use the form YYYY-MM-DD.", value=bad[0])
        abort(make_response(render_template("error.html", code=400, message=message), 400))
    if filters.session:
        visible_session(filters.session)
    return filters


@blueprint.app_template_filter("custody_details")
def _custody_details(detail: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return readable(detail)


@blueprint.get("/")
@allow(*READERS)
def overview() -> ResponseReturnValue:
    if request.args.get("format") in ("csv", "pdf"):  # links from before the exports' routes
        export = "custody.export_csv" if request.args["format"] == "csv" else "custody.export_pdf"
        return redirect(url_for(export, **Filters.from_args(request.args).as_args()))
    filters = _filters()
    log = custody_log()
    before = request.args.get("before", type=int)
    after = request.args.get("after", type=int) if before is None else None
    record(
        "custody_viewed",
        detail={
            "filters": filters.as_args(),
            **({"before": before} if before is not None else {}),
            **({"after": after} if after is not None else {}),
        },
    )
    page = read_page(log, EventScope(current_user), filters, before=before, after=after)
    return render_template(
        "custody/log.html",
        integrity=_integrity(log),
        page=page,
        filters=filters,
        args=filters.as_args(),
        actions=sorted(ACTION_LABELS, key=action_label),
        confirm_form=ConfirmForm(),
    )


def _integrity(log: CustodyLog) -> dict[str, Any]:
    """What is known of the log's integrity without reading all of it: damage the log has
    noticed (a database that no longer matches its checkpoints), and the last verification."""
    last = log.entries(action=VERIFIED, newest_first=True, limit=1)
    return {"damage": log.damage, "last": last[0] if last else None}


@blueprint.post("/verify")
@allow(*READERS)
def verify() -> ResponseReturnValue:
    """Verify every row and checkpoint now; the result is a custody event that every
    console process shows until the next verification."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        report = custody_log().verify()
        outcome: dict[str, Any] = {
            "intact": True,
            "rows": report.rows,
            "checkpoints": report.checkpoints,
            "head": report.head,
        }
    except VerificationError as failure:
        outcome = {
            "intact": False,
            "location": failure.location,
            "reason": failure.reason,
            **reason_fields(failure.reason),  # its code: shown in the console's language
        }
    record(VERIFIED, detail=outcome)
    flash(_("The custody log was verified."), "ok" if outcome["intact"] else "bad")
    return redirect(url_for("custody.overview", **Filters.from_args(request.args).as_args()))


def _headings(*, with_utc: bool) -> list[str]:
    headings = [
        "#",
        _("Time"),
        _("Who"),
        _("Role"),
        _("Action"),
        _("Session"),
        "IP",
        _("Detail"),
    ]
    return [*headings, "UTC"] if with_utc else headings


def _cells(entry: CustodyEntry, *, separator: str) -> list[str]:
    """A row as people read it: times in the console's zone, actions and roles by name,
    details as ``name: value`` lines."""
    return [
        str(entry.seq),
        localtime(entry.at),
        entry.actor,
        str(ROLE_LABELS.get(entry.role, entry.role)),
        action_label(entry.action),
        entry.session_id or "",
        entry.ip or "",
        separator.join(f"{k}: {v}" for k, v, _code in readable(entry.detail)),
    ]


@blueprint.get("/export.csv")
@allow(*READERS)
def export_csv() -> ResponseReturnValue:
    """Every filtered row the viewer may see, newest first, written as it is read (UTF-8 with
    a BOM, so spreadsheets read Vietnamese). Rows appended after the request are left out:
    the export is the log as it stood when asked for, and its own event is the first after."""
    filters = _filters()
    log = custody_log()
    up_to = log.head_seq()
    record(
        "custody_exported",
        detail={"format": "csv", "filters": filters.as_args(), "up_to": up_to},
    )
    scope = EventScope(current_user)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(_headings(with_utc=True))
        yield "\ufeff" + out.getvalue()
        for batch in every_row(log, scope, filters, up_to=up_to):
            out.seek(0)
            out.truncate()
            for entry in batch:
                writer.writerow([*_cells(entry, separator="; "), entry.at])
            yield out.getvalue()

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="custody.csv"'},
    )


@blueprint.get("/export.pdf")
@allow(*READERS)
def export_pdf() -> ResponseReturnValue:
    """The filtered rows as a landscape PDF table, at most ``PDF_ROWS`` of them: more is
    refused with a message to narrow the filter (the CSV has no limit), and nothing logged
    as exported."""
    filters = _filters()
    log = custody_log()
    up_to = log.head_seq()
    scope = EventScope(current_user)
    rows: list[CustodyEntry] = []
    for batch in every_row(log, scope, filters, up_to=up_to):
        rows.extend(batch)
        if len(rows) > PDF_ROWS:
            flash(
                _(
                    "More than %(limit)s events match: narrow the filter (dates, user, action "
                    "or session) to print them, or download them as CSV.",
                    limit=f"{PDF_ROWS:,}".replace(",", "."),
                ),
                "bad",
            )
            return redirect(url_for("custody.overview", **filters.as_args()))
    printed_at = format_utc(utc_now())
    header = Header(
        title=_("Custody log"),
        facts=[
            (_("Unit"), current_user.unit.name or current_user.unit.code),
            (_("Filter"), _filter_text(filters)),
            (_("Events"), str(len(rows))),
            (_("Printed by"), _person(current_user)),
            (_("Printed at"), localtime(printed_at)),
        ],
        page_text=_("Page %(page)s of %(pages)s", page="{page}", pages="{pages}"),
    )
    document = custody_pdf(
        header, _headings(with_utc=False), [_cells(e, separator="\n") for e in rows]
    )
    record(
        "custody_exported",
        detail={"format": "pdf", "filters": filters.as_args(), "rows": len(rows), "up_to": up_to},
    )
    return Response(
        document,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="custody.pdf"'},
    )


def _person(user: Any) -> str:
    role = str(ROLE_LABELS.get(user.role, user.role))
    name = user.display_name or user.username
    return f"{name} ({user.username}, {role})"


def _filter_text(filters: Filters) -> str:
    """The filters as a sentence of the console's language, for the PDF's header."""
    parts = []
    if filters.actor:
        parts.append(f"{_('User')}: {filters.actor}")
    if filters.action:
        parts.append(f"{_('Action')}: {action_label(filters.action)}")
    if filters.session:
        parts.append(f"{_('Session')}: {filters.session}")
    if filters.since:
        parts.append(f"{_('From')}: {filters.since}")
    if filters.until:
        parts.append(f"{_('To')}: {filters.until}")
    return "; ".join(parts) or _("every event you may see")
