"""Verifying a session from any store: the first failure is raised with its reason.

Order of checks: each link's signature, its form, its place in the chain, the bytes of the
segment it names; the signer against the trust roots; no object outside the chain; the
manifest and SHA256SUMS, which must be exactly what the chain implies; and last the
time-stamp tokens beside the links and the manifest (``evidence_store.tokens``).

The signer's certificate must be valid when the session started: at the time-stamp
authority's time for link 0 when its token is there and can be checked, else at the time the
device wrote in link 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509

from evidence_store import layout
from evidence_store.canonical import first_difference, parse_canonical
from evidence_store.chain import ChainState, SessionState, checksums_text, manifest_bytes
from evidence_store.errors import (
    IncompleteError,
    Reason,
    TamperedError,
    UnknownSessionError,
    UntrustedSignerError,
    VerificationError,
)
from evidence_store.model import EventType, Link, Manifest, SegmentRef
from evidence_store.receipts import WitnessReport, check_receipts, is_witness_file
from evidence_store.signer_check import check_signer, signer_certificates
from evidence_store.signing import (
    PublicKey,
    TrustStore,
    load_public_key,
    verify_signature,
)
from evidence_store.store import (
    EvidenceReader,
    digest_object,
    irregular_entries,
    unfinished_writes,
)
from evidence_store.timefmt import parse_utc
from evidence_store.tokens import StampedTime, TokenCheck, check_tokens, token_name

Progress = Callable[[int], None]
HASH_WORKERS = 2  # the appliance has two cores; more threads only contend
SIGNER_FILES = (layout.PUBLIC_KEY, layout.CERTIFICATE, layout.CERT_CHAIN)
# Written at sealing time, and not themselves listed in SHA256SUMS.
SEALING_FILES = frozenset(
    {layout.CHECKSUMS, layout.CHECKSUMS_SIG, layout.MANIFEST, layout.MANIFEST_SIG}
)


@dataclass(frozen=True)
class VerifiedSession:
    """What a successful verification established."""

    session_id: str
    signer: str
    algorithm: str
    chain_length: int
    head: str
    segments: int
    media_bytes: int
    duration_us: int
    started_at: str
    ended_at: str
    interrupted: bool
    witness: WitnessReport | None = None  # what the off-box witness's receipts prove
    # The time-stamp tokens checked, in the chain's order; and how many there are that
    # could not be checked (no time-stamp authority's root was given).
    time_stamps: tuple[StampedTime, ...] = field(default=())
    unchecked_time_stamps: int = 0
    clock_marks: tuple[str, ...] = ()  # clock_skew events in the chain: "chain/N.json: why"
    recovered_at: str | None = None  # an interrupted session's recovery, when recorded

    def as_dict(self) -> dict[str, Any]:
        witnessed = {} if self.witness is None else {"witness": self.witness.as_dict()}
        return {
            **witnessed,
            "session_id": self.session_id,
            "intact": True,
            "signer": self.signer,
            "algorithm": self.algorithm,
            "chain_length": self.chain_length,
            "head": self.head,
            "segments": self.segments,
            "media_bytes": self.media_bytes,
            "duration_seconds": round(self.duration_us / 1e6, 3),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "interrupted": self.interrupted,
            "time_stamps": [stamp.as_dict() for stamp in self.time_stamps],
            "unchecked_time_stamps": self.unchecked_time_stamps,
            "clock_marks": list(self.clock_marks),
            **({"recovered_at": self.recovered_at} if self.recovered_at else {}),
        }


class _Verification:
    def __init__(
        self,
        store: EvidenceReader,
        session_id: str,
        trust: TrustStore,
        progress: Progress | None,
        tokens: TokenCheck | None = None,
    ) -> None:
        self.store = store
        self.prefix = layout.session_prefix(session_id)
        self.session_id = session_id
        self.trust = trust
        self.progress = progress
        # Every file is an object here, an unfinished write's temporary too: a sealed session
        # holds nothing that is not sealed.
        self.keys = set(store.list_keys(self.prefix)) | set(unfinished_writes(store, self.prefix))
        if not self.keys:
            raise UnknownSessionError(f"unknown session {session_id}")
        self.digests: dict[str, str] = {}
        self.signer_subject = ""
        self.tokens = tokens
        self.checked_tokens: dict[str, datetime] = {}  # token name -> the authority's time
        self.link_times: list[str] = []
        self.clock_marks: list[str] = []

    def read(self, relative: str) -> bytes:
        key = self.prefix + relative
        if key not in self.keys:
            raise TamperedError(Reason("missing", "missing"), location=relative)
        data = self.store.read_bytes(key)
        self.digests[relative] = hashlib.sha256(data).hexdigest()
        return data

    def run(self) -> VerifiedSession:
        self._only_files_and_directories()
        public_key = load_public_key(self.read(layout.PUBLIC_KEY), location=layout.PUBLIC_KEY)
        certificate, intermediates = signer_certificates(
            self.read, lambda relative: self.prefix + relative in self.keys
        )
        chain, last_signature = self._walk_chain(public_key, certificate, intermediates)
        self._no_strays(chain)
        # The witness's receipts: read raw, so they stay out of the SHA256SUMS comparison.
        witness = check_receipts(
            lambda relative: self.store.read_bytes(self.prefix + relative),
            {key[len(self.prefix) :] for key in self.keys},
            self.session_id,
            chain.length,
            self.trust.witness_keys,
        )
        manifest = self._check_manifest(public_key, chain, last_signature)
        stamps, unchecked = self._check_tokens(manifest)
        return VerifiedSession(
            session_id=self.session_id,
            signer=self.signer_subject,
            algorithm=manifest.signer.algorithm,
            chain_length=chain.length,
            head=chain.head,
            segments=len(chain.segments),
            media_bytes=sum(s.size for s in chain.segments),
            duration_us=manifest.duration_us,
            started_at=manifest.started_at,
            ended_at=manifest.ended_at,
            interrupted=manifest.interrupted,
            witness=witness,
            time_stamps=tuple(stamps),
            unchecked_time_stamps=unchecked,
            clock_marks=tuple(self.clock_marks),
            recovered_at=manifest.recovered_at,
        )

    def _walk_chain(
        self,
        public_key: PublicKey,
        certificate: x509.Certificate | None,
        intermediates: list[x509.Certificate],
    ) -> tuple[ChainState, bytes]:
        # Segments are hashed by worker threads (hashlib releases the GIL) while this thread
        # walks the chain; their results are checked in chain order, so the failure reported
        # is still the first one.
        pending: list[tuple[SegmentRef, Future[tuple[int, str]]]] = []
        with ThreadPoolExecutor(max_workers=HASH_WORKERS) as pool:
            try:
                chain, signature = self._walk_links(
                    public_key, certificate, intermediates, pool, pending
                )
            except VerificationError:
                self._check_segments(pending)
                raise
            self._check_segments(pending)
        return chain, signature

    def _walk_links(
        self,
        public_key: PublicKey,
        certificate: x509.Certificate | None,
        intermediates: list[x509.Certificate],
        pool: ThreadPoolExecutor,
        pending: list[tuple[SegmentRef, Future[tuple[int, str]]]],
    ) -> tuple[ChainState, bytes]:
        chain = ChainState(self.session_id)
        signature = b""
        while self.prefix + layout.link_name(chain.length) in self.keys:
            seq = chain.length
            where = layout.link_name(seq)
            body = self.read(where)
            if self.prefix + layout.link_sig_name(seq) not in self.keys:
                if self._is_last_link(seq) and self.prefix + layout.MANIFEST not in self.keys:
                    raise IncompleteError(
                        Reason(
                            "last_link_never_signed",
                            "the last link was never signed (cut off while sealing); run "
                            "`sealroom recover`",
                        ),
                        location=where,
                    )
                raise TamperedError(
                    Reason("signature_missing", "signature missing"),
                    location=layout.link_sig_name(seq),
                )
            signature = self.read(layout.link_sig_name(seq))
            verify_signature(public_key, signature, body, location=where)
            link = Link.parse(body, location=where)
            chain.apply(link, body)
            self.link_times.append(link.time)
            if link.event is not None and link.event.type is EventType.CLOCK_SKEW:
                self.clock_marks.append(f"{where}: {link.event.reason}")
            if seq == 0:
                self._check_signer(chain, public_key, certificate, intermediates, link.time, body)
            if link.segment is not None:
                key = self.prefix + link.segment.path
                if key not in self.keys:
                    self._check_segments(pending)
                    raise TamperedError(
                        Reason(
                            "segment_missing_deleted_renamed",
                            "segment missing (deleted or renamed)",
                        ),
                        location=link.segment.path,
                    )
                pending.append((link.segment, pool.submit(self._digest_object, key)))
        if chain.length == 0:
            signer_files = {self.prefix + name for name in SIGNER_FILES}
            if self.keys <= signer_files:  # the writer stores these first, then link 0
                raise IncompleteError(
                    Reason(
                        "missing_session_holds_signer",
                        "missing: the session holds only its signer's files (cut off before its "
                        "first link was written)",
                    ),
                    location=layout.link_name(0),
                )
            raise TamperedError(
                Reason(
                    "missing_session_s_first",
                    "missing: the session's first link is gone, while {key_count} other object(s) "
                    "of the session remain",
                    key_count=len(self.keys),
                ),
                location=layout.link_name(0),
            )
        return chain, signature

    def _is_last_link(self, seq: int) -> bool:
        return self.prefix + layout.link_name(seq + 1) not in self.keys

    def _check_signer(
        self,
        chain: ChainState,
        public_key: PublicKey,
        certificate: x509.Certificate | None,
        intermediates: list[x509.Certificate],
        started: str,
        link0: bytes,
    ) -> None:
        assert chain.signer is not None
        tsa_time = self._start_tsa_time(link0)
        try:
            self.signer_subject = check_signer(
                chain.signer,
                public_key,
                certificate,
                intermediates,
                self.trust,
                tsa_time or parse_utc(started),
            )
        except UntrustedSignerError as exc:
            if tsa_time is None:
                raise
            raise UntrustedSignerError(
                Reason(
                    "reason_time_stamp_authority",
                    "{reason} (the time-stamp authority's time for the session's start, "
                    "{link_name}; the device claims {started})",
                    reason=exc.reason,
                    link_name=token_name(layout.link_name(0)),
                    started=started,
                ),
                location=exc.location,
            ) from exc

    def _start_tsa_time(self, link0: bytes) -> datetime | None:
        """The authority's time for link 0, when its token is there and can be checked."""
        name = layout.link_name(0)
        if self.tokens is None or self.prefix + token_name(name) not in self.keys:
            return None
        return self._tsa_time(name, link0)

    def _tsa_time(self, name: str, data: bytes | None = None) -> datetime:
        """Check the token beside ``name`` (once: link 0's is checked early, for the
        certificate) and return the authority's time. A token is not sealed: no digest."""
        assert self.tokens is not None
        token = token_name(name)
        if token not in self.checked_tokens:
            data = self.store.read_bytes(self.prefix + name) if data is None else data
            raw = self.store.read_bytes(self.prefix + token)
            self.checked_tokens[token] = self.tokens(data, raw, location=token)
        return self.checked_tokens[token]

    def _check_tokens(self, manifest: Manifest) -> tuple[list[StampedTime], int]:
        """Every token beside a link or the manifest, in the chain's order; without a way
        to check them, how many there are."""
        stamped = [(layout.link_name(seq), time) for seq, time in enumerate(self.link_times)]
        stamped.append((layout.MANIFEST, manifest.ended_at))

        def present(token: str) -> bool:
            return self.prefix + token in self.keys

        if self.tokens is None:
            return [], sum(present(token_name(name)) for name, _ in stamped)
        return check_tokens(stamped, present, self._tsa_time), 0

    def _digest_object(self, key: str) -> tuple[int, str]:
        return digest_object(self.store, key, self.progress)

    def _check_segments(self, pending: list[tuple[SegmentRef, Future[tuple[int, str]]]]) -> None:
        """Check hashed segments in chain order; raise at the first that does not match."""
        for segment, future in pending:
            relative = segment.path
            seen, digest = future.result()
            if seen != segment.size:
                raise TamperedError(
                    Reason(
                        "segment_size_bytes_chain",
                        "segment is {seen} bytes, the chain sealed {size} ({extended})",
                        seen=seen,
                        size=segment.size,
                        extended="truncated" if seen < segment.size else "extended",
                    ),
                    location=relative,
                )
            if digest != segment.sha256:
                raise TamperedError(
                    Reason(
                        "segment_content_does_match",
                        "segment content does not match its sealed SHA-256 (altered or replaced)",
                    ),
                    location=relative,
                )
            self.digests[relative] = digest
        pending.clear()

    def _only_files_and_directories(self) -> None:
        """Before anything is read (format section 8, step 0): a symbolic link, pipe, socket
        or device is never part of a session, and a name with a control character could read
        as another file's in a message (a line break makes one name look like two)."""
        irregular = irregular_entries(self.store, self.prefix)
        names = sorted({key[len(self.prefix) :] for key in self.keys | dict(irregular).keys()})
        for relative in names:
            named = layout.first_control_name(relative)
            if named is not None:
                raise TamperedError(
                    Reason(
                        "name_line_break_another",
                        "a name with a line break or another control character is never part of a "
                        "session",
                    ),
                    location=layout.shown_name(named),
                )
        for key, what in irregular:
            raise TamperedError(
                Reason(
                    "what_regular_file_session",
                    "{what}, not a regular file: a session holds only files and directories, and "
                    "a link is never followed",
                    what=what,
                ),
                location=layout.shown_name(key[len(self.prefix) :]),
            )

    def _no_strays(self, chain: ChainState) -> None:
        expected = set(self.digests) | SEALING_FILES
        expected |= {layout.link_sig_name(i) for i in range(chain.length)}
        # A token beside a link or the manifest: checked last, against the file it stamps.
        expected |= {token_name(layout.link_name(i)) for i in range(chain.length)}
        expected.add(token_name(layout.MANIFEST))
        for key in sorted(self.keys):
            relative = key[len(self.prefix) :]
            if relative in expected or is_witness_file(relative):  # receipts: check_receipts
                continue
            if relative in _next_segments(chain) and not chain.terminal:
                raise IncompleteError(
                    Reason(
                        "segment_stored_never_chained",
                        "a segment was stored but never chained (cut off while sealing); run "
                        "`sealroom recover`",
                    ),
                    location=relative,
                )
            raise TamperedError(
                Reason(
                    "object_part_sealed_chain",
                    "object is not part of the sealed chain (added, duplicated or spliced in, or "
                    "left over after a link before it was removed)",
                ),
                location=layout.shown_name(relative),
            )

    def _check_manifest(
        self, public_key: PublicKey, chain: ChainState, last_signature: bytes
    ) -> Manifest:
        if self.prefix + layout.MANIFEST not in self.keys:
            if chain.terminal:
                raise IncompleteError(
                    Reason(
                        "session_ended_manifest_never",
                        "the session ended but its manifest was never written; run `sealroom "
                        "recover`",
                    ),
                    location=layout.MANIFEST,
                )
            state = "still recording" if chain.state is not SessionState.NEW else "empty"
            raise IncompleteError(
                Reason(
                    "sealed_chain_intact_up",
                    "not sealed: the chain is intact up to link {length} but the session is "
                    "{state} or was cut off; run `sealroom recover` if it is not recording",
                    length=chain.length - 1,
                    state=state,
                ),
                location=layout.MANIFEST,
            )
        body = self.read(layout.MANIFEST)
        if self.prefix + layout.MANIFEST_SIG not in self.keys:  # signed last, when sealing
            raise IncompleteError(
                Reason(
                    "missing_seal_cut_off",
                    "missing: the seal was cut off before the manifest was signed (or the "
                    "signature removed); run `sealroom recover`",
                ),
                location=layout.MANIFEST_SIG,
            )
        verify_signature(public_key, self.read(layout.MANIFEST_SIG), body, location=layout.MANIFEST)
        # Read as canonical JSON of a version 1 manifest, then compared with the manifest the
        # chain implies, byte for byte: equal bytes make every field valid, so nothing is
        # judged by a re-serialisation, and the export's verify.py can check the same way.
        document = parse_canonical(body, location=layout.MANIFEST)
        if document.get("v") != 1 or document.get("type") != "sealroom.manifest":
            raise TamperedError(
                Reason("version_1_sealroom_manifest", "not a version 1 sealroom manifest"),
                location=layout.MANIFEST,
            )
        sealed = document["chain"] if isinstance(document.get("chain"), dict) else {}
        if not chain.terminal:
            raise TamperedError(
                Reason(
                    "manifest_seals_length_links",
                    "the manifest seals {length} links but the chain has only {length2} and does "
                    "not end: links were removed (head rolled back)",
                    length=sealed.get("length"),
                    length2=chain.length,
                ),
                location=layout.MANIFEST,
            )
        checksums = self._check_checksums(public_key)
        expected = chain.manifest(
            head_signature=last_signature, checksums_sha256=hashlib.sha256(checksums).hexdigest()
        )
        if sealed.get("length") != chain.length or sealed.get("head") != chain.head:
            raise TamperedError(
                Reason(
                    "manifest_seals_length_links_2",
                    "the manifest seals {length} links with head {head}…, the chain has {length2} "
                    "with head {head2}…: links were removed or replaced (head rolled back)",
                    length=sealed.get("length"),
                    head=str(sealed.get("head"))[:16],
                    length2=chain.length,
                    head2=chain.head[:16],
                ),
                location=layout.MANIFEST,
            )
        if body != manifest_bytes(expected):
            difference = first_difference(document, expected.to_document())
            field = difference.field if difference else "(whole document)"
            raise TamperedError(
                Reason(
                    "manifest_field_field_r",
                    "manifest field {field} does not match the chain",
                    field=repr(field),
                ),
                location=layout.MANIFEST,
            )
        return Manifest.parse(body, location=layout.MANIFEST)

    def _check_checksums(self, public_key: PublicKey) -> bytes:
        body = self.read(layout.CHECKSUMS)
        verify_signature(
            public_key, self.read(layout.CHECKSUMS_SIG), body, location=layout.CHECKSUMS
        )
        listed = {k: v for k, v in self.digests.items() if k not in SEALING_FILES}
        if body != checksums_text(listed):
            raise TamperedError(
                Reason(
                    "does_list_exactly_session",
                    "does not list exactly the session's files and their digests",
                ),
                location=layout.CHECKSUMS,
            )
        return body


def _next_segments(chain: ChainState) -> set[str]:
    """Where the segment a cut-off recorder was sealing would be: the next of the session,
    or of any of its tracks."""
    media = chain.media
    if media is None or not chain.passthrough:
        return {layout.segment_path(len(chain.segments))}
    tracks = [t.id for t in getattr(media, "tracks", [])]
    return {layout.segment_path(chain.next_index(track), track) for track in tracks}


def verify_session(
    store: EvidenceReader,
    session_id: str,
    trust: TrustStore,
    *,
    progress: Progress | None = None,
    tokens: TokenCheck | None = None,
) -> VerifiedSession:
    """Verify one session completely. Raises VerificationError (or a subclass) at the first
    failure; returns what was verified otherwise.

    ``tokens`` checks time-stamp tokens (``evidence_store.timestamping.TokenVerifier``, built
    from the authority's root); without it, tokens are counted as unchecked, and the
    certificate is checked at the device's time."""
    layout.check_session_id(session_id)
    return _Verification(store, session_id, trust, progress, tokens).run()
