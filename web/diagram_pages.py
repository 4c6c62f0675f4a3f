"""Display pages tied to the original: recorded when derived, checked every time they are served.

When an upload is converted, each page's SHA-256, size and pixel size go into the write-once
``pages.json`` beside the pages and into the upload's custody event, so what the court is shown
is part of the record. A page whose bytes no longer match is refused (and the refusal logged
with both hashes); it is made again from the original only if the original still matches its
own hash and the new render matches the recorded page exactly (rendering is deterministic for
a given set of libraries). Otherwise nothing is replaced and the page stays refused.
"""

from __future__ import annotations

from typing import Any

from web.audit import record
from web.diagram_config import diagram_limits, exhibit_store
from web.diagram_limits import Rejected
from web.diagram_store import PageMismatch, PageSet, StoreCorrupted
from web.diagram_worker import convert_isolated
from web.models import Diagram


class PageRefused(Exception):
    """A display page did not match its record and was not served."""

    def __init__(self, mismatch: PageMismatch, restored: bool) -> None:
        super().__init__(str(mismatch))
        self.mismatch = mismatch
        self.restored = restored  # made again from the original: the next request gets it


def pages_detail(pages: PageSet) -> list[dict[str, Any]]:
    """The pages as they go into a custody event."""
    return [page.as_dict() for page in pages.pages]


def _mismatch_detail(mismatch: PageMismatch, diagram: Diagram | None) -> dict[str, Any]:
    return {
        **({"diagram": diagram.id} if diagram is not None else {}),
        "sha256": mismatch.original,
        "page": mismatch.index,
        "expected_sha256": mismatch.expected,
        "found_sha256": mismatch.found,
    }


def _restore(mismatch: PageMismatch, fresh: list[bytes], diagram: Diagram | None) -> bool:
    """Put the page back from ``fresh`` (a render of the verified original); logged either way."""
    base = _mismatch_detail(mismatch, diagram)
    try:
        if mismatch.index >= len(fresh):
            raise StoreCorrupted("the original now renders to fewer pages")
        exhibit_store().restore_page(mismatch.original, mismatch.index, fresh[mismatch.index])
    except PageMismatch as differs:
        reason = f"a new render of the original has SHA-256 {differs.found}"
        record("diagram_page_restore_failed", detail={**base, "reason": reason})
        return False
    except StoreCorrupted as failure:
        record("diagram_page_restore_failed", detail={**base, "reason": str(failure)})
        return False
    record("diagram_page_restored", detail=base)
    return True


def store_pages(sha256: str, fresh: list[bytes]) -> tuple[PageSet, bool]:
    """At upload: record ``fresh`` (just rendered from bytes hashing to ``sha256``), or check
    the pages recorded before. A page that no longer matches is refused, logged and put back
    from ``fresh`` if it can be; if not, StoreCorrupted (the upload is refused)."""
    store = exhibit_store()
    for _attempt in range(len(fresh) + 1):  # each pass puts back at most one page
        try:
            return store.put_pages(sha256, fresh)
        except PageMismatch as mismatch:
            record("diagram_page_refused", detail=_mismatch_detail(mismatch, None))
            if not _restore(mismatch, fresh, None):
                raise
    raise StoreCorrupted(f"the display pages of {sha256} could not be put back")


def _render_original(diagram: Diagram) -> list[bytes]:
    """The original's pages rendered again; StoreCorrupted unless the original verifies."""
    data = exhibit_store().read_original(diagram.sha256)
    try:
        return convert_isolated(data, diagram_limits()).pages
    except Rejected as refusal:
        raise StoreCorrupted(f"the original no longer converts: {refusal.code}") from None


def display_pages(diagram: Diagram) -> PageSet:
    """The recorded pages of an uploaded diagram. Pages never recorded (stored before records
    were kept, or their folder removed) are derived now from the verified original and the
    derivation logged as ``diagram_pages_derived``."""
    recorded = exhibit_store().read_pages(diagram.sha256)
    if recorded is not None:
        return recorded
    pages, created = store_pages(diagram.sha256, _render_original(diagram))
    if created:
        record(
            "diagram_pages_derived",
            detail={"diagram": diagram.id, "sha256": diagram.sha256, "pages": pages_detail(pages)},
        )
    return pages


def page_png(diagram: Diagram, index: int) -> bytes:
    """Page ``index`` (LookupError if there is none), only if it matches its record;
    otherwise PageRefused, after logging and trying to put it back from the original."""
    pages = display_pages(diagram)
    if not 0 <= index < len(pages.pages):
        raise LookupError(index)
    try:
        return exhibit_store().read_page(diagram.sha256, index, pages.pages[index])
    except PageMismatch as mismatch:
        record("diagram_page_refused", detail=_mismatch_detail(mismatch, diagram))
        try:
            fresh = _render_original(diagram)
        except (StoreCorrupted, OSError) as failure:
            detail = {**_mismatch_detail(mismatch, diagram), "reason": str(failure)}
            record("diagram_page_restore_failed", detail=detail)
            raise PageRefused(mismatch, restored=False) from None
        raise PageRefused(mismatch, restored=_restore(mismatch, fresh, diagram)) from None
