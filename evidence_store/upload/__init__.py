"""The spool (the local write-once store seen as a queue) and the uploader that drains it into
the object store."""

from evidence_store.upload.spool import SpoolObject
from evidence_store.upload.uploader import (
    Backlog,
    UploadCounts,
    Uploader,
    backlog_of,
    hold_uploader_lock,
    last_status,
    open_uploader,
)

__all__ = [
    "Backlog",
    "SpoolObject",
    "UploadCounts",
    "Uploader",
    "backlog_of",
    "hold_uploader_lock",
    "last_status",
    "open_uploader",
]
