"""What a session's signed chain seals for each segment, read only as far as it is needed.

A player asks for one segment at a time, and must know that segment's sealed SHA-256 and
size before it sends a byte. The values come from the segment's own link, accepted only
when its device signature holds, it follows the links before it by the chain's rules
(``ChainState``, the verifier's own), and the session's signer chains to the trust roots:
a link rewritten to seal other bytes fails its signature, and a session re-signed with
another key fails the trust check. Segment bytes are not hashed here (the caller compares
them with the values this returns).

The walk is kept, so a later question about a session still being recorded continues from
the last link read instead of starting again.
"""

from __future__ import annotations

from pydantic import ValidationError

from evidence_store import layout
from evidence_store.canonical import parse_canonical
from evidence_store.chain import ChainState
from evidence_store.errors import Reason, TamperedError
from evidence_store.model import Link, SegmentRef, first_error, stored
from evidence_store.signer_check import check_signer, signer_certificates
from evidence_store.signing import PublicKey, TrustStore, load_public_key, verify_signature
from evidence_store.store import EvidenceReader
from evidence_store.timefmt import parse_utc


class SealedSegments:
    """One session's sealed segments by index, as far as its signed links have been read.

    Not thread-safe: a caller sharing one between threads holds a lock around it."""

    def __init__(self, reader: EvidenceReader, session_id: str, trust: TrustStore) -> None:
        self.reader = reader
        self.session_id = session_id
        self.prefix = layout.session_prefix(session_id)
        self.trust = trust
        self._chain = ChainState(session_id)
        self._public_key: PublicKey | None = None
        self._sealed: dict[tuple[str | None, int], SegmentRef] = {}  # by (track, index)

    def segment(self, index: int, track: str | None = None) -> SegmentRef | None:
        """What the chain seals as segment ``index`` (of ``track``, in a passthrough
        session); None when no signed link (yet) seals it. Raises VerificationError
        (TamperedError, UntrustedSignerError) at the first link before it that fails; the
        links accepted so far stay accepted."""
        key = (track, index)
        while key not in self._sealed and not self._chain.terminal and self._next_link():
            pass
        return self._sealed.get(key)

    def _read(self, relative: str) -> bytes:
        if not self.reader.exists(self.prefix + relative):
            raise TamperedError(Reason("missing", "missing"), location=relative)
        return self.reader.read_bytes(self.prefix + relative)

    def _key(self) -> PublicKey:
        if self._public_key is None:
            self._public_key = load_public_key(
                self._read(layout.PUBLIC_KEY), location=layout.PUBLIC_KEY
            )
        return self._public_key

    def _next_link(self) -> bool:
        """Accept the next link; False when there is none yet (or its signature is not
        written yet: the writer signs a link just after storing it)."""
        seq = self._chain.length
        where = layout.link_name(seq)
        if not self.reader.exists(self.prefix + where):
            return False
        if not self.reader.exists(self.prefix + layout.link_sig_name(seq)):
            if self.reader.exists(self.prefix + layout.link_name(seq + 1)):
                raise TamperedError(
                    Reason("signature_missing", "signature missing"),
                    location=layout.link_sig_name(seq),
                )
            return False
        body = self._read(where)
        public_key = self._key()
        verify_signature(public_key, self._read(layout.link_sig_name(seq)), body, location=where)
        try:
            link = Link.model_validate(parse_canonical(body, location=where), context=stored())
        except ValidationError as exc:
            raise TamperedError(
                Reason("malformed_link_exc", "malformed link: {exc}", exc=first_error(exc)),
                location=where,
            ) from exc
        chain = self._chain.copy() if seq == 0 else self._chain  # apply() refuses atomically
        chain.apply(link, body)
        if seq == 0:
            self._check_signer(chain, public_key, link.time)
            self._chain = chain
        if link.segment is not None:
            self._sealed[(link.segment.track, link.segment.index)] = link.segment
        return True

    def _check_signer(self, chain: ChainState, public_key: PublicKey, started: str) -> None:
        assert chain.signer is not None  # the first link is session_started, which names it
        certificate, intermediates = signer_certificates(
            self._read, lambda relative: self.reader.exists(self.prefix + relative)
        )
        check_signer(
            chain.signer, public_key, certificate, intermediates, self.trust, parse_utc(started)
        )
