"""The spool (the local write-once store seen as a queue) and the uploader that drains it into
the object store."""

from evidence_store.upload.late import (
    LateFileUpload,
    is_late_file,
    queue_late_file,
    store_late_file,
)
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
    "LateFileUpload",
    "SpoolObject",
    "UploadCounts",
    "Uploader",
    "backlog_of",
    "hold_uploader_lock",
    "is_late_file",
    "last_status",
    "open_uploader",
    "queue_late_file",
    "store_late_file",
]
