"""The filtered custody log as a PDF: a landscape A4 table under a header that says whose
log it is (the unit), what was asked for (the filters), who printed it and when, with the
page number on every page.

Built with fpdf2 in DejaVu Sans, as the seal sheet is (``web.terminal.seal_sheet``): it has
every Vietnamese letter, and nothing is fetched. Labels come translated from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# Widths (mm) of #, time, who, role, action, session, IP, detail: 277 mm across.
COLUMNS = (14, 32, 28, 24, 38, 44, 22, 75)


@dataclass(frozen=True)
class Header:
    title: str
    facts: list[tuple[str, str]]  # (label, value): unit, filters, printed by, printed at
    page_text: str  # "Page {page} of {pages}", translated


class _Document(FPDF):
    page_text = "{page} / {pages}"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        text = self.page_text.replace("{page}", str(self.page_no())).replace("{pages}", "{nb}")
        self.cell(0, 6, text, align="C")


def custody_pdf(header: Header, headings: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """The table of ``rows`` (each as many texts as ``headings``), the headings repeated on
    every page."""
    pdf = _Document(orientation="landscape", format="A4")
    pdf.page_text = header.page_text
    pdf.set_title(header.title)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(BOLD_FONT))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(10, 10, 10)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 8, header.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(40, 237),
        borders_layout="NONE",
        first_row_as_headings=False,
        line_height=5,
        text_align="LEFT",
    ) as facts:
        for label, value in header.facts:
            row = facts.row()
            row.cell(label, style=FontFace(emphasis="BOLD"))
            row.cell(value or "—")
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 7)
    with pdf.table(
        col_widths=COLUMNS,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        line_height=3.6,
        text_align="LEFT",
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        table.row(list(headings))
        for values in rows:
            table.row([value or " " for value in values])
    return bytes(pdf.output())
