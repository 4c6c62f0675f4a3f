"""Diagrams: uploaded images and PDFs, drawn diagrams, and annotation layers.

A user sees the diagrams of their unit and the units below; any other answers 404 and is logged
as a denial. Prosecutors and court clerks create and annotate; every reader of evidence may
look. Every view, upload, annotation and download is a custody event.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from web.access import allow
from web.audit import record
from web.diagrams.config import diagram_limits, exhibit_store
from web.diagrams.limits import Rejected
from web.diagrams.messages import refusal_message
from web.diagrams.pages import PageRefused, page_png, pages_detail
from web.diagrams.payload import diagram_payload
from web.diagrams.queue import BUSY
from web.diagrams.records import (
    DRAWN_HEIGHT,
    DRAWN_WIDTH,
    MAX_TITLE,
    add_layer,
    create_drawn,
    create_uploaded,
    replace_layer,
)
from web.diagrams.shapes import (
    MAX_LAYER_NAME,
    MAX_SHAPES,
    PALETTE,
    ShapeError,
    parse_line,
    parse_shapes,
)
from web.diagrams.store import RecordRefused, StoreCorrupted, sha256_of
from web.extensions import db
from web.forms import ConfirmForm
from web.models import Diagram, DiagramLayer, User
from web.roles import EVIDENCE_READERS, Role
from web.visibility import visible_diagram, visible_units

blueprint = Blueprint("diagrams", __name__, url_prefix="/diagrams")
__all__ = ["blueprint", "diagram_payload", "visible_diagram"]

VIEWERS = tuple(EVIDENCE_READERS)
EDITORS = (Role.PROSECUTOR, Role.COURT_CLERK)
JSON_BODY_LIMIT = 512 * 1024  # a full layer of Vietnamese text fits many times over
DOWNLOAD_SUFFIX = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/pdf": "pdf",
    "image/svg+xml": "svg",
    "application/vnd.sealroom.diagram+json": "json",
}


class UploadForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    file = FileField(_l("File (PNG, JPEG, PDF or SVG)"), validators=[FileRequired()])


@blueprint.url_value_preprocessor
def _allow_larger_bodies(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The console refuses bodies over 64 KiB; uploads and layers need more. Raised here,
    before the CSRF check reads the form, and only for people who may use these routes."""
    if not current_user.is_authenticated or current_user.role_enum not in EDITORS:
        return
    if endpoint == "diagrams.upload":
        request.max_content_length = diagram_limits().max_bytes + 256 * 1024
    elif endpoint in ("diagrams.save_drawn", "diagrams.new_layer", "diagrams.save_layer"):
        request.max_content_length = JSON_BODY_LIMIT


KIND_LABELS = {"image": _l("Image"), "pdf": _l("PDF document"), "drawn": _l("Drawn diagram")}
COLOUR_LABELS = {
    "red": _l("red"),
    "yellow": _l("yellow"),
    "blue": _l("blue"),
    "green": _l("green"),
    "black": _l("black"),
    "white": _l("white"),
}


@blueprint.app_template_global("diagram_kind")
def diagram_kind(diagram: Diagram) -> str:
    label = str(KIND_LABELS.get(diagram.kind, diagram.kind))
    return f"{label} (SVG)" if diagram.media_type == "image/svg+xml" else label


@blueprint.app_template_global("colour_label")
def colour_label(colour: str) -> str:
    return str(COLOUR_LABELS.get(colour, colour))


@blueprint.app_template_filter("diagram_time")
def diagram_time(value: datetime | None) -> str:
    """A stored time (UTC; SQLite hands it back without a zone) in the console's zone."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(format_datetime(value, "yyyy-MM-dd HH:mm:ss"))


def _layer_of(diagram: Diagram, layer_id: int) -> DiagramLayer:
    layer = db.session.get(DiagramLayer, layer_id)
    if layer is None or layer.diagram_id != diagram.id:
        abort(404)
    return layer


def _custody(diagram: Diagram, **extra: Any) -> dict[str, Any]:
    return {"diagram": diagram.id, "sha256": diagram.sha256, **extra}


def _may_edit() -> bool:
    return bool(current_user.role_enum in EDITORS)


# -- pages ----------------------------------------------------------------------------------


@blueprint.get("/")
@allow(*VIEWERS)
def index() -> str:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = db.paginate(
        select(Diagram)
        .where(Diagram.unit_code.in_(visible_units(current_user)))
        .order_by(Diagram.created_at.desc(), Diagram.id.desc()),
        page=page,
        per_page=50,
        error_out=False,
    )
    creator_ids = {diagram.created_by for diagram in rows.items}
    creators = {
        user.id: user for user in db.session.scalars(select(User).where(User.id.in_(creator_ids)))
    }
    record("list_diagrams", detail={"page": page})
    return render_template("diagrams/list.html", rows=rows, creators=creators, may_edit=_may_edit())


@blueprint.get("/new")
@allow(*EDITORS)
def new() -> str:
    return render_template("diagrams/upload.html", form=UploadForm(), limits=diagram_limits())


@blueprint.post("/upload")
@allow(*EDITORS)
def upload() -> Response | tuple[str, int]:
    form = UploadForm()
    limits = diagram_limits()
    if not form.validate_on_submit():
        return render_template("diagrams/upload.html", form=form, limits=limits), 400
    try:
        title = parse_line(form.title.data, field="title", limit=MAX_TITLE)
    except ShapeError:
        form.title.errors = [_("One line of text, please.")]
        return render_template("diagrams/upload.html", form=form, limits=limits), 400
    data = form.file.data.read(limits.max_bytes + 1)
    filename = form.file.data.filename or ""
    try:
        uploaded = create_uploaded(data, title=title, filename=filename, user=current_user)
    except Rejected as refusal:
        record(
            "diagram_upload_refused",
            detail={
                "sha256": sha256_of(data),
                "size": len(data),
                "reason": refusal.code,
                "filename": filename[:200],
            },
        )
        flash(refusal_message(refusal), "error")
        busy = refusal.code == BUSY  # not the file's fault: try again shortly
        return render_template("diagrams/upload.html", form=form, limits=limits), (
            503 if busy else 400
        )
    except StoreCorrupted as failure:  # logged (diagram_page_refused) where it was found
        record(
            "diagram_upload_refused",
            detail={
                "sha256": sha256_of(data),
                "size": len(data),
                "reason": "store_corrupted",
                "filename": filename[:200],
                "problem": str(failure)[:500],
            },
        )
        flash(
            _(
                "This file is already stored, but its display pictures no longer match their "
                "record and could not be made again. Nothing was added; tell the administrator."
            ),
            "error",
        )
        return render_template("diagrams/upload.html", form=form, limits=limits), 409
    diagram = uploaded.diagram
    record(
        "diagram_upload",
        detail=_custody(
            diagram,
            media_type=diagram.media_type,
            size=diagram.size,
            refused_references=len(uploaded.refused),
            refused=uploaded.refused[:10],
            pages=pages_detail(uploaded.pages),
            pages_new=uploaded.pages_new,
        ),
    )
    if uploaded.refused:
        flash(
            _(
                "%(n)s references to other files or addresses in the SVG were not followed.",
                n=len(uploaded.refused),
            ),
            "ok",
        )
    flash(_("Diagram stored. SHA-256 %(sha)s", sha=diagram.sha256), "ok")
    return redirect(url_for("diagrams.view", diagram_id=diagram.id))


@blueprint.get("/draw")
@allow(*EDITORS)
def draw() -> str:
    editor = {
        "mode": "drawing",
        "save": url_for("diagrams.save_drawn"),
        "diagram": {
            "pages": [],
            "page_sizes": [[DRAWN_WIDTH, DRAWN_HEIGHT]],
            "width": DRAWN_WIDTH,
            "height": DRAWN_HEIGHT,
            "layers": [],
        },
        "layer": {"id": None, "name": "", "shapes": []},
        "max_shapes": MAX_SHAPES,
    }
    return render_template("diagrams/editor.html", editor=editor, diagram=None, palette=PALETTE)


@blueprint.get("/<int:diagram_id>")
@allow(*VIEWERS)
def view(diagram_id: int) -> str | tuple[str, int]:
    diagram = visible_diagram(diagram_id)
    try:
        payload = diagram_payload(diagram)
    except RecordRefused:  # logged as diagram_pages_refused
        return _record_refused()
    except StoreCorrupted:
        abort(500)
    creator = db.session.get(User, diagram.created_by)
    record("diagram_view", detail=_custody(diagram))
    return render_template(
        "diagrams/diagram.html",
        diagram=diagram,
        payload=payload,
        creator=creator,
        may_edit=_may_edit(),
        confirm_form=ConfirmForm(),
    )


@blueprint.get("/<int:diagram_id>/annotate")
@allow(*EDITORS)
def annotate(diagram_id: int) -> str | tuple[str, int]:
    diagram = visible_diagram(diagram_id)
    try:
        payload = diagram_payload(diagram)
    except RecordRefused:  # logged as diagram_pages_refused
        return _record_refused()
    layer_id = request.args.get("layer", type=int)
    others: list[dict[str, Any]] = payload["layers"]
    layer: dict[str, Any] = {"id": None, "name": "", "shapes": []}
    if layer_id is not None:
        chosen = [item for item in others if item["id"] == layer_id]
        if not chosen:
            abort(404)
        layer = chosen[0]
        others = [item for item in others if item["id"] != layer_id]
    editor = {
        "mode": "layer",
        "save": url_for(
            "diagrams.save_layer" if layer["id"] else "diagrams.new_layer",
            diagram_id=diagram.id,
            **({"layer_id": layer["id"]} if layer["id"] else {}),
        ),
        "view": url_for("diagrams.view", diagram_id=diagram.id),
        "diagram": {**payload, "layers": others},
        "layer": layer,
        "max_shapes": MAX_SHAPES,
    }
    record("diagram_view", detail=_custody(diagram, editor=True))
    return render_template("diagrams/editor.html", editor=editor, diagram=diagram, palette=PALETTE)


# -- files ----------------------------------------------------------------------------------


@blueprint.get("/<int:diagram_id>/pages/<int:index>.png")
@allow(*VIEWERS)
def page(diagram_id: int, index: int) -> Response:
    """A display PNG (never the uploaded file itself), only if its bytes match the hash
    recorded when it was derived from the original; otherwise 409 and nothing is shown."""
    diagram = visible_diagram(diagram_id)
    if diagram.kind == "drawn" or not 0 <= index < 10_000:
        abort(404)
    try:
        data = page_png(diagram, index)
    except LookupError:
        abort(404)
    except PageRefused as refused:
        return _page_refused(index, restored=refused.restored)
    except RecordRefused:  # logged as diagram_pages_refused
        return _page_refused(index, restored=False)
    except StoreCorrupted as failure:  # the record itself unreadable, or the original
        record("diagram_page_refused", detail=_custody(diagram, page=index, reason=str(failure)))
        return _page_refused(index, restored=False)
    shown = session.setdefault("diagrams_shown", [])
    if diagram.id not in shown:  # one custody event per diagram per login, not per page
        record("diagram_display", detail=_custody(diagram))
        session["diagrams_shown"] = [*shown, diagram.id][-100:]
    response = make_response(data)
    response.mimetype = "image/png"
    response.set_etag(sha256_of(data))
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _record_refused() -> tuple[str, int]:
    message = _(
        "The record of this diagram's display pictures failed its check, so none of them is "
        "shown. Tell the administrator."
    )
    return render_template("error.html", code=409, message=message), 409


def _page_refused(index: int, *, restored: bool) -> Response:
    message = _(
        "Page %(n)s of this diagram does not match the picture recorded from the original "
        "and is not shown.",
        n=index + 1,
    )
    if restored:
        message += " " + _("It was made again from the verified original; reload to show it.")
    else:
        message += " " + _("It could not be made again from the original; tell the administrator.")
    response = make_response(message, 409)
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/<int:diagram_id>/original")
@allow(*VIEWERS)
def original(diagram_id: int) -> Response:
    """The original bytes, checked against their hash, only ever as a download: an SVG or a
    polyglot file is never handed to the browser as something it would render."""
    diagram = visible_diagram(diagram_id)
    try:
        data = exhibit_store().read_original(diagram.sha256)
    except (StoreCorrupted, FileNotFoundError):
        record("diagram_download_failed", detail=_custody(diagram, reason="hash mismatch"))
        abort(500)
    record("diagram_download", detail=_custody(diagram))
    suffix = DOWNLOAD_SUFFIX.get(diagram.media_type, "bin")
    response = send_file(
        io.BytesIO(data),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=f"diagram-{diagram.id}-{diagram.sha256[:16]}.{suffix}",
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# -- JSON: drawing and layers ---------------------------------------------------------------


def _problem(message: str, problems: list[str] | None = None) -> tuple[Response, int]:
    return jsonify({"error": message, "problems": problems or []}), 400


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


@blueprint.post("/drawn")
@allow(*EDITORS)
def save_drawn() -> tuple[Response, int]:
    body = _body()
    try:
        title = parse_line(body.get("title"), field="title", limit=MAX_TITLE)
        shapes = parse_shapes(body.get("shapes"))
    except ShapeError as error:
        return _problem(_("The drawing was not saved."), error.problems)
    if not shapes:
        return _problem(_("Draw at least one shape first."))
    diagram = create_drawn(title=title, shapes=shapes, user=current_user)
    record("diagram_drawn", detail=_custody(diagram, shapes=len(shapes)))
    return jsonify(
        {
            "id": diagram.id,
            "sha256": diagram.sha256,
            "url": url_for("diagrams.view", diagram_id=diagram.id),
        }
    ), 201


def _layer_input(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    name = parse_line(body.get("name"), field="name", limit=MAX_LAYER_NAME)
    return name, parse_shapes(body.get("shapes"))


@blueprint.post("/<int:diagram_id>/layers")
@allow(*EDITORS)
def new_layer(diagram_id: int) -> tuple[Response, int]:
    diagram = visible_diagram(diagram_id)
    body = _body()
    try:
        name, shapes = _layer_input(body)
    except ShapeError as error:
        return _problem(_("The layer was not saved."), error.problems)
    layer = add_layer(diagram, name=name, shapes=shapes, user=current_user)
    record("diagram_layer_saved", detail=_layer_custody(diagram, layer, created=True))
    return jsonify(_layer_answer(diagram, layer)), 201


@blueprint.post("/<int:diagram_id>/layers/<int:layer_id>")
@allow(*EDITORS)
def save_layer(diagram_id: int, layer_id: int) -> tuple[Response, int]:
    diagram = visible_diagram(diagram_id)
    layer = _layer_of(diagram, layer_id)
    body = _body()
    try:
        name, shapes = _layer_input(body)
    except ShapeError as error:
        return _problem(_("The layer was not saved."), error.problems)
    replace_layer(layer, name=name, shapes=shapes)
    record("diagram_layer_saved", detail=_layer_custody(diagram, layer, created=False))
    return jsonify(_layer_answer(diagram, layer)), 200


@blueprint.post("/<int:diagram_id>/layers/<int:layer_id>/delete")
@allow(*EDITORS)
def delete_layer(diagram_id: int, layer_id: int) -> Response:
    diagram = visible_diagram(diagram_id)
    layer = _layer_of(diagram, layer_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    detail = _layer_custody(diagram, layer, created=False, with_shapes=False)
    db.session.delete(layer)
    db.session.commit()
    record("diagram_layer_deleted", detail=detail)
    flash(_("Layer removed."), "ok")
    return redirect(url_for("diagrams.view", diagram_id=diagram.id))


def _layer_custody(
    diagram: Diagram, layer: DiagramLayer, *, created: bool, with_shapes: bool = True
) -> dict[str, Any]:
    """A saved layer's whole content goes into the (hash-chained) custody log, so what any
    layer said at any time can be shown later; a deletion names the hash of what it removed."""
    shapes = json.loads(layer.shapes)
    detail = _custody(
        diagram,
        layer=layer.id,
        name=layer.name,
        shapes=len(shapes),
        shapes_sha256=sha256_of(layer.shapes.encode()),
        created=created,
    )
    if with_shapes:  # as the JSON text: the log's canonical form admits no floating point
        detail["content"] = layer.shapes
    return detail


def _layer_answer(diagram: Diagram, layer: DiagramLayer) -> dict[str, Any]:
    return {
        "id": layer.id,
        "name": layer.name,
        "shapes": len(json.loads(layer.shapes)),
        "url": url_for("diagrams.view", diagram_id=diagram.id),
        "edit": url_for("diagrams.annotate", diagram_id=diagram.id, layer=layer.id),
    }
