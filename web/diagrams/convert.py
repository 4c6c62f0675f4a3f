"""From uploaded bytes to display pictures: the type is told by the bytes alone (never by the
file name or the browser's content type), then each page becomes a PNG.

Run inside the isolated worker (``web.diagrams.worker``): the decoders here are C libraries fed
untrusted input, so they run in a child process with CPU and memory limits.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from web.diagrams.limits import DiagramLimits, Rejected

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"
MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
}


@dataclass
class Converted:
    format: str  # png, jpeg, pdf, svg
    width: int  # of the original (page 1 for a PDF, as shown)
    height: int
    pages: list[bytes]  # PNG per page, for display
    refused: list[str] = field(default_factory=list)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def kind(self) -> str:
        return "pdf" if self.format == "pdf" else "image"


def detect(data: bytes) -> str:
    """png, jpeg, pdf or svg, from the content; anything else is Rejected."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PDF_MAGIC):
        return "pdf"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and b"<svg" in data[:65536]:
        return "svg"  # a candidate only: it must still parse as an SVG document
    raise Rejected("unsupported")


def convert(data: bytes, limits: DiagramLimits) -> Converted:
    if not data:
        raise Rejected("empty")
    if len(data) > limits.max_bytes:
        raise Rejected("too_large", {"limit": limits.max_bytes})
    found = detect(data)
    if found == "pdf":
        return _pdf(data, limits)
    if found == "svg":
        from web.diagrams.svg import rasterise

        picture = rasterise(data, limits)
        return Converted("svg", picture.width, picture.height, [picture.png], picture.refused)
    return _raster(data, found, limits)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _raster(data: bytes, found: str, limits: DiagramLimits) -> Converted:
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[found.upper()])
            if image.width * image.height > limits.max_pixels:
                raise Rejected("too_many_pixels", {"limit": limits.max_pixels})
            image.load()  # decode now: a truncated or corrupt file fails here, not later
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Rejected("too_many_pixels", {"limit": limits.max_pixels}) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise Rejected("bad_image") from None
    # Shown upright as a camera meant it; metadata (EXIF, GPS, comments) stays in the original.
    shown = ImageOps.exif_transpose(image)
    width, height = shown.size
    if shown.mode not in ("RGB", "RGBA", "L", "LA"):
        shown = shown.convert("RGBA" if "A" in shown.getbands() else "RGB")
    shown.thumbnail((limits.max_display_side, limits.max_display_side))
    return Converted(found, width, height, [_png(shown)])


def _pdf(data: bytes, limits: DiagramLimits) -> Converted:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        raise Rejected("bad_pdf") from None
    try:
        count = len(document)
        if count == 0:
            raise Rejected("bad_pdf")
        if count > limits.max_pdf_pages:
            raise Rejected("pdf_pages", {"limit": limits.max_pdf_pages, "pages": count})
        pages = []
        for index in range(count):
            page = document[index]
            width, height = page.get_size()  # points
            if not (width > 0 and height > 0):
                raise Rejected("bad_pdf")
            scale = limits.display_side / max(width, height)
            bitmap = page.render(scale=scale, may_draw_forms=False)
            pages.append(_png(bitmap.to_pil()))
    except pypdfium2.PdfiumError:
        raise Rejected("bad_pdf") from None
    finally:
        document.close()
    first = Image.open(io.BytesIO(pages[0]))
    return Converted("pdf", first.width, first.height, pages)
