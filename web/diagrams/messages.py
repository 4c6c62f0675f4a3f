"""What a user reads when an upload is refused (the codes come from ``web.diagrams.limits``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from web.diagrams.limits import Rejected

MESSAGES = {
    "empty": _l("The file is empty."),
    "too_large": _l("The file is larger than %(mib)s MiB."),
    "unsupported": _l("Only PNG, JPEG, PDF and SVG files can be uploaded (told by the content)."),
    "bad_image": _l("The image is damaged or not a real PNG or JPEG."),
    "too_many_pixels": _l("The image has more than %(limit)s pixels."),
    "bad_pdf": _l("The PDF cannot be read (damaged, empty or password-protected)."),
    "pdf_pages": _l("The PDF has %(pages)s pages; at most %(limit)s are accepted."),
    "svg_too_large": _l("An SVG may be at most %(mib)s MiB."),
    "svg_dtd": _l("The SVG declares a DTD or entities, which are not accepted."),
    "svg_invalid": _l("The SVG is not a well-formed SVG document."),
    "svg_elements": _l("The SVG has more than %(limit)s elements."),
    "svg_depth": _l("The SVG is nested more than %(limit)s levels deep."),
    "svg_size": _l("The SVG's width or height is not a sensible size."),
    "svg_size_limit": _l("The SVG's width or height is larger than %(limit)s pixels."),
    "svg_drawn": _l(
        "The SVG would draw more than %(limit)s elements once its references are followed."
    ),
    "svg_complex": _l("The file is too complex to draw within the limits."),
    "too_complex": _l("The file is too complex to draw within the limits."),
    "busy": _l("Too many files are being converted right now. Try again in a minute."),
}
FALLBACK = _l("The file could not be converted for display.")


def refusal_message(refusal: Rejected) -> str:
    values: dict[str, Any] = dict(refusal.params)
    if "limit" in values and refusal.code in ("too_large", "svg_too_large"):
        values["mib"] = f"{int(values['limit']) / (1024 * 1024):g}"
    template = str(MESSAGES.get(refusal.code, FALLBACK))
    try:
        return template % values if "%(" in template else template
    except (KeyError, ValueError, TypeError):
        return str(FALLBACK)
