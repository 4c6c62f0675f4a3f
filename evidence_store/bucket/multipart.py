"""Resumable multipart uploads whose every part carries a SHA-256 the server checks.

The upload id and each acknowledged part are written to a journal as they happen. After a
kill, the next run asks the server which parts it holds (ListParts), re-reads and re-hashes
those parts locally, keeps the ones whose ETag and checksum still match, and sends the rest.
An upload it has no journal entry for (killed before the id was saved) is aborted and
started again. The object only appears when CompleteMultipartUpload succeeds, and that is
sent only after the whole file hashed to the digest its seal names, so a damaged spool file
never becomes an object: the upload is aborted instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from xml.etree import ElementTree

from evidence_store.bucket.wire import (
    ContentMismatchError,
    ObjectConflictError,
    S3RequestError,
    S3Wire,
    b64,
    composite_of,
    lock_headers,
    translated,
)
from evidence_store.errors import StoreError

Throttle = Callable[[int], None]
log = logging.getLogger("sealroom.uploader")


@dataclass
class MultipartProgress:
    """What a multipart upload has achieved so far; enough to resume it."""

    key: str
    upload_id: str
    size: int
    sha256: str
    part_size: int
    parts: dict[int, tuple[str, str]] = field(default_factory=dict)  # n -> (etag, sha256 b64)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "upload_id": self.upload_id,
            "size": self.size,
            "sha256": self.sha256,
            "part_size": self.part_size,
            "parts": {str(n): list(v) for n, v in sorted(self.parts.items())},
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> MultipartProgress:
        return cls(
            key=str(document["key"]),
            upload_id=str(document["upload_id"]),
            size=int(document["size"]),
            sha256=str(document["sha256"]),
            part_size=int(document["part_size"]),
            parts={int(n): (str(v[0]), str(v[1])) for n, v in document["parts"].items()},
        )


class MultipartJournal(Protocol):
    def load(self, key: str) -> MultipartProgress | None: ...

    def save(self, progress: MultipartProgress) -> None: ...

    def clear(self, key: str) -> None: ...


@dataclass(frozen=True)
class PutResult:
    version_id: str | None
    checksum: str | None  # the server's x-amz-checksum-sha256 (COMPOSITE: "base64-N")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> Iterator[ElementTree.Element]:
    return (child for child in element if _local(child.tag) == name)


def _text(element: ElementTree.Element, name: str) -> str | None:
    for child in _children(element, name):
        return child.text
    return None


def _parse(body: bytes, action: str) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (the server's own XML reply)
    except ElementTree.ParseError as exc:
        raise StoreError(f"{action}: the server's reply is not XML") from exc
    if _local(root.tag) == "Error":  # CompleteMultipartUpload may fail inside a 200 reply
        raise StoreError(f"{action}: {_text(root, 'Code')}: {_text(root, 'Message')}")
    return root


def part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def composite_checksum(path: Path, part_size: int) -> str:
    """The COMPOSITE checksum S3 reports for ``path`` uploaded in parts of ``part_size``."""
    digests = []
    with path.open("rb") as handle:
        while chunk := handle.read(part_size):
            digests.append(hashlib.sha256(chunk).digest())
    return composite_of(digests)


class MultipartUploader:
    """Multipart uploads of spool files into one bucket."""

    def __init__(self, wire: S3Wire, *, part_size: int) -> None:
        self.wire = wire
        self.part_size = part_size

    def upload(
        self,
        key: str,
        path: Path,
        *,
        size: int,
        sha256: str,
        retain_until: datetime,
        journal: MultipartJournal | None,
        throttle: Throttle | None = None,
    ) -> PutResult:
        progress = journal.load(key) if journal else None
        held: dict[int, str] = {}
        if progress is not None and (
            progress.size != size
            or progress.sha256 != sha256
            or progress.part_size != self.part_size
        ):
            self._abort(key, progress.upload_id)
            progress = None
        if progress is not None:
            try:
                held = self._list_parts(key, progress.upload_id)
            except FileNotFoundError:  # aborted or completed meanwhile: start again
                progress = None
            else:
                log.info(
                    "resuming the multipart upload of %s: the server holds %d of its parts",
                    key,
                    len(held),
                )
        if progress is None:
            self._abort_others(key, keep=None)
            progress = MultipartProgress(
                key=key,
                upload_id=self._create(key, sha256=sha256, retain_until=retain_until),
                size=size,
                sha256=sha256,
                part_size=self.part_size,
            )
            if journal:
                journal.save(progress)
        digest = hashlib.sha256()
        part_digests: list[bytes] = []
        with path.open("rb") as handle:
            for number in range(1, part_count(size, self.part_size) + 1):
                data = handle.read(self.part_size)
                digest.update(data)
                part_digest = hashlib.sha256(data).digest()
                part_digests.append(part_digest)
                checksum = b64(part_digest)
                done = progress.parts.get(number)
                if done is not None and done[1] == checksum and held.get(number) == done[0]:
                    continue  # the server holds exactly this part already
                if throttle:
                    throttle(len(data))
                etag = self._upload_part(key, progress.upload_id, number, data, checksum)
                progress.parts[number] = (etag, checksum)
                if journal:
                    journal.save(progress)
            if handle.read(1):
                digest.update(b"\x00")  # the file grew: it cannot match
        actual = digest.hexdigest()
        if actual != sha256:
            self._abort(key, progress.upload_id)
            if journal:
                journal.clear(key)
            raise ContentMismatchError(key, expected=sha256, actual=actual, size=size)
        result = self._complete(key, progress)
        if journal:
            journal.clear(key)
        expected = composite_of(part_digests)
        if result.checksum is not None and result.checksum != expected:
            raise StoreError(
                f"{key}: the server assembled a checksum {result.checksum} but the parts "
                f"sent make {expected}"
            )
        return result

    # -- requests --------------------------------------------------------------------------

    def _create(self, key: str, *, sha256: str, retain_until: datetime) -> str:
        headers = {
            "Content-Type": "application/octet-stream",
            "x-amz-checksum-algorithm": "SHA256",
            "x-amz-meta-part-size": str(self.part_size),
            **lock_headers(retain_until, sha256),
        }
        with translated(f"start multipart upload of {key}"):
            response = self.wire.request("POST", key, headers=headers, query={"uploads": ""})
        upload_id = _text(_parse(response.data, f"start upload of {key}"), "UploadId")
        if not upload_id:
            raise StoreError(f"start multipart upload of {key}: no upload id in the reply")
        return upload_id

    def _upload_part(
        self, key: str, upload_id: str, number: int, data: bytes, checksum: str
    ) -> str:
        with translated(f"upload part {number} of {key}"):
            response = self.wire.request(
                "PUT",
                key,
                body=data,
                headers={"x-amz-checksum-sha256": checksum},
                query={"partNumber": str(number), "uploadId": upload_id},
            )
        return str(response.headers.get("etag", "")).strip('"')

    def _list_parts(self, key: str, upload_id: str) -> dict[int, str]:
        held: dict[int, str] = {}
        marker = ""
        while True:
            query = {"uploadId": upload_id, "max-parts": "1000"}
            if marker:
                query["part-number-marker"] = marker
            try:
                with translated(f"list parts of {key}"):
                    response = self.wire.request("GET", key, query=query)
            except S3RequestError as exc:
                if exc.code == "NoSuchUpload":
                    raise FileNotFoundError(f"upload {upload_id} of {key} is gone") from exc
                raise
            root = _parse(response.data, f"list parts of {key}")
            for part in _children(root, "Part"):
                number, etag = _text(part, "PartNumber"), _text(part, "ETag")
                if number and etag:
                    held[int(number)] = etag.strip('"')
            if _text(root, "IsTruncated") != "true":
                return held
            marker = _text(root, "NextPartNumberMarker") or ""
            if not marker:
                return held

    def _complete(self, key: str, progress: MultipartProgress) -> PutResult:
        parts = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>&quot;{etag}&quot;</ETag>"
            f"<ChecksumSHA256>{checksum}</ChecksumSHA256></Part>"
            for n, (etag, checksum) in sorted(progress.parts.items())
        )
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        try:
            with translated(f"complete upload of {key}"):
                response = self.wire.request(
                    "POST",
                    key,
                    body=body,
                    headers={
                        "Content-Type": "application/xml",
                        "Content-MD5": b64(hashlib.md5(body, usedforsecurity=False).digest()),
                        "If-None-Match": "*",
                    },
                    query={"uploadId": progress.upload_id},
                )
        except S3RequestError as exc:
            if exc.code == "PreconditionFailed":
                self._abort(key, progress.upload_id)
                raise ObjectConflictError(f"{key} already exists in the bucket") from exc
            raise
        root = _parse(response.data, f"complete upload of {key}")
        return PutResult(
            version_id=response.headers.get("x-amz-version-id"),
            checksum=_text(root, "ChecksumSHA256"),
        )

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            with translated(f"abort upload of {key}"):
                self.wire.request("DELETE", key, query={"uploadId": upload_id})
        except FileNotFoundError:
            pass
        except S3RequestError as exc:
            if exc.code != "NoSuchUpload":
                raise

    def _abort_others(self, key: str, *, keep: str | None) -> None:
        """Abort uploads of ``key`` left by a run that died before journaling them."""
        with translated(f"list uploads of {key}"):
            response = self.wire.request("GET", None, query={"uploads": "", "prefix": key})
        root = _parse(response.data, f"list uploads of {key}")
        for upload in _children(root, "Upload"):
            upload_id = _text(upload, "UploadId")
            if _text(upload, "Key") == key and upload_id and upload_id != keep:
                self._abort(key, upload_id)
