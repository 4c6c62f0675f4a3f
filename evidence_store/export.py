"""Export packages: a session or a clip, with everything needed to verify it offline.

A package is a directory (or a .zip of one):

    sessions/<id>/...      the evidence, in the store's own layout, byte for byte
                           (a clip: only the segments it covers; every link is there)
    trust-root.pem         the root the signer's certificate chains to
    clip.json              a clip's proof (evidence_store.clips.ClipProof), canonical JSON
    NOT-INCLUDED.txt       a clip: the sealed segments left out, session-relative
    custody.json           the session's custody events, with their hashes
    README.vi.md / .en.md  what this is and how to check it, by hand or with verify.py
    verify.py              a standalone verifier (standard library + cryptography)
    player.html, ...       an offline player for the original segments
    PACKAGE-SHA256SUMS     every file above; its SHA-256 names the package in the custody log

The package is built beside its destination, verified there (so what ships is what was
checked, not just what was read), and only then moved into place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from evidence_store import layout
from evidence_store.catalog import read_manifest
from evidence_store.clips import ClipProof, verify_clip
from evidence_store.custody import CustodyEntry
from evidence_store.errors import (
    UnknownSessionError,
    UntrustedSignerError,
    UsageError,
    VerificationError,
)
from evidence_store.export_docs import CUSTODY, PackageFacts, custody_excerpt, write_documents
from evidence_store.export_files import (
    PACKAGE_SUMS,
    Progress,
    check_destination,
    copy_object,
    make_read_only,
    sha256_of,
    staging,
    write_package_sums,
    zip_directory,
)
from evidence_store.model import Manifest, SegmentRef
from evidence_store.signing import TrustStore, load_certificates, load_public_key
from evidence_store.store import EvidenceReader, FilesystemStore
from evidence_store.timefmt import format_utc, parse_utc, utc_now
from evidence_store.verify import verify_session

TRUST_ROOT = "trust-root.pem"
CLIP_PROOF = "clip.json"


@dataclass(frozen=True)
class ExportSpec:
    """What to export: a whole session, or the clip a proof describes."""

    session_id: str
    proof: ClipProof | None = None
    title: str = ""
    exhibit_number: str = ""
    clip_ref: str = ""  # how the exporter names the clip, e.g. "clip-12"

    @property
    def kind(self) -> str:
        return "clip" if self.proof else "session"


@dataclass(frozen=True)
class ExportedPackage:
    path: Path
    kind: str
    session_id: str
    package_sha256: str  # SHA-256 of PACKAGE-SHA256SUMS: the same for the directory and zip
    archive_sha256: str | None  # SHA-256 of the .zip, when one was made
    files: int
    segments: int
    media_bytes: int
    custody_entries: int
    signer: str

    def custody_detail(self) -> dict[str, Any]:
        """The export's custody event: what left, and the digest that names it."""
        detail: dict[str, Any] = {
            "kind": self.kind,
            "package": self.path.name,
            "package_sha256": self.package_sha256,
            "segments": self.segments,
            "media_bytes": self.media_bytes,
            "custody_entries": self.custody_entries,
        }
        if self.archive_sha256:
            detail["archive_sha256"] = self.archive_sha256
        return detail


def export_bytes(reader: EvidenceReader, spec: ExportSpec) -> int:
    """How many bytes an export copies (for a progress bar's total)."""
    return sum(_sizes(reader, spec).values())


def _sizes(reader: EvidenceReader, spec: ExportSpec) -> dict[str, int]:
    prefix = layout.session_prefix(spec.session_id)
    wanted = _wanted_keys(reader, spec)
    manifest = read_manifest(reader, spec.session_id)
    by_name = {prefix + layout.segment_path(s.index): s.size for s in manifest.segments}
    return {key: by_name.get(key, 0) for key in wanted}


def _wanted_keys(reader: EvidenceReader, spec: ExportSpec) -> list[str]:
    """The session's objects to copy: all of them, or for a clip all but other segments."""
    prefix = layout.session_prefix(spec.session_id)
    keys = reader.list_keys(prefix)
    if prefix + layout.link_name(0) not in keys:
        raise UnknownSessionError(f"unknown session {spec.session_id}")
    if prefix + layout.MANIFEST not in keys:
        raise UsageError(f"session {spec.session_id} is not sealed; only sealed sessions export")
    if spec.proof is None:
        return keys
    if spec.proof.session_id != spec.session_id:
        raise UsageError(f"the clip is of session {spec.proof.session_id}, not {spec.session_id}")
    covered = {prefix + layout.segment_path(s.index) for s in spec.proof.segments}
    segments = prefix + "segments/"
    return [k for k in keys if not k.startswith(segments) or k in covered]


def build_package(
    reader: EvidenceReader,
    spec: ExportSpec,
    trust: TrustStore,
    out: Path,
    *,
    custody: Sequence[CustodyEntry],
    exported_by: str,
    as_zip: bool = False,
    progress: Progress | None = None,
) -> ExportedPackage:
    """Copy, document, verify and place a package at ``out``. Nothing is left behind on
    failure; a VerificationError means the evidence (or the copy) is not intact."""
    check_destination(out)
    if as_zip and out.suffix.lower() != ".zip":
        raise UsageError(f"{out}: a zip package's name must end in .zip")
    prefix = layout.session_prefix(spec.session_id)
    wanted = _wanted_keys(reader, spec)
    manifest = read_manifest(reader, spec.session_id)
    advance = progress or (lambda _n: None)
    with staging(out) as stage:
        for key in wanted:  # package-relative path == store key: the evidence keeps its layout
            copy_object(reader, key, stage / key, advance)
        store = FilesystemStore(stage)
        signer = _verify_copy(store, spec, trust)
        # Verified: each copied segment has the digest its link sealed.
        digests = {
            prefix + layout.segment_path(s.index): s.sha256
            for s in manifest.segments
            if prefix + layout.segment_path(s.index) in wanted
        }
        root_pem = _anchoring_root(store, spec.session_id, trust, manifest.started_at)
        (stage / TRUST_ROOT).write_bytes(root_pem)
        included = [s for s in manifest.segments if prefix + layout.segment_path(s.index) in wanted]
        facts = _facts(spec, manifest, exported_by, root_pem, included)
        if spec.proof is not None:
            (stage / CLIP_PROOF).write_text(spec.proof.to_json(), encoding="utf-8")
        entries = [e for e in custody if e.session_id == spec.session_id]
        (stage / CUSTODY).write_text(
            custody_excerpt(spec.session_id, entries, facts.exported_at), encoding="utf-8"
        )
        left_out = [
            layout.segment_path(s.index)
            for s in manifest.segments
            if prefix + layout.segment_path(s.index) not in wanted
        ]
        write_documents(stage, facts, left_out)
        package_sha256 = write_package_sums(stage, digests)
        files = sum(1 for p in stage.rglob("*") if p.is_file())
        make_read_only(stage)
        stage.chmod(0o755)  # mkdtemp made it private; a package is made to be handed over
        archive_sha256 = None
        if as_zip:
            zip_directory(stage, out, top=out.stem)
            archive_sha256 = sha256_of(out)
        else:
            stage.rename(out)
    return ExportedPackage(
        path=out,
        kind=spec.kind,
        session_id=spec.session_id,
        package_sha256=package_sha256,
        archive_sha256=archive_sha256,
        files=files,
        segments=len(included),
        media_bytes=sum(s.size for s in included),
        custody_entries=len(entries),
        signer=signer,
    )


def _verify_copy(store: FilesystemStore, spec: ExportSpec, trust: TrustStore) -> str:
    """Verify what was copied: the whole session, or the clip against its proof."""
    if spec.proof is None:
        return verify_session(store, spec.session_id, trust).signer
    return verify_clip(store, spec.proof, trust).signer


def _anchoring_root(
    store: FilesystemStore, session_id: str, trust: TrustStore, started_at: str
) -> bytes:
    """The one trust root (or pinned key) the session's signer is anchored in, as PEM."""
    prefix = layout.session_prefix(session_id)
    public_pem = store.read_bytes(prefix + layout.PUBLIC_KEY)
    public_key = load_public_key(public_pem, location=layout.PUBLIC_KEY)
    if not store.exists(prefix + layout.CERTIFICATE):
        return public_pem  # verified already: the key itself is pinned
    certificate = load_certificates(
        store.read_bytes(prefix + layout.CERTIFICATE), location=layout.CERTIFICATE
    )[0]
    intermediates = []
    if store.exists(prefix + layout.CERT_CHAIN):
        intermediates = load_certificates(
            store.read_bytes(prefix + layout.CERT_CHAIN), location=layout.CERT_CHAIN
        )
    for root in trust.roots:
        try:
            TrustStore(roots=(root,)).check(
                public_key=public_key,
                certificate=certificate,
                intermediates=intermediates,
                at=parse_utc(started_at),
                location=layout.CERTIFICATE,
            )
        except VerificationError:
            continue
        return root.public_bytes(serialization.Encoding.PEM)
    raise UntrustedSignerError("no trust root anchors the signer", location=layout.CERTIFICATE)


def _facts(
    spec: ExportSpec,
    manifest: Manifest,
    exported_by: str,
    root_pem: bytes,
    included: list[SegmentRef],
) -> PackageFacts:
    if b"CERTIFICATE" in root_pem:
        root = load_certificates(root_pem, location=TRUST_ROOT)[0]
        subject = root.subject.rfc4514_string()
        der = root.public_bytes(serialization.Encoding.DER)
    else:
        subject = "pinned public key"
        key = load_public_key(root_pem, location=TRUST_ROOT)
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    proof = spec.proof
    return PackageFacts(
        kind=spec.kind,
        manifest=manifest,
        exported_at=format_utc(utc_now()),
        exported_by=exported_by,
        root_subject=subject,
        root_fingerprint=fingerprint,
        segments=[s.to_document() for s in included],
        start_us=proof.start_us if proof else 0,
        end_us=proof.end_us if proof else manifest.duration_us,
        title=spec.title,
        exhibit_number=spec.exhibit_number,
    )


__all__ = [
    "CLIP_PROOF",
    "PACKAGE_SUMS",
    "TRUST_ROOT",
    "ExportSpec",
    "ExportedPackage",
    "build_package",
    "export_bytes",
]
