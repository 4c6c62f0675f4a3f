"""The object store: MinIO, or any S3 server with Object Lock, through the ``minio`` SDK.

Keys are the filesystem store's keys (``sessions/<id>/chain/000000.json``, …), so one session
is one prefix. Every object is written once, with ``If-None-Match: *``, a SHA-256 checksum
the server checks before it stores anything, and COMPLIANCE retention that nobody — not the
bucket's owner, not the server's administrator — can shorten or lift before it ends.

Reading pins the **first version** of every key. In a versioned bucket anyone allowed to
write can still add a newer version or a delete marker on top of a locked one; neither can
touch the locked version itself. So the reader always reads the version that was written
first — the evidence — and ``shadowed`` names the keys somebody tried to cover.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.retention import Retention
from urllib3 import BaseHTTPResponse

from evidence_store import layout
from evidence_store.bucket.multipart import (
    MultipartJournal,
    MultipartUploader,
    Throttle,
    composite_checksum,
)
from evidence_store.bucket.wire import (
    ContentMismatchError,
    ObjectConflictError,
    S3RequestError,
    S3Wire,
    b64,
    hex_to_base64,
    lock_headers,
    translated,
)
from evidence_store.errors import StoreError, UsageError
from evidence_store.settings import S3Settings, s3_credentials
from evidence_store.store import CHUNK, check_key

MIB = 1024 * 1024
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Access:
    """Where the object store is and how to log in; credentials never appear in repr."""

    endpoint: str
    bucket: str
    secure: bool
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str | None = None
    ca_file: Path | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    part_size: int = 16 * MIB

    @classmethod
    def from_settings(
        cls, settings: S3Settings, environ: Mapping[str, str] | None = None
    ) -> S3Access:
        """The configured store with ``SEALROOM_S3_*`` applied; a clear error if incomplete."""
        merged = settings.with_environment(environ)
        if not merged.endpoint:
            raise UsageError(
                "no object store configured: set SEALROOM_S3_ENDPOINT (host:port) "
                "or [evidence.s3] endpoint"
            )
        if "://" in merged.endpoint or "/" in merged.endpoint:
            raise UsageError(
                f"S3 endpoint {merged.endpoint!r} must be host:port (TLS is chosen by "
                "SEALROOM_S3_SECURE / [evidence.s3] secure)"
            )
        if not merged.bucket:
            raise UsageError("no bucket configured: set SEALROOM_S3_BUCKET or [evidence.s3] bucket")
        if not BUCKET_NAME.fullmatch(merged.bucket):
            raise UsageError(
                f"{merged.bucket!r} is not an S3 bucket name (3 to 63 lowercase letters, "
                "digits, dots and hyphens)"
            )
        access_key, secret_key = s3_credentials(merged, environ)
        return cls(
            endpoint=merged.endpoint,
            bucket=merged.bucket,
            secure=merged.secure,
            access_key=access_key,
            secret_key=secret_key,
            region=merged.region,
            ca_file=merged.ca_file,
            connect_timeout=merged.connect_timeout_seconds,
            read_timeout=merged.read_timeout_seconds,
            part_size=merged.part_size_mib * MIB,
        )

    def describe(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}/{self.bucket}"

    def client(self) -> Minio:
        # Short timeouts and one quick retry: outages are the uploader's business, with its
        # own backoff; the SDK's default (5 minutes, 5 retries) would hide them. A server
        # that accepts and then says nothing is never asked twice (no retry on a read
        # timeout), so a hang is reported within the read timeout, not a multiple of it.
        # Enough kept connections for the console's worker threads each streaming a
        # segment at once (with 10, bucket playback ran at 0.45 of local; with 32, 0.75).
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=self.connect_timeout, read=self.read_timeout),
            maxsize=32,
            cert_reqs="CERT_REQUIRED",
            ca_certs=str(self.ca_file) if self.ca_file else certifi.where(),
            retries=urllib3.Retry(
                total=1, read=0, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
            region=self.region,
            http_client=http,
        )


@dataclass(frozen=True)
class ObjectInfo:
    """One stored version of an object, as the server reports it."""

    key: str
    version_id: str | None
    size: int
    sha256: str | None  # our label (x-amz-meta-sha256), set when the object was written
    checksum: str | None  # the server's own x-amz-checksum-sha256 (base64; COMPOSITE: "…-N")
    part_size: int | None  # for a COMPOSITE checksum: the part size it was computed over
    retention_mode: str | None
    retain_until: datetime | None
    legal_hold: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["retain_until"] = (
            self.retain_until.strftime("%Y-%m-%dT%H:%M:%SZ") if self.retain_until else None
        )
        return document


def stored_problems(
    info: ObjectInfo,
    *,
    sha256: str,
    size: int,
    retain_until: datetime,
    local: Path | None = None,
) -> list[str]:
    """Why a stored object does not (yet) stand for the sealed bytes; empty when it does.

    The server's own checksum is required: a label we wrote ourselves proves nothing. A
    COMPOSITE (multipart) checksum is recomputed from ``local`` over the same part size.
    """
    problems = []
    if info.size != size:
        problems.append(f"stored {info.size} bytes, sealed {size}")
    if info.sha256 is not None and info.sha256 != sha256:
        problems.append("stored with another SHA-256 label")
    if info.checksum is None:
        problems.append("the server reports no SHA-256 checksum for it")
    elif "-" in info.checksum:
        if local is None or info.part_size is None:
            problems.append("multipart checksum cannot be recomputed without the spool copy")
        elif composite_checksum(local, info.part_size) != info.checksum:
            problems.append("the server's multipart checksum does not match the spool copy")
    elif info.checksum != hex_to_base64(sha256):
        problems.append("the server's SHA-256 checksum does not match the sealed digest")
    if info.retention_mode != COMPLIANCE:
        problems.append(f"retention mode is {info.retention_mode or 'none'}, not COMPLIANCE")
    elif info.retain_until is None or info.retain_until < retain_until:
        problems.append("retention ends too early")
    return problems


def _parse_retain_until(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else None


class _ResponseStream(io.RawIOBase):
    """A GET response read in chunks, its network errors turned into the store's."""

    def __init__(self, response: BaseHTTPResponse, key: str) -> None:
        self.response = response
        self.key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with translated(f"read {self.key}"):
            return self.response.readinto(buffer)


class S3Store:
    """Sealed evidence in one Object Lock bucket: the uploader writes, anyone verifies."""

    def __init__(self, access: S3Access, client: Minio) -> None:
        self.access = access
        self.client = client
        self.bucket = access.bucket
        self.wire = S3Wire(client, access.bucket)
        self.multipart = MultipartUploader(self.wire, part_size=access.part_size)
        self._pinned: dict[str, tuple[str | None, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, access: S3Access, *, create_bucket: bool = False) -> S3Store:
        """Open the bucket, refusing one that could let sealed evidence be deleted."""
        store = cls(access, access.client())
        store.check_bucket(create=create_bucket)
        return store

    def describe(self) -> str:
        return self.access.describe()

    def check_bucket(self, *, create: bool = False) -> None:
        where = self.describe()
        with translated(f"open {where}"):
            exists = self.client.bucket_exists(self.bucket)
            if not exists and create:
                self.client.make_bucket(self.bucket, object_lock=True)
                exists = True
        if not exists:
            raise StoreError(
                f"no bucket {self.bucket!r} at {self.access.endpoint}: create it with Object "
                "Lock (`mc mb --with-lock`, or `sealroom uploader --create-bucket`)"
            )
        try:
            with translated(f"read the Object Lock configuration of {where}"):
                self.client.get_object_lock_config(self.bucket)
        except S3RequestError as exc:
            if exc.code == "ObjectLockConfigurationNotFoundError":
                raise StoreError(
                    f"bucket {self.bucket!r} was created without Object Lock, so sealed "
                    "evidence could be deleted from it; refusing to use it. Object Lock "
                    "cannot be turned on later: create a new bucket with it (`mc mb "
                    "--with-lock`) and point SEALROOM_S3_BUCKET there"
                ) from exc
            raise
        with translated(f"read the versioning of {where}"):
            status = self.client.get_bucket_versioning(self.bucket).status
        if status != "Enabled":
            raise StoreError(
                f"bucket {self.bucket!r} has versioning {status or 'off'}; Object Lock needs "
                "it Enabled"
            )

    # -- reading (the EvidenceReader protocol) ----------------------------------------------

    def _scan(self, prefix: str) -> tuple[dict[str, tuple[str | None, int]], set[str]]:
        """Every key under ``prefix`` with its first version, and the keys covered by later
        versions or delete markers."""
        versions: dict[str, list[tuple[datetime, int, str | None, int]]] = {}
        covered: set[str] = set()
        with translated(f"list {prefix}"):
            listing = self.client.list_objects(
                self.bucket, prefix=prefix, recursive=True, include_version=True
            )
            for order, item in enumerate(listing):
                key = item.object_name
                if key is None or key.endswith("/"):
                    continue
                if item.is_delete_marker:
                    covered.add(key)
                    continue
                moment = item.last_modified or datetime.min.replace(tzinfo=UTC)
                versions.setdefault(key, []).append(
                    (moment, -order, item.version_id, item.size or 0)
                )
        pinned = {}
        for key, found in versions.items():
            # S3 lists a key's versions newest first; the earliest time, then the last listed,
            # is the version written first.
            _moment, _order, version_id, size = min(found)
            pinned[key] = (version_id, size)
            if len(found) > 1:
                covered.add(key)
        with self._lock:
            self._pinned.update(pinned)
        return pinned, covered & set(pinned)

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (which ends with '/'), sorted."""
        check_key(prefix.rstrip("/"))
        pinned, _ = self._scan(prefix)
        return sorted(pinned)

    def shadowed(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` that have a newer version or a delete marker on top of the
        locked first one: somebody tried to overwrite or hide them."""
        _, covered = self._scan(prefix)
        return sorted(covered)

    def _version(self, key: str) -> tuple[str | None, int]:
        check_key(key)
        with self._lock:
            known = self._pinned.get(key)
        if known is not None:
            return known
        pinned, _ = self._scan(key)
        if key not in pinned:
            raise FileNotFoundError(f"{key}: no such object in {self.describe()}")
        return pinned[key]

    def exists(self, key: str) -> bool:
        try:
            self._version(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        return self._version(key)[1]

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        """Stream the first version of ``key``; never holds the whole object in memory."""
        version_id, _ = self._version(key)
        with translated(f"read {key}"):
            response = self.client.get_object(self.bucket, key, version_id=version_id)
        try:
            yield io.BufferedReader(_ResponseStream(response, key), buffer_size=CHUNK)
        finally:
            response.close()
            response.release_conn()

    @contextlib.contextmanager
    def open_range(self, key: str, start: int, length: int) -> Iterator[BinaryIO]:
        """Stream ``length`` bytes of the first version of ``key`` from ``start`` (one ranged
        GET: a player seeking in an hour-long session never pulls what it skips)."""
        version_id, _ = self._version(key)
        with translated(f"read {key}"):
            response = self.client.get_object(
                self.bucket, key, offset=start, length=length, version_id=version_id
            )
        try:
            yield io.BufferedReader(_ResponseStream(response, key), buffer_size=CHUNK)
        finally:
            response.close()
            response.release_conn()

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as handle:
            return handle.read()

    def list_children(self, prefix: str) -> list[str]:
        """Immediate sub-prefix names under ``prefix`` (as FilesystemStore.list_children)."""
        base = check_key(prefix.rstrip("/")) + "/"
        names = []
        with translated(f"list {base}"):
            for item in self.client.list_objects(self.bucket, prefix=base):
                if item.is_dir and item.object_name:
                    names.append(item.object_name[len(base) :].rstrip("/"))
        return sorted(names)

    def list_session_ids(self) -> list[str]:
        """Ids of the sessions that have objects in the bucket, oldest first."""
        return [
            name
            for name in self.list_children(layout.SESSIONS)
            if layout.SESSION_ID_RE.fullmatch(name)
        ]

    # -- object state ----------------------------------------------------------------------

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        """What the server holds for ``key`` (its newest version unless one is named)."""
        check_key(key)
        try:
            with translated(f"look up {key}"):
                stat = self.client.stat_object(
                    self.bucket,
                    key,
                    version_id=version_id,
                    extra_headers={"x-amz-checksum-mode": "ENABLED"},
                )
        except FileNotFoundError:
            return None
        except S3RequestError as exc:
            if exc.code in {"MethodNotAllowed", "NoSuchVersion"}:  # a delete marker
                return None
            raise
        headers = stat.metadata
        part_size = _header(headers, "x-amz-meta-part-size")
        hold = _header(headers, "x-amz-object-lock-legal-hold")
        return ObjectInfo(
            key=key,
            version_id=stat.version_id,
            size=int(stat.size or 0),
            sha256=_header(headers, "x-amz-meta-sha256"),
            checksum=_header(headers, "x-amz-checksum-sha256"),
            part_size=int(part_size) if part_size and part_size.isdigit() else None,
            retention_mode=_header(headers, "x-amz-object-lock-mode"),
            retain_until=_parse_retain_until(
                _header(headers, "x-amz-object-lock-retain-until-date")
            ),
            legal_hold=None if hold is None else hold.upper() == "ON",
        )

    def head_first(self, key: str) -> ObjectInfo | None:
        """The first version of ``key`` (the one readers verify), or None."""
        try:
            version_id, _ = self._version(key)
        except FileNotFoundError:
            return None
        return self.head(key, version_id=version_id)

    def extend_retention(self, key: str, version_id: str | None, until: datetime) -> None:
        """Lengthen COMPLIANCE retention (the server refuses to shorten it)."""
        with translated(f"extend the retention of {key}"):
            self.client.set_object_retention(
                self.bucket, key, Retention(COMPLIANCE, until), version_id=version_id
            )

    def legal_hold(self, key: str) -> bool:
        version_id, _ = self._version(key)
        try:
            with translated(f"read the legal hold of {key}"):
                return bool(
                    self.client.is_object_legal_hold_enabled(
                        self.bucket, key, version_id=version_id
                    )
                )
        except S3RequestError as exc:
            if exc.code == "NoSuchObjectLegalHold":
                return False
            raise

    def set_legal_hold(self, key: str, *, on: bool) -> None:
        """Set or release a legal hold on the first version of ``key``."""
        version_id, _ = self._version(key)
        with translated(f"{'set' if on else 'release'} the legal hold on {key}"):
            if on:
                self.client.enable_object_legal_hold(self.bucket, key, version_id=version_id)
            else:
                self.client.disable_object_legal_hold(self.bucket, key, version_id=version_id)

    # -- writing ---------------------------------------------------------------------------

    def put(
        self,
        key: str,
        *,
        sha256: str,
        size: int,
        retain_until: datetime,
        path: Path | None = None,
        data: bytes | None = None,
        journal: MultipartJournal | None = None,
        throttle: Throttle | None = None,
    ) -> ObjectInfo:
        """Write a new object locked until ``retain_until``, whose bytes must hash to
        ``sha256`` (else ``ContentMismatchError`` and nothing is written).

        An object already stored under ``key`` with the same digest is accepted as is
        (idempotent); with different bytes it raises ``ObjectConflictError``.
        """
        check_key(key)
        if (data is None) == (path is None):
            raise ValueError("put needs exactly one of path and data")
        if path is not None and size > self.access.part_size:
            try:
                result = self.multipart.upload(
                    key,
                    path,
                    size=size,
                    sha256=sha256,
                    retain_until=retain_until,
                    journal=journal,
                    throttle=throttle,
                )
            except ObjectConflictError:
                return self._existing(key, sha256=sha256, size=size)
            except OSError as exc:
                raise StoreError(f"cannot read spool file {path}: {exc.strerror or exc}") from exc
            return ObjectInfo(
                key=key,
                version_id=result.version_id,
                size=size,
                sha256=sha256,
                checksum=result.checksum,
                part_size=self.access.part_size,
                retention_mode=COMPLIANCE,
                retain_until=retain_until,
            )
        if data is None:
            assert path is not None
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise StoreError(f"cannot read spool file {path}: {exc.strerror or exc}") from exc
        digest = hashlib.sha256(data).digest()
        if digest.hex() != sha256 or len(data) != size:
            raise ContentMismatchError(key, expected=sha256, actual=digest.hex(), size=len(data))
        headers = {
            "Content-Type": "application/octet-stream",
            "x-amz-checksum-sha256": b64(digest),
            "If-None-Match": "*",
            **lock_headers(retain_until, sha256),
        }
        if throttle:
            throttle(len(data))
        try:
            with translated(f"upload {key}"):
                response = self.wire.request("PUT", key, body=data, headers=headers)
        except S3RequestError as exc:
            if exc.code == "PreconditionFailed":
                return self._existing(key, sha256=sha256, size=size)
            raise
        checksum = _header(response.headers, "x-amz-checksum-sha256")
        if checksum is not None and checksum != b64(digest):
            raise StoreError(f"{key}: the server stored checksum {checksum}, sent {b64(digest)}")
        return ObjectInfo(
            key=key,
            version_id=_header(response.headers, "x-amz-version-id"),
            size=size,
            sha256=sha256,
            checksum=checksum,
            part_size=None,
            retention_mode=COMPLIANCE,
            retain_until=retain_until,
        )

    def _existing(self, key: str, *, sha256: str, size: int) -> ObjectInfo:
        existing = self.head(key)
        if existing is None or existing.sha256 != sha256 or existing.size != size:
            raise ObjectConflictError(
                f"{key} already holds other bytes in {self.describe()}; nothing was overwritten"
            )
        return existing
