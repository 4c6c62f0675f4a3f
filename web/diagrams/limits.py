"""Limits on uploaded diagrams, and the refusals a user sees when a file is outside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DiagramLimits:
    max_bytes: int = 20 * 1024 * 1024  # an upload, all formats
    max_pixels: int = 50_000_000  # a raster image; also Pillow's decompression-bomb limit
    max_pdf_pages: int = 30
    max_svg_bytes: int = 5 * 1024 * 1024
    max_svg_elements: int = 20_000
    max_svg_depth: int = 64
    max_svg_drawn: int = 40_000  # elements drawn once <use> references are followed
    max_svg_side: float = 20_000.0  # declared width/height (CSS pixels)
    display_side: int = 2400  # long side of a rendered PDF page or SVG, in pixels
    max_display_side: int = 4096  # a raster image larger than this is shown scaled down
    render_seconds: float = 30.0  # wall time (and CPU time) for the isolated converter


@dataclass
class Rejected(Exception):
    """Why a file was refused: a stable code (for the custody log and tests) and values for
    the message shown to the user."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code
