"""Creating diagrams and their layers: the rules, apart from the HTTP routes.

An uploaded file's original is stored write-once and hashed before its row is written. A drawn
diagram's original is the canonical JSON of its shapes as first saved (media type
``application/vnd.sealroom.diagram+json``) on a blank canvas of fixed size; anything drawn
later is a layer, so the original never changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from web.diagrams.config import convert_in_turn, exhibit_store
from web.diagrams.convert import Converted
from web.diagrams.pages import store_pages
from web.diagrams.shapes import canonical_json, parse_shapes
from web.diagrams.store import PageSet
from web.extensions import db
from web.models import Diagram, DiagramLayer, User

DRAWN_MEDIA_TYPE = "application/vnd.sealroom.diagram+json"
DRAWN_FORMAT = "sealroom-diagram/1"
DRAWN_WIDTH, DRAWN_HEIGHT = 1600, 1000
MAX_TITLE = 300
MAX_FILENAME = 300


def clean_filename(name: str) -> str:
    """The base name as the user's computer called it, for display only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:MAX_FILENAME]


@dataclass(frozen=True)
class Uploaded:
    diagram: Diagram
    refused: list[str]  # references inside an SVG that were not followed
    pages: PageSet  # the display pages as recorded (now, or by an earlier upload)
    pages_new: bool  # recorded by this upload


def create_uploaded(data: bytes, *, title: str, filename: str, user: User) -> Uploaded:
    """Convert (in the isolated worker), store, then record. Rejected leaves nothing behind;
    StoreCorrupted (pages recorded before no longer match and cannot be put back) leaves no
    row."""
    converted: Converted = convert_in_turn(data)
    sha256 = exhibit_store().put_original(data)
    pages, pages_new = store_pages(sha256, converted.pages)
    diagram = Diagram(
        unit_code=user.unit.code,
        title=title,
        kind=converted.kind,
        filename=clean_filename(filename),
        media_type=converted.media_type,
        sha256=sha256,
        size=len(data),
        width=converted.width,
        height=converted.height,
        created_by=user.id,
    )
    db.session.add(diagram)
    db.session.commit()
    return Uploaded(diagram, converted.refused, pages, pages_new)


def drawn_original(title: str, shapes: list[dict[str, Any]]) -> bytes:
    return canonical_json(
        {
            "format": DRAWN_FORMAT,
            "title": title,
            "width": DRAWN_WIDTH,
            "height": DRAWN_HEIGHT,
            "shapes": shapes,
        }
    ).encode()


def create_drawn(*, title: str, shapes: list[dict[str, Any]], user: User) -> Diagram:
    data = drawn_original(title, shapes)
    sha256 = exhibit_store().put_original(data)
    diagram = Diagram(
        unit_code=user.unit.code,
        title=title,
        kind="drawn",
        filename="",
        media_type=DRAWN_MEDIA_TYPE,
        sha256=sha256,
        size=len(data),
        width=DRAWN_WIDTH,
        height=DRAWN_HEIGHT,
        created_by=user.id,
    )
    db.session.add(diagram)
    db.session.commit()
    return diagram


def drawn_shapes(diagram: Diagram) -> list[dict[str, Any]]:
    """The shapes of a drawn diagram's original, read back (and re-checked) from the store."""
    document = json.loads(exhibit_store().read_original(diagram.sha256))
    return parse_shapes(document["shapes"])


def add_layer(
    diagram: Diagram, *, name: str, shapes: list[dict[str, Any]], user: User
) -> DiagramLayer:
    last = db.session.scalar(
        select(func.max(DiagramLayer.position)).where(DiagramLayer.diagram_id == diagram.id)
    )
    layer = DiagramLayer(
        diagram_id=diagram.id,
        position=(last if last is not None else -1) + 1,
        name=name,
        shapes=canonical_json(shapes),
        created_by=user.id,
    )
    db.session.add(layer)
    db.session.commit()
    return layer


def replace_layer(layer: DiagramLayer, *, name: str, shapes: list[dict[str, Any]]) -> None:
    layer.name = name
    layer.shapes = canonical_json(shapes)
    layer.updated_at = datetime.now(UTC)
    db.session.commit()
