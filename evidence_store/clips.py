"""Clip proofs: a span of a sealed session, tied to the signed head without re-encoding.

A clip names the sealed segments its span covers, whole, and keeps the hash of every link of
the session's chain (the chain values). With those values a verifier can check that each
covered segment's link is part of the chain the device signed, by hashing only the links
(small JSON documents) and the clip's own segments, never the rest of the recording.

The hash rule is the chain's own (``evidence_store.chain.link_digest``: SHA-256 of a link's
exact bytes, which the next link names as ``prev``); nothing here invents another.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from evidence_store import layout
from evidence_store.canonical import canonical_json
from evidence_store.chain import link_digest
from evidence_store.errors import Reason, TamperedError, UsageError
from evidence_store.model import GENESIS_PREV, Link, Manifest, SegmentRef
from evidence_store.signer_check import check_signer, signer_certificates
from evidence_store.signing import (
    PublicKey,
    TrustStore,
    load_public_key,
    verify_signature,
)
from evidence_store.store import EvidenceReader, digest_object
from evidence_store.timefmt import parse_utc
from evidence_store.verify import verify_session

PROOF_TYPE = "sealroom.clip-proof"
PROOF_VERSION = 1
TRACK_ID = re.compile(r"[a-z][a-z0-9]{0,15}")


@dataclass(frozen=True)
class ClipSegment:
    """One sealed segment a clip covers, as its segment link sealed it."""

    index: int
    name: str
    sha256: str
    size: int
    start_us: int
    duration_us: int
    link_seq: int
    track: str | None = None  # its track, in a passthrough session

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @property
    def path(self) -> str:
        return layout.segment_path(self.index, self.track)


@dataclass(frozen=True)
class ClipProof:
    """What ties a span of a session to the session's signed head."""

    session_id: str
    start_us: int
    end_us: int
    segments: tuple[ClipSegment, ...]  # the sealed segments the span covers, whole
    link_hashes: tuple[str, ...]  # hash of every chain link, seq 0..head (the chain values)
    head_seq: int
    head_hash: str
    manifest_sha256: str
    signer_subject: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": PROOF_VERSION,
            "type": PROOF_TYPE,
            "session": self.session_id,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "segments": [s.as_dict() for s in self.segments],
            "link_hashes": list(self.link_hashes),
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "manifest_sha256": self.manifest_sha256,
            "signer_subject": self.signer_subject,
        }

    def to_json(self) -> str:
        """Canonical JSON (the evidence format's one byte form)."""
        return canonical_json(self.as_dict()).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> ClipProof:
        """Parse a proof; anything that is not exactly a proof's shape is rejected."""
        try:
            document = json.loads(text)
            if document.get("type") != PROOF_TYPE or document.get("v") != PROOF_VERSION:
                raise ValueError(f"not a {PROOF_TYPE} version {PROOF_VERSION}")
            segments = tuple(
                ClipSegment(
                    index=_int(s["index"]),
                    name=str(s["name"]),
                    sha256=_hex(s["sha256"]),
                    size=_int(s["size"]),
                    start_us=_int(s["start_us"]),
                    duration_us=_int(s["duration_us"]),
                    link_seq=_int(s["link_seq"]),
                    track=_track(s["track"]) if "track" in s else None,
                )
                for s in document["segments"]
            )
            return cls(
                session_id=layout.check_session_id(str(document["session"])),
                start_us=_int(document["start_us"]),
                end_us=_int(document["end_us"]),
                segments=segments,
                link_hashes=tuple(_hex(h) for h in document["link_hashes"]),
                head_seq=_int(document["head_seq"]),
                head_hash=_hex(document["head_hash"]),
                manifest_sha256=_hex(document["manifest_sha256"]),
                signer_subject=str(document["signer_subject"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError, UsageError) as exc:
            raise TamperedError(
                Reason("malformed_clip_proof_exc", "malformed clip proof ({exc})", exc=exc),
                location="clip proof",
            ) from exc


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return value


def _track(value: Any) -> str:
    if not isinstance(value, str) or not TRACK_ID.fullmatch(value):
        raise ValueError(f"expected a track id, got {value!r}")
    return value


def _hex(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
        raise ValueError(f"expected a SHA-256 in lowercase hex, got {value!r}")
    return value


@dataclass(frozen=True)
class VerifiedClip:
    """What a successful clip verification established."""

    proof: ClipProof
    signer: str
    segments: int
    head: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.proof.session_id,
            "intact": True,
            "signer": self.signer,
            "start_us": self.proof.start_us,
            "end_us": self.proof.end_us,
            "segments": self.segments,
            "segment_names": [s.path.removeprefix("segments/") for s in self.proof.segments],
            "head": self.head,
            "chain_length": self.proof.head_seq + 1,
        }


def covered(segments: list[SegmentRef], start_us: int, end_us: int) -> list[SegmentRef]:
    """The segments that hold any part of [start_us, end_us): of every track, in a
    passthrough session."""
    return [s for s in segments if s.start_us < end_us and s.start_us + s.duration_us > start_us]


def clip_proof(
    reader: EvidenceReader, session_id: str, trust: TrustStore, start_us: int, end_us: int
) -> ClipProof:
    """Verify the whole session, then make the proof for the span [start_us, end_us)."""
    prefix = layout.session_prefix(session_id)
    if start_us < 0 or end_us <= start_us:
        raise UsageError(f"a clip must end after it starts (start {start_us} µs, end {end_us} µs)")
    if not reader.exists(prefix + layout.MANIFEST):
        if not reader.exists(prefix + layout.link_name(0)):
            raise UsageError(f"unknown session {session_id}")
        raise UsageError(f"session {session_id} is not sealed; only a sealed session has clips")
    verified = verify_session(reader, session_id, trust)
    manifest_body = reader.read_bytes(prefix + layout.MANIFEST)
    manifest = Manifest.parse(manifest_body, location=layout.MANIFEST)
    if end_us > manifest.duration_us:
        raise UsageError(
            f"the clip ends at {end_us} µs, after the recording's end ({manifest.duration_us} µs)"
        )
    hashes: list[str] = []
    link_of_segment: dict[tuple[str | None, int], int] = {}
    for seq in range(manifest.chain.length):
        body = reader.read_bytes(prefix + layout.link_name(seq))
        hashes.append(link_digest(body))
        link = Link.parse(body, location=layout.link_name(seq))
        if link.segment is not None:
            link_of_segment[(link.segment.track, link.segment.index)] = seq
    segments = tuple(
        ClipSegment(
            index=s.index,
            name=s.name,
            sha256=s.sha256,
            size=s.size,
            start_us=s.start_us,
            duration_us=s.duration_us,
            link_seq=link_of_segment[(s.track, s.index)],
            track=s.track,
        )
        for s in covered(manifest.segments, start_us, end_us)
    )
    if not segments:
        raise UsageError("the span covers no recorded media")
    return ClipProof(
        session_id=session_id,
        start_us=start_us,
        end_us=end_us,
        segments=segments,
        link_hashes=tuple(hashes),
        head_seq=len(hashes) - 1,
        head_hash=verified.head,
        manifest_sha256=hashlib.sha256(manifest_body).hexdigest(),
        signer_subject=verified.signer,
    )


class _ClipCheck:
    """Re-checks one proof against what a store holds now; stops at the first failure."""

    def __init__(self, reader: EvidenceReader, proof: ClipProof, trust: TrustStore) -> None:
        self.reader = reader
        self.proof = proof
        self.trust = trust
        self.prefix = layout.session_prefix(proof.session_id)

    def read(self, relative: str) -> bytes:
        if not self.reader.exists(self.prefix + relative):
            raise TamperedError(Reason("missing", "missing"), location=relative)
        return self.reader.read_bytes(self.prefix + relative)

    def run(self) -> VerifiedClip:
        public_key = load_public_key(self.read(layout.PUBLIC_KEY), location=layout.PUBLIC_KEY)
        manifest = self._signed_manifest(public_key)
        signer = self._signer(public_key, manifest)
        self._proof_fits_manifest(manifest)
        links = self._chain_to_head(public_key, manifest)
        for segment in self.proof.segments:
            self._segment(segment, links[segment.link_seq])
        return VerifiedClip(
            proof=self.proof,
            signer=signer,
            segments=len(self.proof.segments),
            head=manifest.chain.head,
        )

    def _signed_manifest(self, public_key: PublicKey) -> Manifest:
        body = self.read(layout.MANIFEST)
        verify_signature(public_key, self.read(layout.MANIFEST_SIG), body, location=layout.MANIFEST)
        manifest = Manifest.parse(body, location=layout.MANIFEST)
        if hashlib.sha256(body).hexdigest() != self.proof.manifest_sha256:
            raise TamperedError(
                Reason(
                    "manifest_one_clip_made", "the manifest is not the one the clip was made from"
                ),
                location=layout.MANIFEST,
            )
        if manifest.session != self.proof.session_id:
            raise TamperedError(
                Reason(
                    "manifest_seals_session_session",
                    "the manifest seals session {session}",
                    session=manifest.session,
                ),
                location=layout.MANIFEST,
            )
        return manifest

    def _signer(self, public_key: PublicKey, manifest: Manifest) -> str:
        certificate, intermediates = signer_certificates(
            self.read, lambda relative: self.reader.exists(self.prefix + relative)
        )
        return check_signer(
            manifest.signer,
            public_key,
            certificate,
            intermediates,
            self.trust,
            parse_utc(manifest.started_at),
        )

    def _proof_fits_manifest(self, manifest: Manifest) -> None:
        proof = self.proof
        where = "clip proof"
        if proof.head_seq + 1 != manifest.chain.length or len(proof.link_hashes) != (
            manifest.chain.length
        ):
            raise TamperedError(
                Reason(
                    "proof_holds_link_hashe",
                    "the proof holds {link_hashe_count} chain values, the manifest seals {length} "
                    "links",
                    link_hashe_count=len(proof.link_hashes),
                    length=manifest.chain.length,
                ),
                location=where,
            )
        if proof.head_hash != manifest.chain.head or proof.link_hashes[-1] != proof.head_hash:
            raise TamperedError(
                Reason("proof_s_head_signed", "the proof's head is not the signed head"),
                location=where,
            )
        if not 0 <= proof.start_us < proof.end_us <= manifest.duration_us:
            raise TamperedError(
                Reason("clip_s_span_outside", "the clip's span is outside the recording"),
                location=where,
            )
        expected = covered(manifest.segments, proof.start_us, proof.end_us)
        named = [
            (s.track, s.index, s.name, s.sha256, s.size, s.start_us, s.duration_us)
            for s in expected
        ]
        held = [
            (s.track, s.index, s.name, s.sha256, s.size, s.start_us, s.duration_us)
            for s in proof.segments
        ]
        if named != held:
            raise TamperedError(
                Reason(
                    "proof_s_segments_are",
                    "the proof's segments are not the sealed segments its span covers",
                ),
                location=where,
            )

    def _chain_to_head(self, public_key: PublicKey, manifest: Manifest) -> list[bytes]:
        """Every link's bytes, each hashing to its chain value and naming the one before."""
        links: list[bytes] = []
        prev = GENESIS_PREV
        for seq, expected in enumerate(self.proof.link_hashes):
            where = layout.link_name(seq)
            body = self.read(where)
            if link_digest(body) != expected:
                raise TamperedError(
                    Reason(
                        "link_s_hash_chain",
                        "link's hash is not the chain value the clip was made with (altered)",
                    ),
                    location=where,
                )
            link = Link.parse(body, location=where)
            if link.prev != prev or link.seq != seq:
                raise TamperedError(
                    Reason("link_does_follow_one", "the link does not follow the one before it"),
                    location=where,
                )
            if link.session != self.proof.session_id:
                raise TamperedError(
                    Reason(
                        "link_belongs_session_session_2",
                        "link belongs to session {session}",
                        session=link.session,
                    ),
                    location=where,
                )
            links.append(body)
            prev = expected
        head_where = layout.link_name(self.proof.head_seq)
        head_signature = self.read(layout.link_sig_name(self.proof.head_seq))
        if head_signature.hex() != manifest.chain.head_signature:
            raise TamperedError(
                Reason(
                    "head_link_s_signature",
                    "the head link's signature is not the one the manifest seals",
                ),
                location=layout.link_sig_name(self.proof.head_seq),
            )
        verify_signature(public_key, head_signature, links[-1], location=head_where)
        return links

    def _segment(self, segment: ClipSegment, link_body: bytes) -> None:
        where = layout.link_name(segment.link_seq)
        link = Link.parse(link_body, location=where)
        sealed = link.segment
        if (
            sealed is None
            or (sealed.track, sealed.index) != (segment.track, segment.index)
            or sealed.sha256 != segment.sha256
        ):
            raise TamperedError(
                Reason(
                    "link_does_seal_segment",
                    "link does not seal segment {name} as the clip says",
                    name=segment.name,
                ),
                location=where,
            )
        relative = segment.path
        seen, digest = self._digest(relative)
        if seen != sealed.size:
            raise TamperedError(
                Reason(
                    "segment_size_bytes_chain",
                    "segment is {seen} bytes, the chain sealed {size} ({extended})",
                    seen=seen,
                    size=sealed.size,
                    extended="truncated" if seen < sealed.size else "extended",
                ),
                location=relative,
            )
        if digest != sealed.sha256:
            raise TamperedError(
                Reason(
                    "segment_content_does_match",
                    "segment content does not match its sealed SHA-256 (altered or replaced)",
                ),
                location=relative,
            )

    def _digest(self, relative: str) -> tuple[int, str]:
        key = self.prefix + relative
        if not self.reader.exists(key):
            raise TamperedError(
                Reason("segment_missing_deleted_renamed", "segment missing (deleted or renamed)"),
                location=relative,
            )
        return digest_object(self.reader, key)


def verify_clip(reader: EvidenceReader, proof: ClipProof, trust: TrustStore) -> VerifiedClip:
    """Re-check a clip against the store as it is now. Only the clip's segments are hashed.

    Raises VerificationError (TamperedError, UntrustedSignerError) naming the first failure.
    """
    return _ClipCheck(reader, proof, trust).run()
