"""Recovering a passthrough session: every track's cut-off segment, on its own.

Each track has at most one segment in flight when the recorder dies (``kill -9``, a power
cut), so at most that segment per track is lost, and recovery saves what of it decodes. A
track's segments do not always follow each other (an outage leaves a gap), so the start of
each segment being written is kept beside it (``recorder.passthrough.sidecar``); its length is
read from the file's own timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evidence_store import (
    READ_ONLY,
    SegmentRef,
    SessionState,
    SessionWriter,
    TrackedMedia,
    layout,
    publish_once,
)
from recorder.passthrough import read_start
from recorder.recovery.salvage import media_duration_us, salvage_segment


@dataclass(frozen=True, slots=True)
class TrackRecovery:
    """What recovery did for one track."""

    track: str
    linked: SegmentRef | None  # stored but not chained at the crash; chained now
    salvaged: SegmentRef | None  # the decodable part of the segment in flight, sealed now
    kept: Path | None  # an in-flight file that held nothing decodable, left in place


def recover_tracks(writer: SessionWriter) -> list[TrackRecovery]:
    """Chain each track's stored-but-unchained segment and seal what decodes of each track's
    segment in flight (only while the chain is recording: none may be chained otherwise)."""
    media = writer.chain.media
    assert isinstance(media, TrackedMedia)
    done = []
    for track in media.tracks:
        linked = _chain_stored(writer, track.id)
        salvaged, kept = _salvage(writer, track.id)
        if linked or salvaged or kept:
            done.append(TrackRecovery(track.id, linked, salvaged, kept))
    return done


def describe(recoveries: list[TrackRecovery]) -> list[str]:
    """What was saved, one note per track, for the session's end reason."""
    notes = []
    for r in recoveries:
        if r.linked is not None:
            notes.append(f"track {r.track}: segment {r.linked.name} chained on recovery")
        if r.salvaged is not None:
            notes.append(
                f"track {r.track}: salvaged {r.salvaged.duration_us / 1e6:.2f} s of the "
                f"unfinished segment {r.salvaged.name}"
            )
        if r.kept is not None:
            notes.append(
                f"track {r.track}: the unfinished segment {r.kept.name} held nothing "
                "decodable and is kept in flight for inspection"
            )
    return notes


def _start_us(writer: SessionWriter, track: str, file: Path) -> int:
    earlier = writer.chain.tracks.get(track, [])
    end = earlier[-1].end_us if earlier else 0
    return max(end, read_start(file) or end)


def _chain_stored(writer: SessionWriter, track: str) -> SegmentRef | None:
    index = writer.published_unlinked_segment(track)
    if index is None:
        return None
    stored = writer.store.path(writer.prefix + layout.segment_path(index, track))
    inflight = writer.inflight_path(index, track)
    segment = writer.link_published_segment(
        index,
        duration_us=media_duration_us(stored),
        start_us=_start_us(writer, track, inflight),
        track=track,
    )
    if inflight.exists() and inflight.samefile(stored):
        inflight.unlink()  # a second name of the stored file, not a copy: nothing is lost
    return segment


def _salvage(writer: SessionWriter, track: str) -> tuple[SegmentRef | None, Path | None]:
    index = writer.chain.next_index(track)
    current = writer.inflight_path(index, track)
    partial = current.with_name(f"{index:06d}.partial.mp4")
    temp = current.with_name(f".{index:06d}.salvage.mp4")
    if not current.exists() and not partial.exists():
        return None, None
    if writer.chain.state is not SessionState.RECORDING:
        return None, current if current.exists() else partial
    if not (partial.exists() and current.exists()):  # else: salvaged, not yet sealed
        source = partial if partial.exists() else current
        if salvage_segment(source, temp) is None:
            return None, source  # left in place, untouched, for inspection
        if source == current:
            current.rename(partial)  # the original is kept, under a name sealing ignores
        publish_once(temp, current, mode=READ_ONLY)
    segment = writer.seal_segment(
        index,
        start_us=_start_us(writer, track, current),
        duration_us=media_duration_us(current),
        track=track,
    )
    return segment, None
