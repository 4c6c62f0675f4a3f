"""Replaying a session's hash chain: the rules every link must obey, and the manifest it implies.

The writer and the verifier share this code, so what is written is exactly what is checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum

from evidence_store.canonical import canonical_json
from evidence_store.errors import Reason, TamperedError
from evidence_store.layout import link_name
from evidence_store.model import (
    GENESIS_PREV,
    ChainSummary,
    DeviceOutage,
    DeviceStats,
    Event,
    EventType,
    Link,
    Manifest,
    MediaInfo,
    Note,
    Pause,
    SegmentRef,
    SessionMetadata,
    SignerInfo,
    TrackedMedia,
    TrackGap,
)


class SessionState(StrEnum):
    NEW = "new"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"


TERMINAL = {SessionState.STOPPED, SessionState.INTERRUPTED}


def link_digest(link_bytes: bytes) -> str:
    return hashlib.sha256(link_bytes).hexdigest()


@dataclass
class ChainState:
    """Everything the links so far establish. ``apply`` enforces the chain's rules."""

    session_id: str
    head: str = GENESIS_PREV
    length: int = 0
    state: SessionState = SessionState.NEW
    metadata: SessionMetadata | None = None
    media: MediaInfo | TrackedMedia | None = None
    signer: SignerInfo | None = None
    started_at: str | None = None
    ended_at: str | None = None
    recovered_at: str | None = None  # an interrupted session's recovery, when recorded
    end_reason: str | None = None
    last_time: str | None = None  # the newest link's time: no link may be earlier
    segments: list[SegmentRef] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    outages: list[DeviceOutage] = field(default_factory=list)
    lost_devices: set[str] = field(default_factory=set)
    # Tracks (passthrough sessions): each track's segments, in order.
    tracks: dict[str, list[SegmentRef]] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)  # clock_corrected per device
    notes: list[Note] = field(default_factory=list)
    stats: list[DeviceStats] | None = None

    @property
    def passthrough(self) -> bool:
        return isinstance(self.media, TrackedMedia)

    @property
    def next_segment_start_us(self) -> int:
        """Where the timeline ends so far: the next composite segment starts here, and a
        passthrough session's tracks resume here after a pause."""
        if self.passthrough:
            return max((s.end_us for s in self.segments), default=0)
        last = self.segments[-1] if self.segments else None
        return last.start_us + last.duration_us if last else 0

    def next_index(self, track: str | None) -> int:
        """The index the next segment (of ``track``) must have."""
        if track is None:
            return len(self.segments)
        return len(self.tracks.get(track, []))

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def copy(self) -> ChainState:
        return replace(
            self,
            segments=list(self.segments),
            pauses=list(self.pauses),
            outages=list(self.outages),
            lost_devices=set(self.lost_devices),
            tracks={track: list(segments) for track, segments in self.tracks.items()},
            corrections=dict(self.corrections),
            notes=list(self.notes),
            stats=None if self.stats is None else list(self.stats),
        )

    def apply(self, link: Link, link_bytes: bytes) -> None:
        """Check ``link`` follows the chain so far, then advance the chain past it."""
        where = link_name(self.length)
        if link.session != self.session_id:
            raise TamperedError(
                Reason(
                    "link_belongs_session_session",
                    "link belongs to session {session}, not {session_id}",
                    session=link.session,
                    session_id=self.session_id,
                ),
                location=where,
            )
        if link.seq != self.length:
            raise TamperedError(
                Reason(
                    "link_says_seq_seq",
                    "link says seq {seq} but is link {length} of the chain",
                    seq=link.seq,
                    length=self.length,
                ),
                location=where,
            )
        if link.prev != self.head:
            raise TamperedError(
                Reason(
                    "prev_does_match_hash",
                    "prev does not match the hash of the link before it: the chain is broken (a "
                    "link was removed, inserted, reordered or edited)",
                ),
                location=where,
            )
        if self.terminal:
            raise TamperedError(
                Reason(
                    "link_after_session_ended",
                    "link after the session ended ({state})",
                    state=self.state.value,
                ),
                location=where,
            )
        # Fixed-width UTC timestamps: text order is time order.
        if self.last_time is not None and link.time < self.last_time:
            raise TamperedError(
                Reason(
                    "link_time_time_before",
                    "link time {time} is before the previous link's {last_time}: link times never "
                    "go backwards",
                    time=link.time,
                    last_time=self.last_time,
                ),
                location=where,
            )
        if link.segment is not None:
            self.apply_segment(link.segment, where)
        elif link.event is not None:
            self.apply_event(link.event, link.time, where)
        self.head = link_digest(link_bytes)
        self.length += 1
        self.last_time = link.time

    def apply_segment(self, segment: SegmentRef, where: str) -> None:
        if self.state is not SessionState.RECORDING:
            raise TamperedError(
                Reason(
                    "segment_while_session_state",
                    "segment while the session is {state}",
                    state=self.state.value,
                ),
                location=where,
            )
        if isinstance(self.media, TrackedMedia):
            self._apply_track_segment(self.media, segment, where)
            return
        if segment.track is not None:
            raise TamperedError(
                Reason(
                    "segment_names_track_session",
                    "segment names a track, but the session records one composite picture",
                ),
                location=where,
            )
        if segment.index != len(self.segments):
            raise TamperedError(
                Reason(
                    "segment_index_index_where",
                    "segment index {index} where {segment_count} was expected",
                    index=segment.index,
                    segment_count=len(self.segments),
                ),
                location=where,
            )
        if segment.start_us != self.next_segment_start_us:
            raise TamperedError(
                Reason(
                    "segment_start_does_continue", "segment start does not continue the timeline"
                ),
                location=where,
            )
        self.segments.append(segment)

    def _apply_track_segment(self, media: TrackedMedia, segment: SegmentRef, where: str) -> None:
        """A track's segments are numbered 0, 1, 2, ... and never overlap; a gap between
        two (an outage, a wait for a keyframe) is allowed and shows in the manifest."""
        if segment.track is None or segment.track not in {t.id for t in media.tracks}:
            raise TamperedError(
                Reason(
                    "segment_unknown_track_track",
                    "segment of unknown track {track} (the session's tracks are {value})",
                    track=repr(segment.track),
                    value=", ".join(t.id for t in media.tracks),
                ),
                location=where,
            )
        earlier = self.tracks.setdefault(segment.track, [])
        if segment.index != len(earlier):
            raise TamperedError(
                Reason(
                    "segment_index_index_track",
                    "segment index {index} of track {track} where {earlier_count} was expected",
                    index=segment.index,
                    track=segment.track,
                    earlier_count=len(earlier),
                ),
                location=where,
            )
        if earlier and segment.start_us < earlier[-1].end_us:
            raise TamperedError(
                Reason(
                    "segment_starts_before_end",
                    "segment starts before the end of track {track}'s previous segment",
                    track=segment.track,
                ),
                location=where,
            )
        earlier.append(segment)
        self.segments.append(segment)

    def apply_event(self, event: Event, time: str, where: str) -> None:
        kind = event.type
        if self.terminal:
            raise TamperedError(
                Reason(
                    "kind_after_session_ended", "{kind} after the session ended", kind=kind.value
                ),
                location=where,
            )
        if (kind is EventType.SESSION_STARTED) != (self.state is SessionState.NEW):
            raise TamperedError(
                Reason(
                    "chain_must_open_exactly",
                    "the chain must open with exactly one session_started",
                ),
                location=where,
            )
        if kind is EventType.SESSION_STARTED:
            self.metadata, self.media, self.signer = event.metadata, event.media, event.signer
            self.started_at = time
            self.state = SessionState.RECORDING
        elif kind is EventType.PAUSED:
            self._require(SessionState.RECORDING, kind, where)
            assert event.reason is not None
            self.pauses.append(Pause(paused_at=time, reason=event.reason))
            self.state = SessionState.PAUSED
        elif kind is EventType.RESUMED:
            self._require(SessionState.PAUSED, kind, where)
            last = self.pauses[-1]
            self.pauses[-1] = last.model_copy(
                update={"resumed_at": time, "resume_reason": event.reason}
            )
            self.state = SessionState.RECORDING
        elif kind is EventType.DEVICE_LOST:
            assert event.device is not None and event.reason is not None
            if event.device in self.lost_devices:
                raise TamperedError(
                    Reason(
                        "device_device_lost_twice",
                        "device {device} lost twice",
                        device=event.device,
                    ),
                    location=where,
                )
            self.lost_devices.add(event.device)
            self.outages.append(
                DeviceOutage(device=event.device, lost_at=time, reason=event.reason)
            )
        elif kind is EventType.CLOCK_SKEW:
            # A mark on the record, changing nothing else: it may come while recording or
            # paused (the session's state is checked above: never before the start or after
            # the end).
            pass
        elif kind is EventType.DEVICE_RESTORED:
            assert event.device is not None
            if event.device not in self.lost_devices:
                raise TamperedError(
                    Reason(
                        "device_device_restored_never",
                        "device {device} restored but never lost",
                        device=event.device,
                    ),
                    location=where,
                )
            self.lost_devices.discard(event.device)
            for i in range(len(self.outages) - 1, -1, -1):
                if self.outages[i].device == event.device:
                    self.outages[i] = self.outages[i].model_copy(update={"restored_at": time})
                    break
        elif kind is EventType.CLOCK_CORRECTED:
            assert event.device is not None
            self.corrections[event.device] = self.corrections.get(event.device, 0) + 1
        elif kind is EventType.NOTE:
            assert event.reason is not None
            self.notes.append(Note(at=time, reason=event.reason, device=event.device))
        elif kind is EventType.DEVICE_STATS:
            assert event.stats is not None
            self._check_stats(event.stats, where)
            self.stats = list(event.stats)
        elif kind is EventType.INTERRUPTED:
            self._interrupted(event, time, where)
        else:  # STOPPED ends the session
            self.ended_at, self.end_reason = time, event.reason
            self.state = SessionState.STOPPED

    def _interrupted(self, event: Event, time: str, where: str) -> None:
        """A cut-off session ends at its last sealed media (``ended_at``), not when recovery
        ran (the link's time), which becomes ``recovered_at``."""
        assert self.started_at is not None
        if event.ended_at is None:  # recovered before the cut-off time was recorded
            self.ended_at = time
        elif not self.started_at <= event.ended_at <= time:
            raise TamperedError(
                Reason(
                    "interrupted_ended_outside_session",
                    "interrupted at {ended_at}, outside the session's start {started_at} and its "
                    "recovery {time}",
                    ended_at=event.ended_at,
                    started_at=self.started_at,
                    time=time,
                ),
                location=where,
            )
        else:
            self.ended_at, self.recovered_at = event.ended_at, time
        self.end_reason = event.reason
        self.state = SessionState.INTERRUPTED

    def _check_stats(self, stats: list[DeviceStats], where: str) -> None:
        """Each device once; the clock corrections counted under a device's name are the
        ones the chain records for it (a camera and a microphone may share a name)."""
        devices = [(s.kind, s.device) for s in stats]
        if len(set(devices)) != len(devices):
            raise TamperedError(
                Reason("device_stats_name_device", "device stats name a device twice"),
                location=where,
            )
        media = self.media
        tracks = {t.id for t in media.tracks} if isinstance(media, TrackedMedia) else set()
        for entry in stats:
            if entry.track is not None and entry.track not in tracks:
                raise TamperedError(
                    Reason(
                        "device_stats_device_name",
                        "device stats of {device} name unknown track {track}",
                        device=entry.device,
                        track=repr(entry.track),
                    ),
                    location=where,
                )
        for device in sorted({s.device for s in stats} | set(self.corrections)):
            counted = sum(s.clock_corrections for s in stats if s.device == device)
            chained = self.corrections.get(device, 0)
            if counted != chained:
                raise TamperedError(
                    Reason(
                        "device_stats_count_counted",
                        "device stats count {counted} clock corrections of {device}, the chain "
                        "records {chained}",
                        counted=counted,
                        device=device,
                        chained=chained,
                    ),
                    location=where,
                )

    def gaps(self) -> list[TrackGap]:
        """Each track's stretches without segments: before its first, and between two."""
        found: list[TrackGap] = []
        assert isinstance(self.media, TrackedMedia)
        for track in self.media.tracks:
            end = 0
            for segment in self.tracks.get(track.id, []):
                if segment.start_us > end:
                    found.append(TrackGap(track=track.id, from_us=end, to_us=segment.start_us))
                end = segment.end_us
        return found

    def _require(self, state: SessionState, kind: EventType, where: str) -> None:
        if self.state is not state:
            raise TamperedError(
                Reason(
                    "kind_while_session_state",
                    "{kind} while the session is {state}",
                    kind=kind.value,
                    state=self.state.value,
                ),
                location=where,
            )

    def manifest(self, *, head_signature: bytes, checksums_sha256: str) -> Manifest:
        """The manifest that seals this chain. Only an ended chain can be sealed."""
        if not self.terminal:
            raise ValueError("only a stopped or interrupted session can be sealed")
        assert self.metadata and self.media and self.signer and self.started_at
        assert self.ended_at and self.end_reason
        return Manifest(
            session=self.session_id,
            metadata=self.metadata,
            media=self.media,
            signer=self.signer,
            started_at=self.started_at,
            ended_at=self.ended_at,
            recovered_at=self.recovered_at,
            stop_reason=self.end_reason,
            interrupted=self.state is SessionState.INTERRUPTED,
            pauses=self.pauses,
            device_outages=self.outages,
            segments=self.segments,
            duration_us=self.next_segment_start_us,
            devices=self.stats,
            notes=self.notes or None,
            gaps=self.gaps() if self.passthrough else None,
            chain=ChainSummary(
                length=self.length, head=self.head, head_signature=head_signature.hex()
            ),
            checksums_sha256=checksums_sha256,
        )


def checksums_text(digests: dict[str, str]) -> bytes:
    """``sha256sum``-compatible listing (two spaces, sorted by path)."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items())).encode()


def manifest_bytes(manifest: Manifest) -> bytes:
    return canonical_json(manifest.to_document())
