"""Finishing the sessions whose recorder died: SIGKILL, a crash, a power cut.

A session is unfinished while it has no manifest signature (the last file sealing writes). For
each one whose writer is gone (its ``flock`` is free; a live one is skipped), recovery:

1. reopens it: ``SessionWriter.reopen`` replays and checks the whole chain and signs a last
   link that was published but never signed. Evidence that does not check out is refused,
   never built on;
2. chains a segment that reached the store but not the chain;
3. salvages the decodable part of the segment that was in flight into a new segment and
   seals it. The partial file is kept in the session's in-flight directory (renamed
   ``NNNNNN.partial.mp4``); a 0-byte or undecodable one is left exactly where it is. Nothing
   is ever deleted;
4. ends the session with ``interrupted`` (a reason that says what was salvaged) and seals it;
   if the chain had already ended (a crash while sealing), it only finishes the seal. A stop
   the operator had asked for (``SessionWriter.request_stop``) gives its reason to the end.
   The session ends when its last sealed media ended (``ended_at``: the last link written
   before the cut-off, plus the media chained by recovery after it), not when recovery ran,
   which is recorded beside it (``recovered_at``).

Every step can be cut off by another crash and simply run again. What a step did to the
chain (a segment chained, a segment salvaged) is noted in the session's in-flight directory
(``recovery.json``) *before* it is done, so a run cut off after the step still says, when
it ends the session, what was chained or salvaged and from which file.

A segment file found both in flight and in the store, as the same file (a kill between the
two steps of ``publish_once``: link the new name, remove the old), is one file with two
names: chaining it removes the in-flight name, and nothing is lost. A file in flight that is
not the stored one is never removed.

A session that the custody log, the witness, the bucket or its own receipts record as sealed
is never recovered (``recorder.recovery.sealed``): its seal was removed, and sealing it again
would shorten the evidence with the device key. It is refused, with an alarm in the custody
log.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from evidence_store import (
    PRIVATE,
    READ_ONLY,
    RECOVERY_NOTES,
    DeviceSigner,
    FilesystemStore,
    HeadHook,
    MediaInfo,
    SealroomError,
    SegmentRef,
    SessionBusyError,
    SessionState,
    SessionWriter,
    WallClock,
    failpoint,
    format_utc,
    layout,
    parse_utc,
    publish_once,
    replace_atomically,
    utc_now,
)
from evidence_store.custody import CustodyLog
from recorder.media import US_PER_SECOND, segment_times
from recorder.recovery.salvage import count_video_frames, salvage_segment
from recorder.recovery.sealed import SealCheck, recorded_in_custody, sealed_elsewhere
from recorder.recovery.tracks import describe as describe_tracks
from recorder.recovery.tracks import recover_tracks

log = logging.getLogger("sealroom.recorder")

CUT_OFF = "the recorder stopped without ending the session (killed, crashed or lost power)"


@dataclass(frozen=True, slots=True)
class SalvagedSegment:
    """The part of the in-flight segment that was saved, sealed as segment ``index``."""

    index: int
    frames: int
    duration_us: int
    source_bytes: int


@dataclass(frozen=True, slots=True)
class RecoveredSession:
    session_id: str
    outcome: Literal["interrupted", "sealed"]  # sealed: the chain had ended; only sealed now
    reason: str  # the session's end reason as sealed
    ended_at: str  # when the recording ended (for a cut-off: its last sealed media)
    recovered_at: str | None  # when recovery sealed it, if it ended by being cut off
    segments: int
    head: str
    linked_segment: int | None  # stored but unchained at the crash, chained now
    salvaged: SalvagedSegment | None
    kept_partial: str | None  # an unfinished file kept in flight, for inspection
    milliseconds: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RefusedSession:
    session_id: str
    reason: str


@dataclass
class RecoveryReport:
    """What one recovery run found and did."""

    recovered: list[RecoveredSession] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # being recorded by a live process
    refused: list[RefusedSession] = field(default_factory=list)  # failed to check out
    empty: list[str] = field(default_factory=list)  # cut off before its first link
    milliseconds: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        return {
            "recovered": [r.as_dict() for r in self.recovered],
            "busy": self.busy,
            "refused": [asdict(r) for r in self.refused],
            "empty": self.empty,
            "milliseconds": self.milliseconds,
        }


def unfinished_sessions(store: FilesystemStore) -> list[str]:
    """Ids of the sessions in ``store`` whose seal was never completed, oldest first."""
    return [
        session_id
        for session_id in store.list_children(layout.SESSIONS)
        if layout.SESSION_ID_RE.fullmatch(session_id)
        and not store.exists(layout.session_prefix(session_id) + layout.MANIFEST_SIG)
    ]


def recover_unfinished(
    store: FilesystemStore,
    signer: DeviceSigner,
    custody: CustodyLog,
    *,
    actor: str,
    role: str,
    on_head: HeadHook | None = None,
    seal_checks: list[SealCheck] | None = None,
) -> RecoveryReport:
    """Recover every unfinished session that no live process is recording, and record each
    recovery (``record_recovered``) or refusal (``alarm``) in the custody log. ``on_head``
    gets the heads recovery signs (for the witness); a session the custody log, or one of
    ``seal_checks``, records as sealed already is refused with an alarm, never re-sealed."""
    started = time.monotonic()
    report = RecoveryReport()
    checks = [recorded_in_custody(custody), *(seal_checks or [])]

    def refuse(session_id: str, kind: str, reason: str) -> None:
        log.error("ALARM: session %s cannot be recovered: %s", session_id, reason)
        report.refused.append(RefusedSession(session_id, reason))
        custody.record(
            actor=actor,
            role=role,
            action="alarm",
            session_id=session_id,
            detail={"kind": kind, "reason": reason},
        )

    for session_id in unfinished_sessions(store):
        if not store.exists(layout.session_prefix(session_id) + layout.link_name(0)):
            report.empty.append(session_id)  # nothing recorded: there is no chain to end
            continue
        where = sealed_elsewhere(checks, session_id)
        if where is not None:
            refuse(
                session_id,
                "reseal_refused",
                f"not re-sealed: the session was sealed and its seal is gone from the box "
                f"({where}); look at what was removed",
            )
            continue
        try:
            recovered = recover_session(store, signer, session_id, on_head=on_head)
        except SessionBusyError:
            report.busy.append(session_id)
            continue
        except SealroomError as exc:
            refuse(session_id, "recovery_refused", str(exc))
            continue
        report.recovered.append(recovered)
        custody.record(
            actor=actor,
            role=role,
            action="record_recovered",
            session_id=session_id,
            detail=custody_detail(recovered),
        )
    report.milliseconds = round((time.monotonic() - started) * 1000)
    return report


def recover_session(
    store: FilesystemStore,
    signer: DeviceSigner,
    session_id: str,
    *,
    on_head: HeadHook | None = None,
    clock: WallClock = utc_now,
) -> RecoveredSession:
    """Recover one session (see the module's docstring). Raises SessionBusyError if a live
    process records it, and a SealroomError if what is stored does not check out. ``clock``
    is the device's: the time of the links recovery writes."""
    started = time.monotonic()
    writer = SessionWriter.reopen(store, signer, session_id, on_head=on_head, clock=clock)
    try:
        notes = _Notes.read(writer)
        if writer.chain.terminal:  # it ended and was being sealed when the process died
            manifest = writer.seal()
            return RecoveredSession(
                session_id=session_id,
                outcome="sealed",
                reason=manifest.stop_reason,
                ended_at=manifest.ended_at,
                recovered_at=manifest.recovered_at,
                segments=len(manifest.segments),
                head=manifest.chain.head,
                linked_segment=notes.linked_segment,
                salvaged=notes.salvaged,
                kept_partial=None,
                milliseconds=_ms_since(started),
            )
        last_sealed = writer.chain.last_time
        media_before = writer.chain.next_segment_start_us
        if writer.chain.passthrough:
            tracks = recover_tracks(writer)
            kept = None
            reason = "; ".join([CUT_OFF, *describe_tracks(tracks)])
        else:
            chain_stored_segment(writer, notes)
            kept = _salvage_in_flight(writer, notes)
            reason = _interrupted_reason(
                notes.linked_segment, notes.salvaged, kept, writer.stop_requested()
            )
        assert last_sealed is not None  # reopen found link 0
        # The session ends at its last sealed media: for tracks, where the furthest one ends.
        recovered_media_us = max(0, writer.chain.next_segment_start_us - media_before)
        ended_at = parse_utc(last_sealed) + timedelta(microseconds=recovered_media_us)
        manifest = writer.interrupt(reason, ended_at=format_utc(ended_at))
    finally:
        writer.close()
    log.info("recovered session %s: %s", session_id, reason)
    return RecoveredSession(
        session_id=session_id,
        outcome="interrupted",
        reason=reason,
        ended_at=manifest.ended_at,
        recovered_at=manifest.recovered_at,
        segments=len(manifest.segments),
        head=manifest.chain.head,
        linked_segment=notes.linked_segment,
        salvaged=notes.salvaged,
        kept_partial=None if kept is None else kept.name,
        milliseconds=_ms_since(started),
    )


@dataclass
class _Notes:
    """What recovery did to the chain, kept in the session's in-flight directory so that a
    run cut off after a step still knows what the step did."""

    path: Path
    linked_segment: int | None = None
    salvaged: SalvagedSegment | None = None

    @classmethod
    def read(cls, writer: SessionWriter) -> _Notes:
        """The notes of earlier runs, keeping only what the chain shows was done."""
        notes = cls(writer.store.inflight_dir(writer.prefix) / RECOVERY_NOTES)
        try:
            document = json.loads(notes.path.read_bytes())
        except (OSError, ValueError):
            return notes
        chained = len(writer.chain.segments)
        linked = document.get("linked_segment")
        if isinstance(linked, int) and linked < chained:
            notes.linked_segment = linked
        salvaged = document.get("salvaged")
        if isinstance(salvaged, dict) and int(salvaged.get("index", chained)) < chained:
            notes.salvaged = SalvagedSegment(**salvaged)
        return notes

    def save(self) -> None:
        document = {
            "linked_segment": self.linked_segment,
            "salvaged": None if self.salvaged is None else asdict(self.salvaged),
        }
        replace_atomically(self.path, json.dumps(document).encode(), mode=PRIVATE)


def chain_stored_segment(writer: SessionWriter, notes: _Notes | None = None) -> SegmentRef | None:
    """Chain a segment that reached the store but not the chain (the writer was stopped
    between the two), with its length read from the file. None if there is none. With
    ``notes``, that it did so is noted first."""
    index = writer.published_unlinked_segment()
    if index is None:
        return None
    stored = writer.store.path(writer.prefix + layout.segment_path(index))
    frames = count_video_frames(stored)
    if notes is not None:
        notes.linked_segment = index
        notes.save()
    segment = writer.link_published_segment(index, duration_us=_duration_us(writer, frames))
    failpoint("recovery:linked")
    leftover = writer.inflight_path(index)
    if leftover.exists() and leftover.samefile(stored):
        leftover.unlink()  # a second name of the stored file, not a copy: nothing is lost
    return segment


def _salvage_in_flight(writer: SessionWriter, notes: _Notes) -> Path | None:
    """Seal what decodes of the unfinished segment (noted in ``notes``); returns the file
    kept unsalvaged, if there is one."""
    index = len(writer.chain.segments)
    current = writer.inflight_path(index)
    partial = current.with_name(f"{index:06d}.partial.mp4")
    temp = current.with_name(f".{index:06d}.salvage.mp4")
    if not current.exists() and not partial.exists():
        return None
    if writer.chain.state is not SessionState.RECORDING:
        return current if current.exists() else partial  # no segment may be chained
    if partial.exists() and current.exists():
        # An earlier recovery finished the salvage but was cut off before sealing it.
        frames, source_bytes = count_video_frames(current), partial.stat().st_size
    else:
        source = partial if partial.exists() else current
        result = salvage_segment(source, temp)
        if result is None:
            return source  # left in place, untouched, for inspection
        if source == current:
            current.rename(partial)  # the original is kept, under a name sealing ignores
        publish_once(temp, current, mode=READ_ONLY)  # never over a file found there
        failpoint("recovery:salvaged")
        frames, source_bytes = result.frames, result.source_bytes
    duration_us = _duration_us(writer, frames)
    notes.salvaged = SalvagedSegment(
        index=index, frames=frames, duration_us=duration_us, source_bytes=source_bytes
    )
    notes.save()
    writer.seal_segment(index, start_us=writer.chain.next_segment_start_us, duration_us=duration_us)
    failpoint("recovery:segment_sealed")
    return None


def _duration_us(writer: SessionWriter, frames: int) -> int:
    """The duration of ``frames`` frames appended to the session's timeline, rounded exactly
    as the recorder rounds it (``recorder.media.timeline.segment_times``)."""
    media = writer.chain.media
    assert isinstance(media, MediaInfo)  # link 0 is there, and it is a composite session
    start_us = writer.chain.next_segment_start_us
    first_frame = -(-start_us * media.fps // US_PER_SECOND)  # the frame that starts there
    return segment_times(first_frame, frames, fps=media.fps).duration_us


def _interrupted_reason(
    linked: int | None,
    salvaged: SalvagedSegment | None,
    kept: Path | None,
    stop: tuple[str, str] | None,
) -> str:
    notes = [CUT_OFF]
    if stop is not None:
        reason, requested_at = stop
        notes = [
            f"stopped by request ({reason}), asked for at {requested_at}; the recorder was "
            "cut off while stopping (killed, crashed or lost power)"
        ]
    if linked is not None:
        notes.append(
            f"segment {layout.segment_name(linked)} was stored but not yet chained; "
            "chained on recovery"
        )
    if salvaged is not None:
        notes.append(
            f"salvaged {salvaged.duration_us / US_PER_SECOND:.2f} s "
            f"({salvaged.frames} frames) of the unfinished segment "
            f"{salvaged.index:06d}"
        )
    if kept is not None:
        notes.append(
            f"the unfinished segment {kept.name} ({_size(kept)} bytes) held nothing "
            "decodable and is kept in flight for inspection"
        )
    return "; ".join(notes)


def custody_detail(recovered: RecoveredSession) -> dict[str, Any]:
    """The custody row's detail for a recovery (canonical JSON: integers only)."""
    detail: dict[str, Any] = {
        "outcome": recovered.outcome,
        "reason": recovered.reason,
        "ended_at": recovered.ended_at,
        "segments": recovered.segments,
        "head": recovered.head,
        "milliseconds": recovered.milliseconds,
    }
    if recovered.recovered_at is not None:
        detail["recovered_at"] = recovered.recovered_at
    if recovered.linked_segment is not None:
        detail["linked_segment"] = recovered.linked_segment
    if recovered.salvaged is not None:
        detail["salvaged"] = asdict(recovered.salvaged)
    if recovered.kept_partial is not None:
        detail["kept_partial"] = recovered.kept_partial
    return detail


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
