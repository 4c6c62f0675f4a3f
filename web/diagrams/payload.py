"""What other parts of the console use of diagrams: who may see one, and what a screen needs
to draw it (the courtroom's presenter and audience screens use both)."""

from __future__ import annotations

import json
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from web.diagrams.pages import display_pages
from web.diagrams.records import DRAWN_HEIGHT, DRAWN_WIDTH, drawn_shapes
from web.models import Diagram


def diagram_payload(diagram: Diagram) -> dict[str, Any]:
    """What a screen needs to draw a diagram (see ``web/static/diagrams/render.js``).

    ``pages`` are URLs of display PNGs (empty for a drawn diagram: a blank canvas);
    ``page_sizes`` the pixel size of each page, or of the canvas; ``page_sha256`` each page's
    recorded SHA-256 (the page route serves nothing else); ``layers`` the shapes in fractions
    of the page, a drawn diagram's own drawing first (``"original": true``). The pages come
    from the record made when they were derived, never from what files happen to be on disk.
    """
    layers: list[dict[str, Any]] = []
    hashes: list[str] = []
    if diagram.kind == "drawn":
        pages: list[str] = []
        sizes = [[DRAWN_WIDTH, DRAWN_HEIGHT]]
        layers.append(
            {"id": None, "name": _("Drawing"), "shapes": drawn_shapes(diagram), "original": True}
        )
    else:
        recorded = display_pages(diagram).pages
        pages = [
            url_for("diagrams.page", diagram_id=diagram.id, index=index)
            for index in range(len(recorded))
        ]
        sizes = [[page.width, page.height] for page in recorded]
        hashes = [page.sha256 for page in recorded]
    for layer in diagram.layers:
        layers.append(
            {
                "id": layer.id,
                "name": layer.name,
                "shapes": json.loads(layer.shapes),
                "original": False,
            }
        )
    return {
        "id": diagram.id,
        "title": diagram.title,
        "kind": diagram.kind,
        "sha256": diagram.sha256,
        "pages": pages,
        "page_sizes": sizes,
        "page_sha256": hashes,
        "width": sizes[0][0] if sizes else diagram.width,
        "height": sizes[0][1] if sizes else diagram.height,
        "layers": layers,
    }
