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
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from web.diagram_convert import Converted
from web.diagram_limits import DiagramLimits
from web.diagram_shapes import canonical_json, parse_shapes
from web.diagram_store import ExhibitStore
from web.diagram_worker import convert_isolated
from web.extensions import db
from web.models import Diagram, DiagramLayer, User

DRAWN_MEDIA_TYPE = "application/vnd.sealroom.diagram+json"
DRAWN_FORMAT = "sealroom-diagram/1"
DRAWN_WIDTH, DRAWN_HEIGHT = 1600, 1000
MAX_TITLE = 300
MAX_FILENAME = 300
LIMITS_KEY = "SEALROOM_DIAGRAM_LIMITS"


def diagram_limits() -> DiagramLimits:
    limits: DiagramLimits = current_app.config.get(LIMITS_KEY) or DiagramLimits()
    return limits


def exhibit_store() -> ExhibitStore:
    root: Path = current_app.extensions["sealroom.data"].root
    return ExhibitStore(root / "exhibits")


def clean_filename(name: str) -> str:
    """The base name as the user's computer called it, for display only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:MAX_FILENAME]


@dataclass(frozen=True)
class Uploaded:
    diagram: Diagram
    refused: list[str]  # references inside an SVG that were not followed


def create_uploaded(data: bytes, *, title: str, filename: str, user: User) -> Uploaded:
    """Convert (in the isolated worker), store, then record. Rejected leaves nothing behind."""
    converted: Converted = convert_isolated(data, diagram_limits())
    store = exhibit_store()
    sha256 = store.put_original(data)
    store.put_pages(sha256, converted.pages)
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
    return Uploaded(diagram, converted.refused)


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
