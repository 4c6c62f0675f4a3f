"""Write-once storage of diagram originals and their display pictures.

``<data_dir>/exhibits/<sha256>`` holds an original exactly as received; its name is its
SHA-256, so anyone can check it with ``sha256sum``. Files are written once, read-only, as
sealed evidence is (``evidence_store.write_once``): nothing already stored is ever
overwritten, and a name already taken by other bytes is an error, never a silent success.

``<data_dir>/exhibits/display/<sha256>/<n>.png`` holds the PNG of page ``n`` derived from the
original (the only thing a browser is shown), and ``display/<sha256>/pages.json`` records,
write-once like the original, each page's SHA-256, size and pixel size as first derived.
``pages.json.sig`` (write-once too) is the installation's signature over the record's exact
bytes: the key lives in ``<data_dir>/keys``, not under ``exhibits/``, so someone who can only
rewrite ``exhibits/`` cannot make a record that verifies. A page is only ever handed out after
its bytes match a record whose signature verifies. The one exception to write-once: a page
proven not to match its record may be replaced by a page proven to match it (the bytes it
replaces are kept under ``display/<sha256>/refused/``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_store import (
    READ_ONLY,
    DeviceSigner,
    NameTaken,
    PublicKey,
    TamperedError,
    replace_atomically,
    sha256_file,
    verify_signature,
    write_once,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PAGES_FORMAT = "sealroom-display-pages/1"
PAGES_FILE = "pages.json"
PAGES_SIGNATURE = "pages.json.sig"


class StoreCorrupted(Exception):
    """A stored file does not match the hash it is stored under."""


class RecordRefused(StoreCorrupted):
    """The record of an original's display pages cannot be trusted: its signature is missing
    where it must be, does not verify, or an unsigned record differs from a new render."""


class UnsignedRecord(Exception):
    """``pages.json`` without a signature (written before records were signed, or the
    signature was never written). Not trusted until a new render of the original matches it."""


class PageMismatch(StoreCorrupted):
    """A display page's bytes differ from the hash recorded for it (``found`` is None when
    the file is missing)."""

    def __init__(self, original: str, index: int, expected: str, found: str | None) -> None:
        super().__init__(
            f"display page {index} of {original}: recorded SHA-256 {expected}, found {found}"
        )
        self.original = original
        self.index = index
        self.expected = expected
        self.found = found


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _found_sha256(path: Path) -> str | None:
    """The SHA-256 of the regular file at ``path``; None if there is none."""
    return sha256_file(path)[0] if path.is_file() and not path.is_symlink() else None


@dataclass(frozen=True)
class PageRecord:
    """What was recorded of one display page when it was derived."""

    sha256: str
    size: int
    width: int
    height: int

    @classmethod
    def of(cls, png: bytes) -> PageRecord:
        if not png.startswith(PNG_MAGIC) or png[12:16] != b"IHDR":
            raise ValueError("a display page must be a PNG")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        return cls(sha256_of(png), len(png), width, height)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True)
class PageSet:
    """The display pages derived from one original, as recorded in ``pages.json``."""

    original: str
    pages: tuple[PageRecord, ...]

    def as_json(self) -> bytes:
        document = {
            "format": PAGES_FORMAT,
            "original_sha256": self.original,
            "pages": [page.as_dict() for page in self.pages],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, data: bytes, original: str) -> PageSet:
        try:
            document = json.loads(data)
            if document["format"] != PAGES_FORMAT or document["original_sha256"] != original:
                raise ValueError("not this original's page record")
            pages = tuple(
                PageRecord(str(p["sha256"]), int(p["size"]), int(p["width"]), int(p["height"]))
                for p in document["pages"]
            )
        except (ValueError, KeyError, TypeError) as error:
            raise StoreCorrupted(f"the page record of {original} is unreadable: {error}") from None
        if not pages or not all(_SHA256.fullmatch(page.sha256) for page in pages):
            raise StoreCorrupted(f"the page record of {original} is unreadable")
        return cls(original, pages)


class ExhibitStore:
    """``signer`` is the installation's key: it signs each new record of display pages and
    its public key verifies them. Only the originals can be used without it."""

    def __init__(self, root: Path, *, signer: DeviceSigner | None = None) -> None:
        self.root = root
        self._signer = signer

    def _signing(self) -> DeviceSigner:
        if self._signer is None:
            raise RuntimeError("display page records need the installation's signer")
        return self._signer

    @property
    def _public_key(self) -> PublicKey:
        return self._signing().public_key

    def original_path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256

    def display_dir(self, sha256: str) -> Path:
        return self.root / "display" / self.original_path(sha256).name

    def page_path(self, sha256: str, index: int) -> Path:
        if index < 0:
            raise ValueError("no such page")
        return self.display_dir(sha256) / f"{index}.png"

    def put_original(self, data: bytes) -> str:
        """Store ``data`` (if new) and return its SHA-256. The same bytes stored twice are
        one file; a file already there under that name must still match its hash."""
        sha256 = sha256_of(data)
        path = self.original_path(sha256)
        try:
            write_once(path, data, mode=READ_ONLY)
        except NameTaken:
            raise StoreCorrupted(f"{path} does not match its SHA-256") from None
        return sha256

    def read_original(self, sha256: str) -> bytes:
        """The original, checked against its hash on the way out."""
        data = self.original_path(sha256).read_bytes()
        if sha256_of(data) != sha256:
            raise StoreCorrupted(f"exhibit {sha256} does not match its SHA-256")
        return data

    # -- display pages ------------------------------------------------------------------------

    @contextmanager
    def _locked(self, sha256: str) -> Iterator[None]:
        """One writer at a time per original (uploads of the same file, repairs)."""
        folder = self.display_dir(sha256)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read_pages(self, sha256: str) -> PageSet | None:
        """The recorded pages of an original, or None if none were ever recorded.
        UnsignedRecord if ``pages.json`` has no signature; RecordRefused if it does not verify."""
        folder = self.display_dir(sha256)
        try:
            data = (folder / PAGES_FILE).read_bytes()
        except FileNotFoundError:
            return None
        try:
            signature = (folder / PAGES_SIGNATURE).read_bytes()
        except FileNotFoundError:
            raise UnsignedRecord(f"the page record of {sha256} is not signed") from None
        try:
            verify_signature(self._public_key, signature, data, location=str(folder / PAGES_FILE))
        except TamperedError:
            raise RecordRefused(
                f"the page record of {sha256} does not verify with this installation's key"
            ) from None
        return PageSet.parse(data, sha256)

    def _sign_record(self, sha256: str, data: bytes) -> None:
        signature = self._signing().sign(data)
        path = self.display_dir(sha256) / PAGES_SIGNATURE
        try:
            write_once(path, signature, mode=READ_ONLY)
        except NameTaken:
            # Left by an earlier attempt (ECDSA signs differently each time): keep it only if
            # it signs this very record.
            try:
                verify_signature(self._public_key, path.read_bytes(), data, location=str(path))
            except (TamperedError, OSError):
                raise RecordRefused(f"{path} is there but does not sign the record") from None

    def put_pages(self, sha256: str, pages: list[bytes]) -> tuple[PageSet, bool]:
        """Record ``pages`` (rendered from the original ``sha256``) unless pages were recorded
        before; return the recorded set and whether this call recorded (or signed) it.

        Pages recorded before stand (they may already have been shown in court), but their
        record must verify and each page must still match it. An unsigned record (from before
        records were signed) is signed only if it is exactly the record of ``pages``; any other
        is refused (RecordRefused). A file already in place that differs from what it should
        hold is never kept silently: PageMismatch.
        """
        if not pages:
            raise ValueError("an upload has at least one display page")
        fresh = PageSet(sha256, tuple(PageRecord.of(png) for png in pages))
        with self._locked(sha256):
            try:
                recorded = self.read_pages(sha256)
                signed_now = False
            except UnsignedRecord:
                unsigned = (self.display_dir(sha256) / PAGES_FILE).read_bytes()
                if unsigned != fresh.as_json():
                    raise RecordRefused(
                        f"the unsigned page record of {sha256} differs from a new render of "
                        "the original"
                    ) from None
                self._sign_record(sha256, unsigned)
                recorded, signed_now = fresh, True
            if recorded is not None:
                for index, page in enumerate(recorded.pages):
                    self._check(sha256, index, page)
                return recorded, signed_now
            for index, png in enumerate(pages):
                path = self.page_path(sha256, index)
                try:
                    write_once(path, png, mode=READ_ONLY)
                except NameTaken:
                    expected = fresh.pages[index].sha256
                    raise PageMismatch(sha256, index, expected, _found_sha256(path)) from None
            record = fresh.as_json()
            # The record first, then its signature: a record left unsigned by a crash is
            # signed later only if a new render of the original reproduces it.
            try:
                write_once(self.display_dir(sha256) / PAGES_FILE, record, mode=READ_ONLY)
            except NameTaken:
                raise RecordRefused(
                    f"the page record of {sha256} is taken by something other than this record"
                ) from None
            self._sign_record(sha256, record)
            return fresh, True

    def _check(self, sha256: str, index: int, page: PageRecord) -> None:
        path = self.page_path(sha256, index)
        found = sha256_file(path)[0] if path.is_file() else None
        if found != page.sha256:
            raise PageMismatch(sha256, index, page.sha256, found)

    def read_page(self, sha256: str, index: int, page: PageRecord) -> bytes:
        """A display page's bytes, only if they match their record (else PageMismatch).
        The bytes checked are the bytes returned: nothing is read a second time."""
        try:
            data = self.page_path(sha256, index).read_bytes()
        except FileNotFoundError:
            raise PageMismatch(sha256, index, page.sha256, None) from None
        found = sha256_of(data)
        if found != page.sha256:
            raise PageMismatch(sha256, index, page.sha256, found)
        return data

    def restore_page(self, sha256: str, index: int, png: bytes) -> None:
        """Put back page ``index`` from a fresh render ``png`` of the (verified) original.
        Only a render whose hash is the recorded one is accepted (PageMismatch otherwise,
        with ``found`` the render's hash); the refused file is kept under ``refused/``.

        The new page is renamed over the old one, so a reader sees either the old file or the
        new one, never a missing page."""
        with self._locked(sha256):
            try:
                recorded = self.read_pages(sha256)
            except UnsignedRecord:
                raise RecordRefused(f"the page record of {sha256} is not signed") from None
            if recorded is None or not 0 <= index < len(recorded.pages):
                raise StoreCorrupted(f"no recorded page {index} of {sha256}")
            expected = recorded.pages[index].sha256
            rendered = sha256_of(png)
            if rendered != expected:
                raise PageMismatch(sha256, index, expected, rendered)
            path = self.page_path(sha256, index)
            if path.is_file():
                found = sha256_file(path)[0]
                if found == expected:
                    return  # put back already (another request got here first)
                refused = self.display_dir(sha256) / "refused" / f"{index}-{found}.png"
                refused.parent.mkdir(exist_ok=True)
                with suppress(FileExistsError):  # the same bytes were refused before
                    os.link(path, refused)  # kept for whoever investigates
            replace_atomically(path, png, mode=READ_ONLY)
