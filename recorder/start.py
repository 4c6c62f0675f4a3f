"""Starting a recording: the one path from "record this room" to a running ``SessionRecorder``,
taken by ``sealroom record`` and by the room's recorder service alike, so they cannot drift.

1. ``take_room``: hold the room's lock (``recorder.room.lock``: one recording process per
   room), then recover what a dead recorder left unfinished;
2. ``start``: build the room's devices, refuse before writing anything when a device does not
   open or the disk cannot hold the session (``recorder.preflight``), open the session with
   its metadata, record ``record_started`` in the custody log and start the recorder. A
   recorder that fails to start ends its session there and then, with the reason on the
   record, and raises an alarm: a session is never left open behind a refusal.

With a time-stamp authority configured, the room's sessions (and what recovery seals) are
stamped while the room is held (``recorder.trusted_time``), without ever waiting for it.
With a witness configured, every session it starts (and every one recovery finishes) hands
each signed head to the witness's outbox as it is written (``witness``, an
``evidence_store.witnessing.WitnessLink``); the caller runs its sender (``start_witness``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evidence_store import (
    HeadHook,
    SessionMetadata,
    SessionWriter,
    WallClock,
    fan_out,
    utc_now,
)
from evidence_store.installation import DataDir
from evidence_store.witnessing import WitnessLink
from recorder.alarms import record_alarm
from recorder.disk_guard import DiskGuard
from recorder.errors import RecorderError, RecorderStateError
from recorder.media import Caption, Picture
from recorder.passthrough import PassthroughRecorder, passthrough_media
from recorder.preflight import preflight, preflight_streams
from recorder.recovery import RecoveryReport, recover_unfinished, seal_checks_for
from recorder.room import (
    DEFAULT_TIMEZONE,
    PictureLayout,
    RoomDevices,
    RoomLock,
    RoomProfile,
    room_devices,
    synthetic_room,
)
from recorder.room_recorder import RoomRecorder
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from recorder.status import SealTiming
from recorder.trusted_time import TrustedTime

DeviceFactory = Callable[[RecorderSettings], RoomDevices]


class RecordingNotStartedError(RecorderError):
    """The recorder failed to start; its session was ended with that reason and sealed."""


@dataclass(frozen=True)
class Recording:
    """A session being recorded: the writer that holds its evidence and the recorder."""

    writer: SessionWriter
    recorder: RoomRecorder


def device_factory(profile: RoomProfile | None, *, synthetic: bool = False) -> DeviceFactory:
    """The devices the room's profile names; the synthetic room when asked for or when the
    room has no profile."""
    if synthetic or profile is None:
        return synthetic_room
    return lambda settings: room_devices(profile, settings)


def room_picture(profile: RoomProfile | None, metadata: SessionMetadata) -> Picture:
    """The profile's layout and time zone (defaults without one), captioned with the session's
    room and case."""
    return Picture(
        layout=profile.layout if profile else PictureLayout(),
        caption=Caption(
            room=metadata.room,
            case_number=metadata.case_number,
            timezone=profile.timezone if profile else DEFAULT_TIMEZONE,
        ),
    )


class RecordingStarter:
    """Starts the sessions of room ``room``, recording into ``data``; ``actor`` and ``role``
    sign its custody entries; ``clock`` is the device's clock, the time in every link. Not
    thread-safe: its caller starts one session at a time."""

    def __init__(
        self,
        *,
        data: DataDir,
        settings: RecorderSettings,
        room: str,
        actor: str,
        role: str,
        profile: RoomProfile | None = None,
        synthetic: bool = False,
        devices: DeviceFactory | None = None,
        catalog: HeadHook | None = None,
        clock: WallClock = utc_now,
    ) -> None:
        self.room = room
        self.catalog = catalog  # each signed head, to the catalog's reporter
        self.settings = settings
        self.actor = actor
        self.role = role
        data.secure()  # owner-only files; an installation open to others is tightened, warned
        self.store = data.store(create=True)
        self.signer = data.signer()
        self.custody = data.custody(self.store, self.signer)
        self.clock = clock
        self.trusted_time = TrustedTime.configured(
            data, self.store, self.custody, actor=actor, role=role, clock=clock
        )
        self.guard = DiskGuard.for_data_dir(data.root, settings, evidence=data.evidence)
        self._data_root = data.root
        self._profile = profile
        self._devices = devices or device_factory(profile, synthetic=synthetic)
        self._lock: RoomLock | None = None
        self.on_seal: Callable[[SealTiming], None] | None = None  # given to each recorder
        self.witness = WitnessLink.open(data, on_event=self._witness_event)
        self.seal_checks = seal_checks_for(
            data, self.store, None if self.witness is None else self.witness.client
        )

    def start_witness(self) -> None:
        """Send queued heads on a thread of their own (no-op without a witness)."""
        if self.witness is not None:
            self.witness.start()

    def stop_witness(self, *, flush_seconds: float = 0.0) -> int:
        """Give the sender ``flush_seconds`` to send what waits, then stop it; returns how
        many heads are left queued (sent later by whatever runs next)."""
        if self.witness is None:
            return 0
        left = self.witness.flush(flush_seconds) if flush_seconds else 0
        self.witness.stop()
        return left

    def _witness_event(self, action: str, session_id: str | None, detail: dict[str, Any]) -> None:
        self.custody.record(
            actor=self.actor, role=self.role, action=action, session_id=session_id, detail=detail
        )

    def take_room(self, holder: str) -> RecoveryReport:
        """Hold the room for ``holder`` (RoomBusyError, nothing changed, when another process
        records it), then recover every session a dead recorder left unfinished."""
        self._lock = RoomLock.take(self._data_root, self.room, holder=holder)
        try:
            if self.trusted_time is not None:
                self.trusted_time.start()
            return recover_unfinished(
                self.store,
                self.signer,
                self.custody,
                actor=self.actor,
                role=self.role,
                on_head=self.on_head,
                seal_checks=self.seal_checks,
            )
        except BaseException:
            self.release_room()
            raise

    def release_room(self) -> None:
        """Give the room up (the kernel does it too if the process dies). Idempotent."""
        if self.trusted_time is not None:
            self.trusted_time.stop()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def on_head(self) -> HeadHook | None:
        """The session writers' hook: each signed head goes to what queues it to leave the
        box (the witness's outbox, the time-stamp authority's stamper, the catalog's
        reporter), or None when nothing does."""
        return fan_out(
            None if self.witness is None else self.witness.hook,
            None if self.trusted_time is None else self.trusted_time.on_head,
            self.catalog,
        )

    def start(self, metadata: SessionMetadata, *, seconds: float) -> Recording:
        """Start a session of at most ``seconds``. Refused with nothing written when a device
        is missing (DeviceMissingError) or the disk cannot hold it (InsufficientSpaceError);
        RecordingNotStartedError, with the session ended, when the recorder fails to start."""
        if self._lock is None:
            raise RecorderStateError(f"cannot start: room {self.room} is not held")
        devices = self._devices(self.settings)
        if devices.passthrough:
            preflight_streams(devices.streams)
        preflight(self.guard, seconds, *devices.cameras, devices.microphone)
        media = (
            passthrough_media(self.settings, devices.names, devices.microphone.name)
            if devices.passthrough
            else media_info(self.settings)
        )
        writer = SessionWriter.start(
            self.store,
            self.signer,
            metadata,
            media,
            on_head=self.on_head,
            clock=self.clock,
        )
        if self.trusted_time is not None:
            self.trusted_time.watch(writer)
        self.custody.record(
            actor=self.actor,
            role=self.role,
            action="record_started",
            session_id=writer.session_id,
            detail={"room": metadata.room, "case": metadata.case_number},
        )
        try:
            recorder = self._recorder(devices, writer, metadata)
            recorder.start()
        except Exception as exc:
            reason = f"recording could not start: {exc}"
            self._end_unstarted(writer, reason)
            if not isinstance(exc, RecorderError):
                raise  # a bug stays a bug; the session is ended all the same
            raise RecordingNotStartedError(
                f"{reason} (session {writer.session_id} was ended and sealed with that reason)"
            ) from exc
        return Recording(writer, recorder)

    def _recorder(
        self, devices: RoomDevices, writer: SessionWriter, metadata: SessionMetadata
    ) -> RoomRecorder:
        if devices.passthrough:
            return PassthroughRecorder(
                devices.streams,
                devices.microphone,
                self.settings,
                writer,
                guard=self.guard,
                sound_from=devices.sound_from,
            )
        return SessionRecorder(
            devices.cameras,
            devices.microphone,
            self.settings,
            writer,
            guard=self.guard,
            picture=room_picture(self._profile, metadata),
            on_seal=self.on_seal,
        )

    def _end_unstarted(self, writer: SessionWriter, reason: str) -> None:
        # Link 0 is written: end the session honestly rather than leave it open.
        writer.stop(reason)
        record_alarm(
            self.custody,
            actor=self.actor,
            role=self.role,
            session_id=writer.session_id,
            kind="start_failed",
            reason=reason,
        )
