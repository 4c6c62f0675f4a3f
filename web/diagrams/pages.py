"""Display pages tied to the original: recorded when derived, checked every time they are served.

When an upload is converted, each page's SHA-256, size and pixel size go into the write-once
``pages.json`` beside the pages and into the upload's custody event, so what the court is shown
is part of the record. A page whose bytes no longer match is refused (and the refusal logged
with both hashes); it is made again from the original only if the original still matches its
own hash and the new render matches the recorded page exactly (rendering is deterministic for
a given set of libraries). Otherwise nothing is replaced and the page stays refused.

``pages.json`` is signed with the installation's key (``pages.json.sig``) and trusted only if
the signature verifies: a record rewritten on disk together with its page is refused. A repair
that failed is not tried again for a while (``retry_seconds``): a refused page asked for in a
loop must not run the converter every time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from web.audit import record
from web.diagrams.config import convert_in_turn, exhibit_store, retry_seconds
from web.diagrams.limits import Rejected
from web.diagrams.queue import BUSY
from web.diagrams.store import (
    PageMismatch,
    PageSet,
    RecordRefused,
    StoreCorrupted,
    UnsignedRecord,
)
from web.models import Diagram


class _RecentFailures:
    """Repairs that failed lately, in this process: key -> (when, reason)."""

    def __init__(self, limit: int = 1000) -> None:
        self._failures: dict[tuple[str, ...], tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def remember(self, key: tuple[str, ...], reason: str) -> None:
        with self._lock:
            if len(self._failures) >= self._limit:  # keep memory bounded: drop the oldest
                del self._failures[min(self._failures, key=lambda k: self._failures[k][0])]
            self._failures[key] = (time.monotonic(), reason)

    def recall(self, key: tuple[str, ...], within: float) -> str | None:
        with self._lock:
            failed = self._failures.get(key)
            if failed is None or time.monotonic() - failed[0] >= within:
                self._failures.pop(key, None)
                return None
            return failed[1]


_recent = _RecentFailures()


def _key(diagram: Diagram, *parts: object) -> tuple[str, ...]:
    # The store's folder is part of the key: two installations may hold the same original.
    return (str(exhibit_store().root), diagram.sha256, *(str(part) for part in parts))


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
        return convert_in_turn(data).pages
    except Rejected as refusal:
        if refusal.code == BUSY:  # tried again later (retry_seconds)
            raise StoreCorrupted(
                "the original could not be converted now: too many at once"
            ) from None
        raise StoreCorrupted(f"the original no longer converts: {refusal.code}") from None


def display_pages(diagram: Diagram) -> PageSet:
    """The recorded pages of an uploaded diagram, from a record whose signature verifies.

    Pages never recorded (stored before records were kept, or their folder removed) are
    derived now from the verified original and the derivation logged as
    ``diagram_pages_derived``; an unsigned record (kept before records were signed) is signed
    only if that new render reproduces it exactly (``signed_existing_record``). A record that
    fails its signature, an unsigned one that differs, or pages that cannot be recorded, are
    logged as ``diagram_pages_refused`` and RecordRefused raised: no page of them is served.
    """
    key = _key(diagram, "record")
    try:
        recorded = exhibit_store().read_pages(diagram.sha256)
        unsigned = False
    except UnsignedRecord:
        recorded, unsigned = None, True
    except RecordRefused as refused:
        _refuse_record(diagram, str(refused))
        raise
    if recorded is not None:
        return recorded
    failed = _recent.recall(key, retry_seconds())
    if failed is not None:
        _refuse_record(diagram, failed, retried=False)
        raise RecordRefused(failed)
    try:
        pages, created = store_pages(diagram.sha256, _render_original(diagram))
    except (StoreCorrupted, OSError) as failure:  # the original, a page, or the old record
        _recent.remember(key, str(failure))
        _refuse_record(diagram, str(failure))
        raise RecordRefused(str(failure)) from None
    if created:
        detail: dict[str, Any] = {
            "diagram": diagram.id,
            "sha256": diagram.sha256,
            "pages": pages_detail(pages),
        }
        if unsigned:
            detail["signed_existing_record"] = True
        record("diagram_pages_derived", detail=detail)
    return pages


def _refuse_record(diagram: Diagram, reason: str, *, retried: bool = True) -> None:
    detail: dict[str, Any] = {"diagram": diagram.id, "sha256": diagram.sha256, "reason": reason}
    if not retried:
        detail["retried"] = False  # failed moments ago; not tried again yet
    record("diagram_pages_refused", detail=detail)


def page_png(diagram: Diagram, index: int) -> bytes:
    """Page ``index`` (LookupError if there is none), only if it matches its record;
    otherwise PageRefused, after logging and trying to put it back from the original (unless
    that failed for the same page and the same bytes within ``retry_seconds``)."""
    pages = display_pages(diagram)
    if not 0 <= index < len(pages.pages):
        raise LookupError(index)
    try:
        return exhibit_store().read_page(diagram.sha256, index, pages.pages[index])
    except PageMismatch as mismatch:
        key = _key(diagram, index, mismatch.found)
        if _recent.recall(key, retry_seconds()) is not None:  # failed moments ago
            detail = {**_mismatch_detail(mismatch, diagram), "retried": False}
            record("diagram_page_refused", detail=detail)
            raise PageRefused(mismatch, restored=False) from None
        record("diagram_page_refused", detail=_mismatch_detail(mismatch, diagram))
        try:
            fresh = _render_original(diagram)
        except (StoreCorrupted, OSError) as failure:
            detail = {**_mismatch_detail(mismatch, diagram), "reason": str(failure)}
            record("diagram_page_restore_failed", detail=detail)
            _recent.remember(key, str(failure))
            raise PageRefused(mismatch, restored=False) from None
        restored = _restore(mismatch, fresh, diagram)
        if not restored:
            _recent.remember(key, "restore failed")
        raise PageRefused(mismatch, restored=restored) from None
