"""Sealed evidence. The top level is the format core: the canonical form, the hash chain, the
documents, signatures and trust, durable (write-once) files, the write-once store and its
layout, the session writer, clip proofs, verification, and a segment's sealed values read
from its signed link. It needs only ``cryptography`` and ``pydantic`` and imports nothing
else of the project, so a third party can read, audit and run it on its own
(``python -m evidence_store.verify SESSION_DIR``).

``merkle`` (RFC 9162 trees and proofs) and ``receipts`` (the off-box witness's receipts and
the rules that check them) are part of the core too. Time-stamp tokens beside the files they
stamp, and the rules they obey, are the format's (``tokens``); checking one needs RFC 3161,
which lives below.

Below it: ``bucket`` (the object store under Object Lock), ``upload`` (spool and uploader),
``export`` (packages anyone can verify), ``index`` (session summaries and the index),
``custody`` (the custody log), ``outbox`` (queues of what leaves the box),
``timestamping`` (the RFC 3161 time-stamp authority), ``witnessing`` (the appliance's side of
the off-box witness), ``installation`` (an installation's files) and ``cli``.
"""

from evidence_store import layout, merkle
from evidence_store.canonical import canonical_json
from evidence_store.chain import SessionState
from evidence_store.clips import ClipProof, ClipSegment, clip_proof, verify_clip
from evidence_store.durable import (
    PRIVATE,
    READ_ONLY,
    NameTaken,
    fsync_directory,
    publish_once,
    replace_atomically,
    write_once,
)
from evidence_store.errors import (
    Reason,
    SealroomError,
    StoreError,
    TamperedError,
    UsageError,
    VerificationError,
    reason_fields,
)
from evidence_store.failpoints import failpoint
from evidence_store.layout import check_session_id
from evidence_store.model import (
    DeviceStats,
    Link,
    Manifest,
    MediaInfo,
    Name,
    PresentPerson,
    SealLatency,
    SegmentRef,
    SessionMetadata,
    Text,
    TrackedMedia,
    TrackInfo,
    control_character,
    first_error,
    plain_text_problem,
    spelled_out,
)
from evidence_store.receipts import (
    ForkRecord,
    LocalChain,
    Receipt,
    SealRecord,
    SessionView,
    TreeHead,
    WitnessEntry,
    WitnessReport,
    check_receipt,
    check_witness_view,
    key_id,
    trusted_key,
)
from evidence_store.sealed_segments import SealedSegments
from evidence_store.session import (
    INFLIGHT_BOOKKEEPING,
    RECOVERY_NOTES,
    HeadHook,
    SessionBusyError,
    SessionStateError,
    SessionWriter,
    SignedHead,
    WallClock,
    fan_out,
)
from evidence_store.settings import DatabaseSettings, EvidenceSettings
from evidence_store.signing import (
    DeviceSigner,
    PublicKey,
    TrustStore,
    issue_certificate,
    load_certificates,
    load_public_key,
    public_key_der,
    public_key_pem,
    verify_signature,
)
from evidence_store.store import (
    CHUNK,
    BrowsableStore,
    EvidenceReader,
    FilesystemStore,
    sha256_file,
)
from evidence_store.timefmt import format_utc, parse_utc, utc_now
from evidence_store.timeline import runs
from evidence_store.tokens import StampedTime, TokenCheck, token_name
from evidence_store.verify import verify_session

__all__ = [
    "CHUNK",
    "INFLIGHT_BOOKKEEPING",
    "PRIVATE",
    "READ_ONLY",
    "RECOVERY_NOTES",
    "BrowsableStore",
    "ClipProof",
    "ClipSegment",
    "DatabaseSettings",
    "DeviceSigner",
    "DeviceStats",
    "EvidenceReader",
    "EvidenceSettings",
    "FilesystemStore",
    "ForkRecord",
    "HeadHook",
    "Link",
    "LocalChain",
    "Manifest",
    "MediaInfo",
    "Name",
    "NameTaken",
    "PresentPerson",
    "PublicKey",
    "Reason",
    "Receipt",
    "SealLatency",
    "SealRecord",
    "SealedSegments",
    "SealroomError",
    "SegmentRef",
    "SessionBusyError",
    "SessionMetadata",
    "SessionState",
    "SessionStateError",
    "SessionView",
    "SessionWriter",
    "SignedHead",
    "StampedTime",
    "StoreError",
    "TamperedError",
    "Text",
    "TokenCheck",
    "TrackInfo",
    "TrackedMedia",
    "TreeHead",
    "TrustStore",
    "UsageError",
    "VerificationError",
    "WallClock",
    "WitnessEntry",
    "WitnessReport",
    "canonical_json",
    "check_receipt",
    "check_session_id",
    "check_witness_view",
    "clip_proof",
    "control_character",
    "failpoint",
    "fan_out",
    "first_error",
    "format_utc",
    "fsync_directory",
    "issue_certificate",
    "key_id",
    "layout",
    "load_certificates",
    "load_public_key",
    "merkle",
    "parse_utc",
    "plain_text_problem",
    "public_key_der",
    "public_key_pem",
    "publish_once",
    "reason_fields",
    "replace_atomically",
    "runs",
    "sha256_file",
    "spelled_out",
    "token_name",
    "trusted_key",
    "utc_now",
    "verify_clip",
    "verify_session",
    "verify_signature",
    "write_once",
]
