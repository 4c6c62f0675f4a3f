"""The S3 requests the ``minio`` SDK has no public call for, and its errors translated.

minio-py 7.2 cannot send a conditional write (``If-None-Match: *``), a full-object
``x-amz-checksum-sha256``, or a multipart upload whose parts carry SHA-256 checksums: its
``put_object`` turns unknown headers into user metadata and its multipart path lists no part
checksums. Those few requests go through the client's own signed-request method
(``Minio._execute``) here, and only here, so an SDK upgrade has one place to check.
Everything else uses the SDK's public API.

Every SDK or network error leaves this package as a ``StoreError``: a missing object as
``FileNotFoundError`` (as the filesystem store does), an unreachable or failing server as
``ObjectStoreUnavailableError`` (worth retrying), anything else as a plain ``StoreError``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3 import BaseHTTPResponse

from evidence_store.errors import ObjectExistsError, StoreError

# S3 error codes that say "try again later", not "you asked for something wrong".
RETRIABLE_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "OperationAborted",
        "ConditionalRequestConflict",
        "XMinioServerNotInitialized",
        "XMinioStorageFull",
        "BadDigest",  # bytes changed in transit: send them again
    }
)
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "ResourceNotFound"})


class S3RequestError(StoreError):
    """The object store refused a request; ``code`` is the S3 error code, if it sent one."""

    def __init__(self, message: str, *, code: str = "") -> None:
        self.code = code
        super().__init__(message)


class ObjectStoreUnavailableError(S3RequestError):
    """The object store cannot be reached or is failing; the same request may work later."""


class ContentMismatchError(StoreError):
    """A spool file's bytes are not the ones its seal names: it must not be uploaded."""

    def __init__(self, key: str, *, expected: str, actual: str, size: int) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        self.size = size
        super().__init__(
            f"{key}: content does not match its sealed SHA-256 "
            f"(sealed {expected[:16]}…, found {actual[:16]}…)"
        )


class ObjectConflictError(ObjectExistsError):
    """The key already holds different bytes in the bucket; nothing is overwritten."""


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn whatever the SDK or the network raises into the store's errors."""
    try:
        yield
    except S3Error as exc:
        code = exc.code or ""
        if code in MISSING_CODES:
            raise FileNotFoundError(f"{action}: no such object") from exc
        status = exc.response.status if exc.response is not None else 0
        if code in RETRIABLE_CODES or status >= 500:
            raise ObjectStoreUnavailableError(
                f"{action}: {code}: {exc.message}", code=code
            ) from exc
        raise S3RequestError(f"{action}: {code}: {exc.message}", code=code) from exc
    except (ServerError, InvalidResponseError) as exc:
        raise ObjectStoreUnavailableError(f"{action}: {exc}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise ObjectStoreUnavailableError(f"{action}: server unreachable ({exc})") from exc
    except ConnectionError as exc:
        raise ObjectStoreUnavailableError(f"{action}: server unreachable ({exc})") from exc
    except ValueError as exc:  # the SDK's own argument checks
        raise StoreError(f"{action}: {exc}") from exc


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hex_to_base64(sha256_hex: str) -> str:
    return b64(bytes.fromhex(sha256_hex))


def composite_of(part_digests: list[bytes]) -> str:
    """S3's COMPOSITE checksum of a multipart object: SHA-256 over the parts' SHA-256s."""
    return f"{b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_headers(retain_until: datetime, sha256_hex: str) -> dict[str, str]:
    """Headers that lock a new object in COMPLIANCE mode and label its SHA-256."""
    return {
        "x-amz-object-lock-mode": "COMPLIANCE",
        "x-amz-object-lock-retain-until-date": iso_seconds(retain_until),
        "x-amz-meta-sha256": sha256_hex,
    }


class S3Wire:
    """Signed requests of one client against one bucket."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def request(
        self,
        method: str,
        key: str | None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> BaseHTTPResponse:
        """One signed request; the SDK signs the body's SHA-256 when not on TLS."""
        # minio-py has no public call for these requests; see the module docstring.
        response: BaseHTTPResponse = self.client._execute(
            method,
            self.bucket,
            key,
            body=body,
            headers=dict(headers or {}),
            query_params=dict(query or {}),
            no_body_trace=True,
        )
        return response
