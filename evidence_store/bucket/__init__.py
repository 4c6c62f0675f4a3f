"""The object store: MinIO or any S3 server with Object Lock, retention, legal hold, and the
reader that looks in the local store first and the bucket second."""

from evidence_store.bucket.layered import LayeredStore
from evidence_store.bucket.legal_hold import legal_hold_status, set_legal_hold
from evidence_store.bucket.multipart import MultipartProgress
from evidence_store.bucket.retention import RetentionPolicy
from evidence_store.bucket.store import S3Access, S3Store, stored_problems
from evidence_store.bucket.wire import (
    ContentMismatchError,
    ObjectConflictError,
    ObjectStoreUnavailableError,
    hex_to_base64,
)

__all__ = [
    "ContentMismatchError",
    "LayeredStore",
    "MultipartProgress",
    "ObjectConflictError",
    "ObjectStoreUnavailableError",
    "RetentionPolicy",
    "S3Access",
    "S3Store",
    "hex_to_base64",
    "legal_hold_status",
    "set_legal_hold",
    "stored_problems",
]
