"""SVG: parsed safely, checked against limits, then rasterised to PNG.

An SVG is a program as much as a picture (scripts, event handlers, foreignObject with HTML,
links to other files and hosts). Rather than filter it and hope the filter is complete, the
console draws it to pixels with cairosvg, which executes none of that, and shows only the
PNG. Every reference the renderer tries to follow is refused and noted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from cairosvg.surface import PNGSurface
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from web.diagrams.limits import DiagramLimits, Rejected

SVG_ROOTS = ("{http://www.w3.org/2000/svg}svg", "svg")
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in)?\s*$")
_UNIT_PX = {None: 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54}
_UNIT_PX["in"] = 96.0
_EMPTY_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
MAX_NOTED = 50
MAX_REFERENCE_DEPTH = 300  # elements nested plus references followed; well under Python's stack
USE_TAGS = ("{http://www.w3.org/2000/svg}use", "use")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@dataclass(frozen=True)
class SvgPicture:
    png: bytes
    width: int  # declared size, CSS pixels
    height: int
    refused: list[str]  # references the renderer asked for and did not get


def parse_svg(data: bytes, limits: DiagramLimits) -> Element:
    """The document's root, or Rejected. No DTD, no entities, no external entities."""
    if len(data) > limits.max_svg_bytes:
        raise Rejected("svg_too_large", {"limit": limits.max_svg_bytes})
    try:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException:
        raise Rejected("svg_dtd") from None
    except (ParseError, ValueError, UnicodeError):
        raise Rejected("svg_invalid") from None
    if root.tag not in SVG_ROOTS:
        raise Rejected("unsupported")
    _check_tree(root, limits)
    _check_references(root, limits)
    return root


def _check_tree(root: Element, limits: DiagramLimits) -> None:
    count = 0
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > limits.max_svg_elements:
            raise Rejected("svg_elements", {"limit": limits.max_svg_elements})
        if depth > limits.max_svg_depth:
            raise Rejected("svg_depth", {"limit": limits.max_svg_depth})
        stack.extend((child, depth + 1) for child in element)


def _check_references(root: Element, limits: DiagramLimits) -> None:
    """Refuse a document that ``<use>`` would blow up: ten uses of a group of ten uses of ...
    is small on disk and millions of shapes to draw. Counts every element as drawn, following
    internal references, and refuses cycles."""
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
    limit = limits.max_svg_drawn
    memo: dict[int, int] = {}
    visiting: set[int] = set()

    def drawn(element: Element, depth: int) -> int:
        key = id(element)
        if key in memo:
            return memo[key]
        if key in visiting or depth > MAX_REFERENCE_DEPTH:
            raise Rejected("svg_complex")
        visiting.add(key)
        total = 1
        for child in element:
            total = min(total + drawn(child, depth + 1), limit + 1)
        if element.tag in USE_TAGS:
            href = element.get(XLINK_HREF) or element.get("href") or ""
            target = by_id.get(href[1:]) if href.startswith("#") else None
            if target is not None:
                total = min(total + drawn(target, depth + 1), limit + 1)
        visiting.discard(key)
        memo[key] = total
        return total

    if drawn(root, 0) > limit:
        raise Rejected("svg_drawn", {"limit": limit})


def _length(value: str | None) -> float | None:
    """A length in CSS pixels; None when absent or relative (%, em: no intrinsic size)."""
    if value is None or not value.strip() or value.strip().endswith(("%", "em", "ex")):
        return None
    match = _LENGTH.match(value)
    if not match:
        raise Rejected("svg_size")
    return float(match.group(1)) * _UNIT_PX[match.group(2)]


def declared_size(root: Element, limits: DiagramLimits) -> tuple[float, float]:
    """The picture's size from width/height, else from the viewBox; refused when absurd."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(box) == 4:
        try:
            box_width, box_height = float(box[2]), float(box[3])
        except ValueError:
            raise Rejected("svg_size") from None
        if width is None and height is None:
            width, height = box_width, box_height
        elif width is None and height is not None and box_height > 0:
            width = height * box_width / box_height
        elif height is None and width is not None and box_width > 0:
            height = width * box_height / box_width
    if width is None or height is None:
        width, height = width or height or 1000.0, height or width or 1000.0
    for side in (width, height):
        if not math.isfinite(side) or side <= 0:
            raise Rejected("svg_size")
        if side > limits.max_svg_side:
            raise Rejected("svg_size_limit", {"limit": int(limits.max_svg_side)})
    return width, height


def rasterise(data: bytes, limits: DiagramLimits) -> SvgPicture:
    root = parse_svg(data, limits)
    width, height = declared_size(root, limits)
    scale = limits.display_side / max(width, height)
    refused: list[str] = []

    def refuse(url: str, resource_type: str) -> bytes:
        # Nothing is fetched: no network, no files, not even data: URLs (an embedded image
        # would be one more decoder fed untrusted bytes).
        if len(refused) < MAX_NOTED:
            refused.append(url[:200])
        return b"" if resource_type == "text/css" else _EMPTY_SVG

    options: dict[str, Any] = {
        "bytestring": data,
        "unsafe": False,
        "url_fetcher": refuse,
        "output_width": max(1, round(width * scale)),
        "output_height": max(1, round(height * scale)),
        "background_color": "white",
    }
    try:
        png = PNGSurface.convert(**options)
    except (RecursionError, MemoryError):
        raise Rejected("svg_complex") from None
    except Exception:  # cairosvg raises many kinds on broken input; all mean "cannot draw"
        raise Rejected("svg_invalid") from None
    return SvgPicture(png=png, width=round(width), height=round(height), refused=refused)
