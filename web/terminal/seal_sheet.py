"""The seal sheet: its QR code as inline SVG for the page, and the whole sheet as a PDF.

The PDF is built with fpdf2 in DejaVu Sans (Debian ``fonts-dejavu-core``), which has every
Vietnamese letter; nothing is fetched and no script is embedded.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import segno
from fpdf import FPDF

from evidence_store import Manifest

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


def seal_text(manifest: Manifest) -> str:
    """What the QR code holds: the session and its seal (the chain head)."""
    return f"sealroom:{manifest.session}:{manifest.chain.head}"


def qr_svg(text: str) -> str:
    """An SVG QR code of ``text`` (error correction M), without XML declaration."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False
    )
    return buffer.getvalue().decode("utf-8")


def _qr_png(text: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def seal_sheet_pdf(
    title: str,
    intro: str,
    facts: list[tuple[str, str]],
    seal_label: str,
    seal: str,
    qr_text: str,
    signers: list[str],
) -> bytes:
    """An A4 seal sheet: title, the session's facts, the seal as text and QR, and a
    signature line for each of ``signers``. Labels come translated from the caller."""
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(BOLD_FONT))
    pdf.add_font("DejaVuMono", "", str(MONO_FONT))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 6, intro, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    label_width = 50
    for label, value in facts:
        pdf.set_font("DejaVu", "B", 10)
        top = pdf.get_y()
        pdf.multi_cell(label_width, 6, label, new_x="RIGHT", new_y="TOP")
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, value or "—", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), top + 6))
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(0, 6, seal_label, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVuMono", "", 10)
    pdf.multi_cell(0, 6, seal, new_x="LMARGIN", new_y="NEXT")
    pdf.image(_qr_png(qr_text), w=45, h=45)
    pdf.ln(12)
    _signature_lines(pdf, signers, lambda: pdf.set_font("DejaVu", "", 10))
    return bytes(pdf.output())


def _signature_lines(pdf: FPDF, signers: list[str], font: Callable[[], None]) -> None:
    """Two signature lines a row, as many rows as people present (a new page when full)."""
    font()
    per_row = 2
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / per_row
    row_height = 36
    for first in range(0, len(signers), per_row):
        if pdf.get_y() + row_height > pdf.h - pdf.b_margin:
            pdf.add_page()
        top = pdf.get_y()
        for column, signer in enumerate(signers[first : first + per_row]):
            left = pdf.l_margin + column * width
            pdf.line(left + 5, top + 25, left + width - 5, top + 25)
            pdf.set_xy(left, top + 27)
            pdf.multi_cell(width, 5, signer, align="C", new_x="RIGHT", new_y="TOP")
        pdf.set_xy(pdf.l_margin, top + row_height)
