"""Writing a session: every segment and event becomes a signed link as soon as it exists.

A link is published (write-once, fsynced) and then signed; the head signature of the last
link is what a crash leaves behind, so everything sealed before a crash still verifies.

Each signed head (every link, and the seal) is handed to ``on_head`` in the same call that
wrote it, so that it can leave the box for the off-box witness. The writer does no network
I/O: the hook queues the head (``evidence_store.witnessing``), and a hook that fails is logged
and never stops the session. The time-stamp authority's stamps leave the same way
(``evidence_store.timestamping``).

Every time the writer puts into a link comes from ``clock``, the device's clock.

A stop asked for is written to the session's in-flight directory (``request_stop``) before
the recorder starts finishing its last segment, so that a kill while stopping keeps the
operator's reason: recovery ends the session with it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from evidence_store import layout
from evidence_store.canonical import canonical_json
from evidence_store.chain import ChainState, checksums_text, link_digest, manifest_bytes
from evidence_store.durable import PRIVATE, replace_atomically
from evidence_store.errors import (
    Reason,
    SealroomError,
    SigningError,
    TamperedError,
    UnknownSessionError,
)
from evidence_store.failpoints import failpoint
from evidence_store.model import (
    DeviceStats,
    Event,
    EventType,
    Link,
    Manifest,
    MediaInfo,
    SegmentRef,
    SessionMetadata,
    TrackedMedia,
)
from evidence_store.signing import DeviceSigner, public_key_pem, verify_signature
from evidence_store.store import FilesystemStore, sha256_file
from evidence_store.timefmt import format_utc, utc_now

WRITER_LOCK = ".writer.lock"
STOP_REQUEST = "stop-request.json"  # in the session's in-flight directory
RECOVERY_NOTES = "recovery.json"  # what a recovery did, in the session's in-flight directory
# What a session's in-flight directory holds that is bookkeeping, never media.
INFLIGHT_BOOKKEEPING = frozenset({WRITER_LOCK, STOP_REQUEST, RECOVERY_NOTES})
log = logging.getLogger("sealroom.evidence")


@dataclass(frozen=True)
class SignedHead:
    """A chain head the writer has just signed: a link's exact bytes (``seq``) or the
    manifest's (the seal, ``seq`` None), with the device's signature over them."""

    session_id: str
    kind: Literal["link", "seal"]
    seq: int | None
    data: bytes
    signature: bytes


HeadHook = Callable[[SignedHead], None]
WallClock = Callable[[], datetime]  # the device's clock: UTC, timezone-aware


def fan_out(*hooks: HeadHook | None) -> HeadHook | None:
    """One hook that hands each head to every one of ``hooks`` (the witness's queue, the
    time-stamp authority's), so that one failing never keeps a head from the others."""
    chosen = [hook for hook in hooks if hook is not None]
    if len(chosen) <= 1:
        return chosen[0] if chosen else None

    def each(head: SignedHead) -> None:
        for hook in chosen:
            try:
                hook(head)
            except Exception:
                log.exception("session %s: a head could not be queued", head.session_id)

    return each


class SessionStateError(SealroomError):
    """The requested change does not fit the session's state (e.g. resume while recording)."""

    exit_code = 2


class SessionBusyError(SealroomError):
    """Another live process is writing this session."""

    exit_code = 2


class SessionWriter:
    """Appends links to one session's chain in a write-once store. Thread-safe.

    While a writer is alive it holds an exclusive ``flock`` on the session's in-flight
    directory. The kernel drops the lock when the process dies, however it dies, so recovery
    can tell a crashed session from one that is still recording.
    """

    def __init__(
        self,
        store: FilesystemStore,
        signer: DeviceSigner,
        session_id: str,
        *,
        on_head: HeadHook | None = None,
        clock: WallClock = utc_now,
    ) -> None:
        self.store = store
        self.on_head = on_head
        self.clock = clock
        self.signer = signer
        self.session_id = layout.check_session_id(session_id)
        self.prefix = layout.session_prefix(session_id)
        self.chain = ChainState(session_id)
        self._digests: dict[str, str] = {}  # session-relative path -> sha256, for SHA256SUMS
        self._last_signature = b""
        self._lock = threading.Lock()
        self._session_lock: int | None = None

    def _hold_session_lock(self) -> None:
        path = self.store.inflight_dir(self.prefix) / WRITER_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise SessionBusyError(
                f"session {self.session_id} is being recorded by a live process"
            ) from exc
        self._session_lock = fd

    def close(self) -> None:
        """Release the session lock (the session itself is unchanged)."""
        if self._session_lock is not None:
            os.close(self._session_lock)
            self._session_lock = None

    @classmethod
    def start(
        cls,
        store: FilesystemStore,
        signer: DeviceSigner,
        metadata: SessionMetadata,
        media: MediaInfo | TrackedMedia,
        *,
        session_id: str | None = None,
        on_head: HeadHook | None = None,
        clock: WallClock = utc_now,
    ) -> SessionWriter:
        """Create a session: publish the signer's identity, then link 0 (session_started)."""
        writer = cls(
            store,
            signer,
            session_id or layout.new_session_id(clock()),
            on_head=on_head,
            clock=clock,
        )
        writer._hold_session_lock()
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

    @classmethod
    def reopen(
        cls,
        store: FilesystemStore,
        signer: DeviceSigner,
        session_id: str,
        *,
        on_head: HeadHook | None = None,
        clock: WallClock = utc_now,
    ) -> SessionWriter:
        """Pick up a session whose writer died: replay and check its chain, sign a last link
        that was published but not yet signed, and continue from its head.

        Raises SessionBusyError if a live process still writes it, and a VerificationError if
        what is stored does not check out (recovery never builds on tampered evidence).
        """
        writer = cls(store, signer, session_id, on_head=on_head, clock=clock)
        prefix = writer.prefix
        if not store.exists(prefix + layout.link_name(0)):
            raise UnknownSessionError(f"unknown session {session_id}")
        writer._hold_session_lock()
        try:
            writer._replay()
        except BaseException:
            writer.close()
            raise
        return writer

    def _replay(self) -> None:
        own_key = public_key_pem(self.signer.public_key)
        for name in (layout.PUBLIC_KEY, layout.CERTIFICATE, layout.CERT_CHAIN):
            if self.store.exists(self.prefix + name):
                data = self.store.read_bytes(self.prefix + name)
                self._digests[name] = hashlib.sha256(data).hexdigest()
                if name == layout.PUBLIC_KEY and data != own_key:
                    raise SigningError(
                        f"session {self.session_id} was signed by another "
                        "device key; recover it on its own appliance"
                    )
        while self.store.exists(self.prefix + layout.link_name(self.chain.length)):
            seq = self.chain.length
            body = self.store.read_bytes(self.prefix + layout.link_name(seq))
            link = Link.parse(body, location=layout.link_name(seq))
            sig_key = self.prefix + layout.link_sig_name(seq)
            if self.store.exists(sig_key):
                signature = self.store.read_bytes(sig_key)
                verify_signature(
                    self.signer.public_key, signature, body, location=layout.link_name(seq)
                )
            elif self.store.exists(self.prefix + layout.link_name(seq + 1)):
                raise TamperedError(
                    Reason("signature_missing", "signature missing"),
                    location=layout.link_sig_name(seq),
                )
            else:  # the writer died between publishing the link and signing it
                signature = self.signer.sign(body)
                self.store.put_bytes(sig_key, signature)
                self._emit(SignedHead(self.session_id, "link", seq, body, signature))
            if link.segment is not None:
                relative = link.segment.path
                digest, _ = sha256_file(self.store.path(self.prefix + relative))
                if digest != link.segment.sha256:
                    raise TamperedError(
                        Reason("segment_does_match_link", "segment does not match its link"),
                        location=relative,
                    )
                self._digests[relative] = digest
            self.chain.apply(link, body)
            self._digests[layout.link_name(seq)] = hashlib.sha256(body).hexdigest()
            self._digests[layout.link_sig_name(seq)] = hashlib.sha256(signature).hexdigest()
            self._last_signature = signature

    @property
    def sealed(self) -> bool:
        return self.store.exists(self.prefix + layout.MANIFEST)

    def published_unlinked_segment(self, track: str | None = None) -> int | None:
        """The index of a segment (of ``track``) that reached the store but not the chain (a
        crash between the two steps of sealing), if there is one."""
        index = self.chain.next_index(track)
        if self.store.exists(self.prefix + layout.segment_path(index, track)):
            return index
        return None

    def link_published_segment(
        self,
        index: int,
        *,
        duration_us: int,
        start_us: int | None = None,
        track: str | None = None,
    ) -> SegmentRef:
        """Chain a segment that is already in the store (see published_unlinked_segment). A
        composite segment starts where the timeline ends; a track's says where it starts."""
        with self._lock:
            stored = self.store.path(self.prefix + layout.segment_path(index, track))
            return self._chain_segment(
                index,
                stored,
                start_us=self.chain.next_segment_start_us if start_us is None else start_us,
                duration_us=duration_us,
                adopt=False,
                track=track,
            )

    @property
    def path(self) -> Path:
        return self.store.path(self.prefix.rstrip("/"))

    def inflight_path(self, index: int, track: str | None = None) -> Path:
        """Where the encoder writes segment ``index`` (of ``track``) until it is sealed."""
        directory = self.store.inflight_dir(self.prefix)
        if track is not None:
            directory = directory / track
            directory.mkdir(exist_ok=True)
        return directory / layout.segment_name(index)

    def seal_segment(
        self, index: int, *, start_us: int, duration_us: int, track: str | None = None
    ) -> SegmentRef:
        """Adopt the finished file for segment ``index`` (of ``track``) into the store and
        chain it."""
        with self._lock:
            return self._chain_segment(
                index,
                self.inflight_path(index, track),
                start_us=start_us,
                duration_us=duration_us,
                adopt=True,
                track=track,
            )

    def _chain_segment(
        self,
        index: int,
        file: Path,
        *,
        start_us: int,
        duration_us: int,
        adopt: bool,
        track: str | None = None,
    ) -> SegmentRef:
        """Hash ``file``, check the segment fits the chain, store it (if ``adopt``), link it."""
        digest, size = sha256_file(file)
        segment = SegmentRef(
            index=index,
            name=layout.segment_name(index),
            sha256=digest,
            size=size,
            start_us=start_us,
            duration_us=duration_us,
            track=track,
        )
        relative = segment.path
        self._check(lambda probe: probe.apply_segment(segment, relative))
        if adopt:
            self.store.put_file(self.prefix + relative, file)
        self._digests[relative] = digest
        self._append(
            Link(
                session=self.session_id,
                seq=self.chain.length,
                prev=self.chain.head,
                time=self._link_time(),
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

    def clock_corrected(self, device: str, reason: str) -> None:
        """Record that ``device``'s clock was corrected (how, in ``reason``)."""
        self._event(Event(type=EventType.CLOCK_CORRECTED, device=device, reason=reason))

    def note(self, reason: str, *, device: str | None = None) -> None:
        """Put something on the record that is neither an event of the session nor a fault."""
        self._event(Event(type=EventType.NOTE, reason=reason, device=device))

    def device_stats(self, stats: list[DeviceStats]) -> None:
        """Record what each device delivered; the manifest carries the last of these."""
        self._event(Event(type=EventType.DEVICE_STATS, stats=stats))

    def clock_skew(self, reason: str) -> None:
        """Mark on the record that the device's clock disagreed with a time-stamp authority.
        Refused (SessionStateError) once the session has ended."""
        self._event(Event(type=EventType.CLOCK_SKEW, reason=reason))

    def request_stop(self, reason: str) -> None:
        """Put the stop's reason on disk, flushed, before the stop is carried out: a kill
        while the last segment is finished then keeps it (see ``stop_requested``). A note
        that cannot be written (a full disk) never holds the stop up."""
        document = {"reason": reason, "requested_at": format_utc(self.clock())}
        try:
            path = self.store.inflight_dir(self.prefix) / STOP_REQUEST
            replace_atomically(path, canonical_json(document), mode=PRIVATE)
        except OSError as exc:
            log.error("session %s: the stop's reason could not be noted: %s", self.session_id, exc)
        failpoint("stop:requested")

    def stop_requested(self) -> tuple[str, str] | None:
        """(reason, when) of a stop asked for and written down, if there is one."""
        path = self.store.root / self.store.INFLIGHT / self.prefix.rstrip("/") / STOP_REQUEST
        try:
            document = json.loads(path.read_bytes())
            return str(document["reason"]), str(document["requested_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def stop(self, reason: str) -> Manifest:
        """End the session with ``stopped`` and seal it."""
        self._event(Event(type=EventType.STOPPED, reason=reason))
        failpoint("writer:ended")
        return self.seal()

    def interrupt(self, reason: str, *, ended_at: str | None = None) -> Manifest:
        """End a session that was cut off (crash, power loss) and seal what it holds.

        ``ended_at`` is when the recording was cut off (its last sealed media); the link's own
        time is now, when recovery seals it. It is capped at now: a cut-off never follows
        its own recovery.
        """
        with self._lock:
            now = self._link_time()
            cut_off = None if ended_at is None else min(ended_at, now)
            self._append_event(
                Event(type=EventType.INTERRUPTED, reason=reason, ended_at=cut_off), time=now
            )
        failpoint("writer:ended")
        return self.seal()

    def seal(self) -> Manifest:
        """Write SHA256SUMS and the manifest, each with its detached signature.

        Sealing may be resumed after a crash part-way through: a file already written is
        accepted if it is exactly what would be written now.
        """
        with self._lock:
            # A writer that died mid-write may have left its temporary among the objects (the
            # store now stages writes elsewhere): it is no evidence, and the session holds only
            # what is sealed. This writer holds the session, so no other write is under way.
            for leftover in self.store.unfinished_writes(self.prefix):
                self.store.path(leftover).unlink(missing_ok=True)
            checksums = checksums_text(self._digests)
            self._put_signed(layout.CHECKSUMS, layout.CHECKSUMS_SIG, checksums)
            failpoint("seal:checksums")
            manifest = self.chain.manifest(
                head_signature=self._last_signature,
                checksums_sha256=hashlib.sha256(checksums).hexdigest(),
            )
            body = manifest_bytes(manifest)
            signature = self._put_signed(layout.MANIFEST, layout.MANIFEST_SIG, body)
        self._emit(SignedHead(self.session_id, "seal", None, body, signature))
        self.close()
        return manifest

    def _put_signed(self, name: str, sig_name: str, body: bytes) -> bytes:
        key = self.prefix + name
        if not self.store.exists(key):
            self.store.put_bytes(key, body)
            failpoint(f"seal:{name}")
        elif self.store.read_bytes(key) != body:
            raise TamperedError(
                Reason("differs_from_what_chain", "differs from what the chain implies"),
                location=name,
            )
        if self.store.exists(self.prefix + sig_name):
            signature = self.store.read_bytes(self.prefix + sig_name)
            verify_signature(self.signer.public_key, signature, body, location=name)
        else:
            signature = self.signer.sign(body)
            self.store.put_bytes(self.prefix + sig_name, signature)
        return signature

    def _emit(self, head: SignedHead) -> None:
        """Hand a signed head to ``on_head``; its failure is logged, never raised: the
        session goes on, and the witness gets the head with the next one (it asks for what
        it lacks)."""
        if self.on_head is None:
            return
        try:
            self.on_head(head)
        except Exception:
            log.exception(
                "session %s: the head could not be queued for the witness", head.session_id
            )

    # -- internals -------------------------------------------------------------------------

    def _event(self, event: Event) -> None:
        with self._lock:
            self._append_event(event)

    def _append_event(self, event: Event, *, time: str | None = None) -> None:
        now = time or self._link_time()
        self._check(lambda probe: probe.apply_event(event, now, "new event"))
        self._append(
            Link(
                session=self.session_id,
                seq=self.chain.length,
                prev=self.chain.head,
                time=now,
                kind="event",
                event=event,
            )
        )

    def _link_time(self) -> str:
        """Now on the device's clock, or the previous link's time if that clock has stepped
        back (NTP, an operator's correction): link times never go backwards, and recording
        never stops for a clock. The link keeps that time until the clock passes it again."""
        now = format_utc(self.clock())
        last = self.chain.last_time
        if last is not None and now < last:
            log.warning(
                "session %s: the clock stepped back to %s, before the last link's %s; "
                "the link keeps %s",
                self.session_id,
                now,
                last,
                last,
            )
            return last
        return now

    def _check(self, rule: Callable[[ChainState], None]) -> None:
        """Try a change on a copy of the chain first, so a refused change writes nothing."""
        try:
            rule(self.chain.copy())
        except TamperedError as exc:
            raise SessionStateError(f"refused: {exc.reason}") from exc

    def _append(self, link: Link) -> None:
        body = canonical_json(link.to_document())
        self._check(lambda probe: probe.apply(link, body))  # refuse before writing anything
        name = layout.link_name(link.seq)
        self._put(name, body)
        signature = self.signer.sign(body)
        self._put(layout.link_sig_name(link.seq), signature)
        self.chain.apply(link, body)
        assert self.chain.head == link_digest(body)
        self._last_signature = signature
        self._emit(SignedHead(self.session_id, "link", link.seq, body, signature))

    def _put(self, relative: str, data: bytes) -> None:
        self.store.put_bytes(self.prefix + relative, data)
        self._digests[relative] = hashlib.sha256(data).hexdigest()
