"""One room's recorder as a long-running service: at most one session at a time, and every
state change written to disk, so a restart (even after ``kill -9``) knows what was going on.

On opening, the service takes the room (``recorder.start``: its lock, held for the service's
life, so that nothing else records the room meanwhile), then recovers every session a dead
recorder left unfinished: the session that was recording when the previous service died is
sealed as ``interrupted``, and the status says so. While recording, a watcher
notices a recorder that stopped itself (full disk) or failed, and finishes the session: a
failed one goes through the same recovery as a crash, so its partial segment is salvaged.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import cv2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidence_store import (
    PRIVATE,
    HeadHook,
    Manifest,
    SealroomError,
    SessionMetadata,
    SessionWriter,
    UsageError,
    failpoint,
    first_error,
    format_utc,
    replace_atomically,
    utc_now,
)
from evidence_store.index import read_manifest
from evidence_store.installation import DataDir
from recorder.alarms import record_alarm
from recorder.control import (
    AudioLevel,
    DeviceHealth,
    RecorderStatusView,
    RecoveredSessionView,
    ServiceState,
    SessionOutcome,
    StartRequest,
)
from recorder.errors import RecorderError, RecorderStateError
from recorder.recovery import RecoveryReport, custody_detail, recover_session
from recorder.room import RoomProfile, room_file
from recorder.room_recorder import RoomRecorder
from recorder.settings import RecorderSettings
from recorder.start import DeviceFactory, RecordingStarter
from recorder.status import RecorderState, RecorderStatus, SealTiming

log = logging.getLogger("sealroom.recorder")

HOLDER = "the recorder service"  # who holds the room, as a refusal names it
WATCH_SECONDS = 0.25
JPEG_QUALITY = 80
ROLE = "recorder"
WITNESS_FLUSH_SECONDS = 2.0  # on shutdown: a moment for the seal to reach the witness

T = TypeVar("T")


class ServiceStateError(RecorderStateError):
    """The request does not fit what the room is doing (e.g. start while recording)."""


class NoPictureError(RecorderStateError):
    """There is no picture to preview: the room is not recording yet."""


def registered_unit(room: str, profile: RoomProfile | None, named: str | None) -> str | None:
    """The unit room ``room`` is registered to: its profile's ``unit``, or the one the service
    was started with (``--unit``); the two must agree when both are given."""
    if profile is not None and profile.unit is not None:
        if named is not None and named != profile.unit:
            raise UsageError(
                f"room {room} is registered to unit {profile.unit!r} in its profile, not {named!r}"
            )
        return profile.unit
    if named is not None and not named.strip():
        raise UsageError("--unit takes a unit code")
    return named


def check_unit(room: str, unit: str | None, requested: str | None) -> None:
    """A request may name the room's own unit (the console does, to be sure), never another:
    a token holder must not file a session where the room does not belong."""
    if requested is None or requested == unit:
        return
    if unit is None:
        raise UsageError(
            f"room {room} has no registered unit (its profile's unit, or --unit), so a "
            f"session cannot be filed under {requested!r}"
        )
    raise UsageError(
        f"room {room} is registered to unit {unit!r}; a session cannot be filed under {requested!r}"
    )


class _StateFile(BaseModel):
    """What the service writes to ``<data_dir>/recorder/<room>.json`` at every change."""

    model_config = ConfigDict(extra="forbid")

    room: str
    state: ServiceState = "idle"
    session_id: str | None = None
    case_number: str | None = None
    started_at: str | None = None
    pid: int = 0
    updated_at: str = ""
    alarm: str | None = None
    last_session: SessionOutcome | None = None
    recovered: list[RecoveredSessionView] = Field(default_factory=list)


@dataclass
class _Live:
    """The session being recorded."""

    writer: SessionWriter
    recorder: RoomRecorder
    started_monotonic: float
    last_seal_monotonic: float | None = None


@dataclass
class RoomTotals:
    """What the service has recorded since it started, over all its sessions (metrics)."""

    sessions_started: int = 0
    segments_sealed: int = 0
    frames_dropped: int = 0
    frames_filled: int = 0
    silence_filled_seconds: float = 0.0
    last_seal_unix: float | None = None  # when the newest segment was sealed (time.time())


class RoomService:
    """The recorder of room ``room``, recording into ``data``. Thread-safe."""

    def __init__(
        self,
        *,
        data: DataDir,
        settings: RecorderSettings,
        room: str,
        profile: RoomProfile | None = None,
        unit: str | None = None,
        devices: DeviceFactory | None = None,
        backlog: Callable[[], dict[str, Any] | None] | None = None,
        catalog: HeadHook | None = None,
    ) -> None:
        if not room.strip() or len(room) > 200:
            raise UsageError("--room takes the room's id (1 to 200 characters)")
        self.room = room
        # The unit its sessions are filed under: the room's registration, never a request's.
        self.unit = registered_unit(room, profile, unit)
        self.settings = settings
        self.data = data
        self.actor = f"recorder:{room}@{socket.gethostname()}"
        self._starter = RecordingStarter(
            data=data,
            settings=settings,
            room=room,
            actor=self.actor,
            role=ROLE,
            profile=profile,
            devices=devices,
            catalog=catalog,
        )
        self.store, self.signer = self._starter.store, self._starter.signer
        self.custody, self.guard = self._starter.custody, self._starter.guard
        self.trusted_time = self._starter.trusted_time
        self._backlog = backlog
        self._state_path = state_file(data.root, room)
        self._lock = threading.RLock()
        self._state = _StateFile(room=room)
        self._live: _Live | None = None
        self._closing = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="room-watcher", daemon=True)
        self._ended = RoomTotals()  # sessions that ended
        self._last_seal_unix: float | None = None
        self._pause_reason: str | None = None  # the live session's, while it is paused
        self._seal_listeners: list[Callable[[SealTiming], None]] = []
        self._starter.on_seal = self._sealed

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> RecoveryReport:
        """Take the room, recover what a dead recorder left unfinished, start watching.
        RoomBusyError when another process records the room."""
        report = self._starter.take_room(HOLDER)
        self._starter.start_witness()  # heads leave within seconds, for the service's life
        previous = self._load_state()
        with self._lock:
            state = _StateFile(room=self.room)
            if previous is not None:
                state.last_session, state.alarm = previous.last_session, previous.alarm
                # The session the previous service was recording (or stopping, or whose
                # recovery was cut off) is the last one, however it was finished: by that
                # service, by the recovery just run, or by one before it.
                if previous.session_id is not None:
                    state.last_session = self._finished(previous.session_id) or state.last_session
            state.recovered = [
                RecoveredSessionView(session_id=r.session_id, reason=r.reason)
                for r in report.recovered
                if r.outcome == "interrupted"
            ]
            if self.custody.damage is not None:
                state.alarm = self._custody_alarm()
                record_alarm(
                    self.custody,
                    actor=self.actor,
                    role=ROLE,
                    session_id=None,
                    kind="custody_damaged",
                    reason=self._custody_alarm() or "",
                )
            if report.refused:
                state.alarm = "sessions that do not check out were left unrecovered: " + "; ".join(
                    f"{r.session_id}: {r.reason}" for r in report.refused
                )
            self._state = state
            self._save()
        self._watcher.start()
        return report

    def close(self, reason: str) -> None:
        """Stop a session in progress with ``reason``, then release the room."""
        self._closing.set()
        with self._lock:
            if self._live is not None:
                try:
                    self.stop(reason)
                except SealroomError as exc:  # left unfinished: recovered at the next start
                    log.error("could not stop the session on shutdown: %s", exc)
            self._starter.stop_witness(flush_seconds=WITNESS_FLUSH_SECONDS)
            self._starter.release_room()
        if self._watcher.is_alive():
            self._watcher.join(timeout=2)

    # -- control ---------------------------------------------------------------------------

    def start(self, request: StartRequest) -> RecorderStatusView:
        """Start a session. Refused, with nothing written, when one is already recording, a
        device is missing or the disk cannot hold ``max_session_seconds``."""
        with self._lock:
            if self._live is not None:
                raise ServiceStateError(
                    f"cannot start: session {self._live.writer.session_id} is being recorded"
                )
            try:
                check_unit(self.room, self.unit, request.unit)
                metadata = SessionMetadata(
                    case_number=request.case_number,
                    room=request.room or self.room,
                    unit=self.unit,
                    accused=request.accused,
                    investigators=request.investigators,
                    others_present=request.others_present,
                )
            except ValidationError as exc:
                raise UsageError(first_error(exc)) from exc
            recording = self._starter.start(metadata, seconds=self.settings.max_session_seconds)
            writer = recording.writer
            self._live = _Live(writer, recording.recorder, time.monotonic())
            self._ended.sessions_started += 1
            self._state.state, self._state.session_id = "recording", writer.session_id
            self._state.case_number = metadata.case_number
            self._state.started_at = format_utc(utc_now())
            self._state.alarm = None
            self._save()
            return self.status()

    def pause(self, reason: str) -> RecorderStatusView:
        with self._lock:
            live = self._require_live("pause")
            self._control(live, lambda: live.recorder.pause(reason))
            self._state.state = "paused"
            self._pause_reason = reason
            self._save()
            return self.status()

    def resume(self, reason: str) -> RecorderStatusView:
        with self._lock:
            live = self._require_live("resume")
            self._control(live, lambda: live.recorder.resume(reason))
            self._state.state = "recording"
            self._pause_reason = None
            self._save()
            return self.status()

    def stop(self, reason: str) -> SessionOutcome:
        """Stop and seal the session; returns how it ended."""
        with self._lock:
            live = self._require_live("stop")
            manifest = self._control(live, lambda: live.recorder.stop(reason))
            failpoint("service:sealed")
            self.custody.record(
                actor=self.actor,
                role=ROLE,
                action="record_sealed",
                session_id=live.writer.session_id,
                detail=_sealed_detail(manifest),
            )
            outcome = _outcome_of(manifest)
            self._went_idle(outcome)
            return outcome

    # -- what the room terminal and the metrics show ---------------------------------------

    def add_seal_listener(self, listener: Callable[[SealTiming], None]) -> None:
        """Hear of every segment sealed, with its timing (the seal-latency histogram)."""
        self._seal_listeners.append(listener)

    def totals(self) -> RoomTotals:
        """Counters over every session since the service started, the live one included."""
        with self._lock:
            totals = RoomTotals(**self._ended.__dict__)
            totals.last_seal_unix = self._last_seal_unix
            if self._live is not None:
                current = self._live.recorder.status()
                totals.segments_sealed += current.segments_sealed
                totals.frames_dropped += current.frames_dropped
                totals.frames_filled += current.frames_filled
                totals.silence_filled_seconds += current.silence_filled_seconds
            return totals

    def _add_to_totals(self, ended: RecorderStatus) -> None:
        self._ended.segments_sealed += ended.segments_sealed
        self._ended.frames_dropped += ended.frames_dropped
        self._ended.frames_filled += ended.frames_filled
        self._ended.silence_filled_seconds += ended.silence_filled_seconds

    def _sealed(self, timing: SealTiming) -> None:
        """On the encoder's thread, as each segment is sealed: no lock taken here."""
        self._last_seal_unix = time.time()
        live = self._live
        if live is not None:
            live.last_seal_monotonic = time.monotonic()
        for listener in self._seal_listeners:
            listener(timing)

    def status(self) -> RecorderStatusView:
        with self._lock:
            live, state = self._live, self._state
            view: dict[str, Any] = {
                "room": self.room,
                "unit": self.unit,
                "state": state.state,
                "alarm": state.alarm or self._custody_alarm(),
                "last_session": state.last_session,
                "recovered": state.recovered,
                "free_bytes": self._free_bytes(),
                "disk_total_bytes": self._total_bytes(),
                "backlog": None if self._backlog is None else self._backlog(),
                "last_sealed_at": _utc_of(self._last_seal_unix),
            }
            if live is not None:
                current = live.recorder.status()
                view.update(
                    session_id=live.writer.session_id,
                    case_number=state.case_number,
                    started_at=state.started_at,
                    elapsed_seconds=round(time.monotonic() - live.started_monotonic, 3),
                    last_seal_age_seconds=round(
                        time.monotonic() - (live.last_seal_monotonic or live.started_monotonic), 3
                    ),
                    media_seconds=current.media_seconds,
                    pause_reason=self._pause_reason if state.state == "paused" else None,
                    segments_sealed=current.segments_sealed,
                    frames_dropped=current.frames_dropped,
                    frames_filled=current.frames_filled,
                    silence_filled_seconds=current.silence_filled_seconds,
                    devices=[
                        DeviceHealth.model_validate(d, from_attributes=True)
                        for d in current.devices
                    ],
                    alarm=current.alarm or state.alarm or self._custody_alarm(),
                    error=current.error,
                )
            return RecorderStatusView.model_validate(view)

    def preview_jpeg(self) -> bytes:
        """The last recorded picture, as JPEG."""
        live = self._live
        if live is None:
            raise NoPictureError("no picture: the room is not recording")
        image = live.recorder.latest_frame()
        if image is None:
            raise NoPictureError("no picture yet: the first frame is still to come")
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RecorderError("the preview picture could not be encoded")
        return bytes(encoded.tobytes())

    def audio_level(self) -> AudioLevel:
        live = self._live
        devices = () if live is None else live.recorder.status().devices
        microphone = next((d for d in devices if d.kind == "microphone"), None)
        if microphone is None:
            return AudioLevel(device=None, dbfs=None, age_seconds=None)
        age = microphone.last_frame_age_seconds
        return AudioLevel(
            device=microphone.name,
            dbfs=microphone.audio_level_dbfs,
            age_seconds=None if age is None else round(age, 3),
        )

    # -- internals ---------------------------------------------------------------------------

    def _require_live(self, action: str) -> _Live:
        if self._live is None:
            raise ServiceStateError(f"cannot {action}: the room is not recording")
        return self._live

    def _control(self, live: _Live, action: Callable[[], T]) -> T:
        """Carry out a request; if the recorder has ended on its own meanwhile, finish the
        session first and say so."""
        try:
            return action()
        except RecorderError:
            if self._reap(live):
                raise ServiceStateError(
                    "the recording had already ended: " + (self._state.alarm or "see status")
                ) from None
            raise

    def _watch(self) -> None:
        while not self._closing.wait(WATCH_SECONDS):
            with self._lock:
                if self._live is not None:
                    try:
                        self._reap(self._live)
                    except Exception:  # the watcher must outlive any one failure
                        log.exception("finishing a stopped or failed session failed")

    def _reap(self, live: _Live) -> bool:
        """Finish a session whose recorder stopped itself or failed; True if it had."""
        current = live.recorder.status()
        session_id = live.writer.session_id
        if current.state is RecorderState.STOPPED and current.alarm is not None:
            live.recorder.close()
            record_alarm(
                self.custody,
                actor=self.actor,
                role=ROLE,
                session_id=session_id,
                kind="stopped_itself",
                reason=current.alarm,
            )
            manifest = read_manifest(self.store, session_id)
            self.custody.record(
                actor=self.actor,
                role=ROLE,
                action="record_sealed",
                session_id=session_id,
                detail=_sealed_detail(manifest),
            )
            self._went_idle(_outcome_of(manifest), alarm=current.alarm)
            return True
        if current.state is RecorderState.FAILED:
            live.recorder.close()
            live.writer.close()  # let recovery take the session, as after a crash
            reason = f"recording failed: {current.error}"
            record_alarm(
                self.custody,
                actor=self.actor,
                role=ROLE,
                session_id=session_id,
                kind="recording_failed",
                reason=reason,
            )
            recovered = recover_session(
                self.store, self.signer, session_id, on_head=self._starter.on_head
            )
            self.custody.record(
                actor=self.actor,
                role=ROLE,
                action="record_recovered",
                session_id=session_id,
                detail=custody_detail(recovered),
            )
            self._went_idle(self._outcome(session_id), alarm=reason)
            return True
        return False

    def _went_idle(self, outcome: SessionOutcome, *, alarm: str | None = None) -> None:
        if self._live is not None:
            self._add_to_totals(self._live.recorder.status())
        self._live = None
        self._state.state = "idle"
        self._state.session_id = self._state.case_number = self._state.started_at = None
        self._state.last_session = outcome
        self._state.alarm = alarm
        self._save()

    def _outcome(self, session_id: str) -> SessionOutcome:
        return _outcome_of(read_manifest(self.store, session_id))

    def _custody_alarm(self) -> str | None:
        """While the custody database is damaged: recording goes on, events are journaled."""
        damage = self.custody.damage
        if damage is None:
            return None
        return (
            f"custody log damaged ({damage}); recording goes on and custody events are "
            "journaled: run `sealroom custody repair`"
        )

    def _finished(self, session_id: str) -> SessionOutcome | None:
        """How the session ended, if it is sealed; None if it is not (yet)."""
        try:
            return self._outcome(session_id)
        except SealroomError:
            return None

    def _free_bytes(self) -> int | None:
        try:
            return self.guard.free_bytes()
        except OSError:
            return None

    def _total_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.data.root).total
        except OSError:
            return None

    def _load_state(self) -> _StateFile | None:
        try:
            return _StateFile.model_validate_json(self._state_path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as exc:
            log.error("ignoring the unreadable state file %s: %s", self._state_path, exc)
            return None

    def _save(self) -> None:
        """Write the state file atomically. Best effort: the evidence, not this file, is the
        truth, and recovery does not depend on it (a full disk must not stop a stop)."""
        self._state.pid = os.getpid()
        self._state.updated_at = format_utc(utc_now())
        text = self._state.model_dump_json(indent=2)
        try:
            replace_atomically(self._state_path, text.encode("utf-8"), mode=PRIVATE)
        except OSError as exc:
            log.error("cannot write the state file %s: %s", self._state_path, exc)


def _outcome_of(manifest: Manifest) -> SessionOutcome:
    return SessionOutcome(
        session_id=manifest.session,
        outcome="interrupted" if manifest.interrupted else "stopped",
        reason=manifest.stop_reason,
        segments=len(manifest.segments),
        duration_seconds=manifest.duration_us / 1e6,
        head=manifest.chain.head,
    )


def _sealed_detail(manifest: Manifest) -> dict[str, Any]:
    return {
        "segments": len(manifest.segments),
        "head": manifest.chain.head,
        "duration_us": manifest.duration_us,
        "reason": manifest.stop_reason,
    }


def state_file(data_root: Path, room: str) -> Path:
    """Where the service of ``room`` keeps its state."""
    return room_file(data_root, room, ".json")


def _utc_of(unix: float | None) -> str | None:
    """A ``time.time()`` moment as the status's UTC text (None stays None)."""
    return None if unix is None else format_utc(datetime.fromtimestamp(unix, UTC))
