"""What the console answers when a request fails: a page in the person's language that says
what happened and leads on, or, to a page's script (fetch), the same status with a small JSON
body ``{"error": code, "message": text}`` it can show."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from evidence_store import StoreError

MAX_FORM_BYTES = 64 * 1024  # no form of the console needs more; bigger is an attack
JSON = "application/json"
HTML = "text/html"


def init_error_pages(app: Flask) -> None:
    messages = {
        400: _l("Bad request."),
        401: _l("Please log in."),
        403: _l("Not allowed."),
        404: _l("Not found."),
        405: _l("This address does not accept that kind of request."),
        409: _l("Not possible in the current state."),
        413: _l("Too large."),
        429: _l("Too many requests: wait a moment, then try again."),
        500: _l("Something went wrong on the server. Nothing was changed; try again."),
        503: _l("Unavailable."),
    }

    def page(error: HTTPException) -> tuple[Response | str, int]:
        code = error.code or 500
        message = str(messages.get(code, code))
        if code == 413:
            message = _("Too large: the limit is %(mb)s MB.", mb=megabytes(_limit_exceeded()))
        return answer(code, message)

    for code in messages:
        app.register_error_handler(code, page)

    def form_expired(error: CSRFError) -> tuple[Response | str, int]:
        # The form's token no longer matches the login session (it ended or was renewed
        # while the page stayed open): say what to do, not "bad request".
        message = _(
            "This form has expired: the page was open too long. Reload the page, then try again."
        )
        return answer(400, message)

    app.register_error_handler(CSRFError, form_expired)

    def store_down(error: StoreError) -> tuple[Response | str, int]:
        # A released session whose bucket cannot be reached: say so, never a blank 500.
        app.logger.warning("evidence store unavailable: %s", error)
        return answer(503, _("The evidence is in the object store, which cannot be reached now."))

    app.register_error_handler(StoreError, store_down)


def answer(code: int, message: str) -> tuple[Response | str, int]:
    """The error page, or its JSON to a script (whose JSON parser an HTML page would fail)."""
    if prefers_json():
        return jsonify(error=code, message=message), code
    return render_template("error.html", code=code, message=message), code


def prefers_json() -> bool:
    """A request from a page's script rather than the browser's own navigation: it asks for
    JSON before HTML, or it sends JSON and does not ask for HTML first (``fetch`` sends
    ``Accept: */*`` unless told otherwise; a browser's form can never send JSON)."""
    accept = request.accept_mimetypes
    if accept.best_match([HTML, JSON]) == JSON:
        return True
    return request.is_json and accept.best_match([JSON, HTML]) in (JSON, None)


def _limit_exceeded() -> int:
    """The size limit the refused request went over: its body's, or (a body within it) the
    limit on one form field held in memory."""
    body_limit = request.max_content_length
    length = request.content_length
    if body_limit is not None and (length is None or length > body_limit):
        return body_limit
    return request.max_form_memory_size or body_limit or MAX_FORM_BYTES


def megabytes(size: int) -> str:
    """A size in MB (of 1024 × 1024 bytes), in the page's language: 64 KiB is "0,06"."""
    return str(format_decimal(size / (1024 * 1024), format="#,##0.##"))
