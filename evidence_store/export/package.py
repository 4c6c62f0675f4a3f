"""Export packages: a session or a clip, with everything needed to verify it offline.

A package is a directory (or a .zip of one):

    sessions/<id>/...      the evidence, in the store's own layout, byte for byte
                           (a clip: only the segments it covers; every link is there)
    trust-root.pem         the root the signer's certificate chains to
    witness/<id>.pem       the off-box witness's public key, when the session has receipts
    tsa-ca.pem             the time-stamp authority's root, when the session has tokens
    clip.json              a clip's proof (evidence_store.clips.ClipProof), canonical JSON
    NOT-INCLUDED.txt       a clip: the sealed segments left out, session-relative
    custody.json           the session's custody events, with their hashes
    installation.json      the exporting installation's time zone (verify.py's local times)
    README.vi.md / .en.md  what this is and how to check it, by hand or with verify.py
    verify.py              a standalone verifier (standard library + cryptography)
    player.html, ...       an offline player for the original segments
    exporter/              the exporting installation's public key, certificate, chain
    PACKAGE-SHA256SUMS     every file above; its SHA-256 names the package in the custody log
    PACKAGE-SHA256SUMS.sig the exporting installation's signature over that list

The device's signatures prove the recording; the exporter's signature proves the selection
(which segments, a clip's span, the custody excerpt, the documents), so none of what the
exporter wrote can be edited, and no evidence removed, without breaking it. The exporter must
be anchored in the root that anchors the device, so one published fingerprint checks both.

The package is built beside its destination, checked there by the verify.py it ships (so
what ships is what was checked, with the recipient's rules), and only then moved into place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from evidence_store import layout
from evidence_store.clips import ClipProof, verify_clip
from evidence_store.custody import CustodyEntry
from evidence_store.durable import masked
from evidence_store.errors import (
    Reason,
    UnknownSessionError,
    UntrustedSignerError,
    UsageError,
    VerificationError,
)
from evidence_store.export.check import check_package
from evidence_store.export.docs import CUSTODY, PackageFacts, custody_excerpt, write_documents
from evidence_store.export.files import (
    PACKAGE_SIG,
    PACKAGE_SUMS,
    Progress,
    check_destination,
    copy_object,
    make_read_only,
    staging,
    write_package_sums,
    zip_directory,
)
from evidence_store.index import read_manifest
from evidence_store.model import Manifest, SegmentRef
from evidence_store.receipts import Receipt, key_id
from evidence_store.signing import (
    DeviceSigner,
    TrustStore,
    load_certificates,
    load_public_key,
    public_key_der,
    public_key_pem,
)
from evidence_store.store import EvidenceReader, FilesystemStore, sha256_file
from evidence_store.timefmt import format_utc, parse_utc, utc_now
from evidence_store.timestamping import TokenVerifier
from evidence_store.tokens import is_token
from evidence_store.verify import verify_session

TRUST_ROOT = "trust-root.pem"
WITNESS_KEYS = "witness"  # the package's folder of witness public keys
TSA_ROOT = "tsa-ca.pem"
CLIP_PROOF = "clip.json"
EXPORTER_KEY = "exporter/public_key.pem"
EXPORTER_CERT = "exporter/certificate.pem"
EXPORTER_CHAIN = "exporter/chain.pem"


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
    exporter: str = ""  # who signed the package: the exporting installation's subject

    def custody_detail(self) -> dict[str, Any]:
        """The export's custody event: what left, and the digest that names it."""
        detail: dict[str, Any] = {
            "kind": self.kind,
            "package": self.path.name,
            "package_sha256": self.package_sha256,
            "segments": self.segments,
            "media_bytes": self.media_bytes,
            "custody_entries": self.custody_entries,
            "exporter": self.exporter,
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
    by_name = {prefix + s.path: s.size for s in manifest.segments}
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
    covered = {prefix + s.path for s in spec.proof.segments}
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
    signer: DeviceSigner | None = None,
    tsa: TokenVerifier | None = None,
    timezone: str = "",
) -> ExportedPackage:
    """Copy, document, sign, verify and place a package at ``out``. Nothing is left behind on
    failure; a VerificationError means the evidence (or the copy) is not intact, or the
    installation cannot sign under the root that anchors the session.

    ``signer`` is the exporting installation's (``DataDir.signer()``); it is required, and a
    keyword only so that callers written before packages were signed fail with a clear error.

    ``tsa`` holds the time-stamp authority's root: a session with time-stamp tokens carries
    it as ``tsa-ca.pem`` (the tokens travel with the evidence), and cannot be exported
    without it, since its verify.py could not check them.

    ``timezone`` is the installation's (an IANA name, what its console and seal sheets
    print): the package records it, and its verify.py prints times there as well as in UTC.
    """
    if signer is None:
        raise UsageError(
            "an export package is signed by the installation that makes it: "
            "build_package needs signer=DataDir.signer()"
        )
    check_destination(out)
    if as_zip and out.suffix.lower() != ".zip":
        raise UsageError(f"{out}: a zip package's name must end in .zip")
    wanted = _wanted_keys(reader, spec)
    stamped = any(is_token(key) for key in wanted)
    if stamped and tsa is None:
        raise UsageError(
            f"session {spec.session_id} carries time-stamp tokens, and its package must carry "
            "the authority's root to check them: set SEALROOM_TSA_CA or [evidence] tsa_ca"
        )
    manifest = read_manifest(reader, spec.session_id)
    advance = progress or (lambda _n: None)
    with staging(out) as stage:
        for key in wanted:  # package-relative path == store key: the evidence keeps its layout
            copy_object(reader, key, stage / key, advance)
        if stamped and tsa is not None:
            (stage / TSA_ROOT).write_bytes(tsa.pem())
        store = FilesystemStore(stage)
        try:
            written = _write_and_check(
                stage, store, spec, trust, manifest, wanted, custody, exported_by, signer, timezone
            )
        except VerificationError:
            # Word the failure as `sealroom verify` does, when the store's verifier sees it
            # too; otherwise the package's verify.py found what only it checks.
            _verify_copy(store, spec, trust)
            raise
        # mkdtemp made it private; a package is made to be handed over (by whoever the
        # installation's umask lets read it: its owner, where it is private)
        stage.chmod(masked(0o755))
        archive_sha256 = None
        if as_zip:
            zip_directory(stage, out, top=out.stem)
            archive_sha256 = sha256_file(out)[0]
        else:
            stage.rename(out)
    return ExportedPackage(
        path=out,
        kind=spec.kind,
        session_id=spec.session_id,
        package_sha256=written.package_sha256,
        archive_sha256=archive_sha256,
        files=written.files,
        segments=len(written.included),
        media_bytes=sum(s.size for s in written.included),
        custody_entries=written.custody_entries,
        signer=written.device_signer,
        exporter=written.exporter,
    )


@dataclass(frozen=True)
class _Written:
    package_sha256: str
    files: int
    included: list[SegmentRef]
    custody_entries: int
    device_signer: str
    exporter: str


def _write_and_check(
    stage: Path,
    store: FilesystemStore,
    spec: ExportSpec,
    trust: TrustStore,
    manifest: Manifest,
    wanted: list[str],
    custody: Sequence[CustodyEntry],
    exported_by: str,
    signer: DeviceSigner,
    timezone: str,
) -> _Written:
    """Write the documents beside the copied evidence, sign the package, and check it with
    the verify.py it ships: one full reading of the copy, with the recipient's rules."""
    prefix = layout.session_prefix(spec.session_id)
    included = [s for s in manifest.segments if prefix + s.path in wanted]
    # The sealed digests: verify.py below checks each copied segment against them.
    digests = {prefix + s.path: s.sha256 for s in included}
    root_pem = _anchoring_root(store, spec.session_id, trust, manifest.started_at)
    exported_at = utc_now()
    exporter = _check_exporter(signer, root_pem, exported_at)
    (stage / TRUST_ROOT).write_bytes(root_pem)
    _write_witness_keys(stage, stage / prefix, trust)
    _write_exporter(stage, signer, certified=b"CERTIFICATE" in root_pem)
    facts = _facts(spec, manifest, exported_by, root_pem, included, exported_at, exporter, timezone)
    if spec.proof is not None:
        (stage / CLIP_PROOF).write_text(spec.proof.to_json(), encoding="utf-8")
    entries = [e for e in custody if e.session_id == spec.session_id]
    (stage / CUSTODY).write_text(
        custody_excerpt(spec.session_id, entries, facts.exported_at), encoding="utf-8"
    )
    copied = {s.path for s in included}
    left_out = [s.path for s in manifest.segments if s.path not in copied]
    write_documents(stage, facts, left_out)
    package_sha256 = write_package_sums(stage, digests)
    (stage / PACKAGE_SIG).write_bytes(signer.sign((stage / PACKAGE_SUMS).read_bytes()))
    make_read_only(stage)
    device_signer = check_package(stage)  # the recipient's verify.py, on what will ship
    files = sum(1 for p in stage.rglob("*") if p.is_file())
    return _Written(package_sha256, files, included, len(entries), device_signer, exporter)


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
    raise UntrustedSignerError(
        Reason("trust_root_anchors_signer", "no trust root anchors the signer"),
        location=layout.CERTIFICATE,
    )


def _check_exporter(signer: DeviceSigner, root_pem: bytes, at: datetime) -> str:
    """The exporting key must be anchored in the root that anchors the session (so one
    published fingerprint checks both signatures); returns who signs the package."""
    if b"CERTIFICATE" in root_pem:
        roots = TrustStore(roots=tuple(load_certificates(root_pem, location=TRUST_ROOT)))
        certificate = signer.certificate
    else:  # a pinned key: the exporter must hold that very key
        key = load_public_key(root_pem, location=TRUST_ROOT)
        digest = hashlib.sha256(public_key_der(key)).hexdigest()
        roots = TrustStore(pinned_keys=frozenset({digest}))
        certificate = None
    try:
        return roots.check(
            public_key=signer.public_key,
            certificate=certificate,
            intermediates=list(signer.chain),
            at=at,
            location=EXPORTER_CERT,
        )
    except VerificationError as exc:
        raise UntrustedSignerError(
            Reason(
                "installation_cannot_sign_package",
                "this installation cannot sign the package: its signing key must be anchored in "
                "the root that anchors the session ({reason})",
                reason=exc.reason,
            ),
            location=EXPORTER_CERT,
        ) from exc


def _write_witness_keys(stage: Path, session: Path, trust: TrustStore) -> None:
    """The witness keys that signed the session's receipts, for verify.py (which prints their
    fingerprints: like the trust root, they are to be compared with the published ones)."""
    logs = {
        Receipt.parse(path.read_bytes(), location=path.name).tree_head.log
        for path in sorted((session / layout.WITNESS_DIR).glob("*.json"))
    }
    for key in trust.witness_keys:
        identity = key_id(key)
        if identity in logs:
            target = stage / WITNESS_KEYS / f"{identity[:16]}.pem"
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(public_key_pem(key))


def _write_exporter(stage: Path, signer: DeviceSigner, *, certified: bool) -> None:
    """What a reader needs to check PACKAGE-SHA256SUMS.sig: the key, and under a root
    certificate, the certificate and intermediates that tie it to that root."""
    (stage / EXPORTER_KEY).parent.mkdir()
    (stage / EXPORTER_KEY).write_bytes(public_key_pem(signer.public_key))
    certificate, chain = signer.certificate_pem(), signer.chain_pem()
    if certified and certificate is not None:
        (stage / EXPORTER_CERT).write_bytes(certificate)
        if chain is not None:
            (stage / EXPORTER_CHAIN).write_bytes(chain)


def _facts(
    spec: ExportSpec,
    manifest: Manifest,
    exported_by: str,
    root_pem: bytes,
    included: list[SegmentRef],
    exported_at: datetime,
    exporter: str,
    timezone: str,
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
        exported_at=format_utc(exported_at),
        exported_by=exported_by,
        exporter=exporter,
        root_subject=subject,
        root_fingerprint=fingerprint,
        segments=[s.to_document() for s in included],
        start_us=proof.start_us if proof else 0,
        end_us=proof.end_us if proof else manifest.duration_us,
        title=spec.title,
        exhibit_number=spec.exhibit_number,
        timezone=timezone,
    )


__all__ = [
    "CLIP_PROOF",
    "PACKAGE_SIG",
    "PACKAGE_SUMS",
    "TRUST_ROOT",
    "TSA_ROOT",
    "ExportSpec",
    "ExportedPackage",
    "build_package",
    "export_bytes",
]
