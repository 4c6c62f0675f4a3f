"""How search text is compared: one normalisation, used when a catalog row is written and when
a search is typed, so both sides always agree.

People type Vietnamese names without their marks, in any case, with the keyboard at hand:
"Nguyen Van Anh" must find "Nguyễn Văn Ánh", "vks-bđ" must find "VKS-BĐ-12/2026". So the
text is decomposed (NFKD), its combining marks dropped, đ/Đ (a letter of its own, not a mark)
made d, case folded and runs of whitespace made one space. The rows keep this form in
columns of their own (``*_key``), which the database indexes for substring search.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Letters that look like d but are not decomposed by NFKD: Vietnamese đ/Đ, and the Icelandic
# eth Ð that some keyboards and OCR put in its place.
_D_LIKE = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})
LIST_SEPARATOR = "\n"  # between names of a list: no typed search (one line) spans two names


def search_key(text: str) -> str:
    """``text`` as searches compare it: no marks, đ = d, case-folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_D_LIKE))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def list_key(names: Iterable[str]) -> str:
    """The key of a list of names (accused, investigators): each name's key, one a line."""
    return LIST_SEPARATOR.join(search_key(name) for name in names)
