"""Writing a session: every segment and event becomes a signed link as soon as it exists.

A link is published (write-once, fsynced) and then signed; the head signature of the last
link is what a crash leaves behind, so everything sealed before a crash still verifies.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from evidence_store import layout
from evidence_store.canonical import canonical_json
from evidence_store.chain import ChainState, checksums_text, link_digest, manifest_bytes
from evidence_store.errors import SealroomError, TamperedError
from evidence_store.model import (
    Event,
    EventType,
    Link,
    Manifest,
    MediaInfo,
    SegmentRef,
    SessionMetadata,
)
from evidence_store.signing import DeviceSigner, public_key_pem
from evidence_store.store import FilesystemStore, sha256_file
from evidence_store.timefmt import format_utc, utc_now


class SessionStateError(SealroomError):
    """The requested change does not fit the session's state (e.g. resume while recording)."""

    exit_code = 2


class SessionWriter:
    """Appends links to one session's chain in a write-once store. Thread-safe."""

    def __init__(self, store: FilesystemStore, signer: DeviceSigner, session_id: str) -> None:
        self.store = store
        self.signer = signer
        self.session_id = layout.check_session_id(session_id)
        self.prefix = layout.session_prefix(session_id)
        self.chain = ChainState(session_id)
        self._digests: dict[str, str] = {}  # session-relative path -> sha256, for SHA256SUMS
        self._last_signature = b""
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls,
        store: FilesystemStore,
        signer: DeviceSigner,
        metadata: SessionMetadata,
        media: MediaInfo,
        *,
        session_id: str | None = None,
    ) -> SessionWriter:
        """Create a session: publish the signer's identity, then link 0 (session_started)."""
        writer = cls(store, signer, session_id or layout.new_session_id())
        writer._put(layout.PUBLIC_KEY, public_key_pem(signer.public_key))
        if (cert := signer.certificate_pem()) is not None:
            writer._put(layout.CERTIFICATE, cert)
        if (chain := signer.chain_pem()) is not None:
            writer._put(layout.CERT_CHAIN, chain)
        writer._append_event(
            Event(
                type=EventType.SESSION_STARTED, metadata=metadata, media=media, signer=signer.info()
            )
        )
        return writer

    @property
    def path(self) -> Path:
        return self.store.path(self.prefix.rstrip("/"))

    def inflight_path(self, index: int) -> Path:
        """Where the encoder writes segment ``index`` until it is sealed."""
        return self.store.inflight_dir(self.prefix) / layout.segment_name(index)

    def seal_segment(self, index: int, *, start_us: int, duration_us: int) -> SegmentRef:
        """Adopt the finished file for segment ``index`` into the store and chain it."""
        with self._lock:
            source = self.inflight_path(index)
            digest, size = sha256_file(source)
            relative = layout.segment_path(index)
            segment = SegmentRef(
                index=index,
                name=layout.segment_name(index),
                sha256=digest,
                size=size,
                start_us=start_us,
                duration_us=duration_us,
            )
            self._check(lambda probe: probe.apply_segment(segment, relative))
            self.store.put_file(self.prefix + relative, source)
            self._digests[relative] = digest
            self._append(
                Link(
                    session=self.session_id,
                    seq=self.chain.length,
                    prev=self.chain.head,
                    time=format_utc(utc_now()),
                    kind="segment",
                    segment=segment,
                )
            )
            return segment

    def pause(self, reason: str) -> None:
        self._event(Event(type=EventType.PAUSED, reason=reason))

    def resume(self, reason: str) -> None:
        self._event(Event(type=EventType.RESUMED, reason=reason))

    def device_lost(self, device: str, reason: str) -> None:
        self._event(Event(type=EventType.DEVICE_LOST, device=device, reason=reason))

    def device_restored(self, device: str) -> None:
        self._event(Event(type=EventType.DEVICE_RESTORED, device=device))

    def stop(self, reason: str) -> Manifest:
        """End the session with ``stopped`` and seal it."""
        self._event(Event(type=EventType.STOPPED, reason=reason))
        return self.seal()

    def interrupt(self, reason: str) -> Manifest:
        """End a session that was cut off (crash, power loss) and seal what it holds."""
        self._event(Event(type=EventType.INTERRUPTED, reason=reason))
        return self.seal()

    def seal(self) -> Manifest:
        """Write SHA256SUMS and the manifest, each with its detached signature."""
        with self._lock:
            checksums = checksums_text(self._digests)
            self._put(layout.CHECKSUMS, checksums, listed=False)
            self._put(layout.CHECKSUMS_SIG, self.signer.sign(checksums), listed=False)
            manifest = self.chain.manifest(
                head_signature=self._last_signature,
                checksums_sha256=hashlib.sha256(checksums).hexdigest(),
            )
            body = manifest_bytes(manifest)
            self._put(layout.MANIFEST, body, listed=False)
            self._put(layout.MANIFEST_SIG, self.signer.sign(body), listed=False)
            return manifest

    # -- internals -------------------------------------------------------------------------

    def _event(self, event: Event) -> None:
        with self._lock:
            self._append_event(event)

    def _append_event(self, event: Event) -> None:
        self._check(lambda probe: probe.apply_event(event, format_utc(utc_now()), "new event"))
        self._append(
            Link(
                session=self.session_id,
                seq=self.chain.length,
                prev=self.chain.head,
                time=format_utc(utc_now()),
                kind="event",
                event=event,
            )
        )

    def _check(self, rule: Callable[[ChainState], None]) -> None:
        """Try a change on a copy of the chain first, so a refused change writes nothing."""
        try:
            rule(self.chain.copy())
        except TamperedError as exc:
            raise SessionStateError(f"refused: {exc.reason}") from exc

    def _append(self, link: Link) -> None:
        body = canonical_json(link.to_document())
        name = layout.link_name(link.seq)
        self._put(name, body)
        signature = self.signer.sign(body)
        self._put(layout.link_sig_name(link.seq), signature)
        self.chain.apply(link, body)
        assert self.chain.head == link_digest(body)
        self._last_signature = signature

    def _put(self, relative: str, data: bytes, *, listed: bool = True) -> None:
        self.store.put_bytes(self.prefix + relative, data)
        if listed:
            self._digests[relative] = hashlib.sha256(data).hexdigest()
