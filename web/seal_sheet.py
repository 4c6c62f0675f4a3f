"""The seal sheet's QR code, as inline SVG (no image files, no scripts)."""

from __future__ import annotations

import io

import segno


def qr_svg(text: str) -> str:
    """An SVG QR code of ``text`` (error correction M), without XML declaration."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False
    )
    return buffer.getvalue().decode("utf-8")
