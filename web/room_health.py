"""Every room a supervisor or an administrator looks after, with its health: what the NOC
view (the supervisors' wall of rooms) shows, refreshed without a reload.

``rooms_health(user)`` asks each room of the user's units (their unit and the units below)
for its recorder's status, all at once, each bounded by a short timeout, and returns one
``RoomHealth`` per room: its state, how long since it last sealed a segment, its upload
backlog, its disk, each device (up or lost, the microphone's level) and its alarm. A room
whose recorder does not answer is shown as unreachable, never as idle or recording.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from sqlalchemy import select

from evidence_store import SealroomError, UsageError
from recorder.control import RecorderClient, RecorderClientError, RecorderStatusView
from web.evidence import console_settings, data_dir
from web.extensions import db
from web.models import Room, User
from web.recorders import recorder_client as room_recorder_client
from web.roles import Role
from web.visibility import visible_units

ROOM_HEALTH_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
STATUS_TIMEOUT = 2.0  # seconds: one slow room must not hold up the wall
MAX_PARALLEL = 16
LOW_DISK_SHARE = 0.10  # the "disk under 10 %" alert's threshold, shown the same way
STALLED_SECONDS = 30.0  # recording, yet nothing sealed for this long
# Uploads configured, yet the oldest object has waited this long: nothing is leaving the room.
BACKLOG_ATTENTION_SECONDS = 600.0


@dataclass(frozen=True)
class DeviceState:
    name: str
    kind: str
    up: bool  # False while lost (and until it is restored)
    audio_level_dbfs: float | None
    last_frame_age_seconds: float | None
    error: str | None


@dataclass(frozen=True)
class RoomHealth:
    """One room as its recorder reports it (``reachable`` False: it did not answer)."""

    code: str
    name: str
    unit: str
    reachable: bool
    state: str  # idle, recording, paused; "unreachable" when the recorder did not answer
    problem: str | None = None  # why it could not be asked
    session_id: str | None = None
    case_number: str | None = None
    started_at: str | None = None
    last_seal_age_seconds: float | None = None
    segments_sealed: int = 0
    backlog_objects: int | None = None
    backlog_bytes: int | None = None
    backlog_oldest_age_seconds: float | None = None
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None
    devices: tuple[DeviceState, ...] = ()
    alarm: str | None = None
    last_session_id: str | None = None
    elapsed_seconds: float | None = None  # since the session started, pauses included
    last_sealed_at: str | None = None  # UTC: the newest segment the room sealed
    # False: the room has no upload destination at all (nothing will ever leave it);
    # None: the room did not say.
    upload_configured: bool | None = None
    backlog_problems: int = 0  # objects held, missing, in conflict or quarantined

    @property
    def disk_free_share(self) -> float | None:
        if self.disk_free_bytes is None or not self.disk_total_bytes:
            return None
        return self.disk_free_bytes / self.disk_total_bytes

    @property
    def attention(self) -> tuple[str, ...]:
        """Why the room needs a person, as codes (the wall words them): unreachable, an
        alarm from the room, a device lost, a low disk, a stalled recording, or uploads
        that are configured yet do not leave."""
        share = self.disk_free_share
        stalled = (
            self.state == "recording"
            and self.last_seal_age_seconds is not None
            and self.last_seal_age_seconds > STALLED_SECONDS
        )
        waiting = self.backlog_oldest_age_seconds or 0.0
        stuck = self.upload_configured is not False and (
            waiting > BACKLOG_ATTENTION_SECONDS or self.backlog_problems > 0
        )
        found = {
            "unreachable": not self.reachable,
            "alarm": self.alarm is not None,
            "device_lost": any(not d.up for d in self.devices),
            "low_disk": share is not None and share < LOW_DISK_SHARE,
            "stalled": stalled,
            "upload_backlog": stuck,
        }
        return tuple(code for code, holds in found.items() if holds)

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention)

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["devices"] = [asdict(d) for d in self.devices]
        document["disk_free_share"] = self.disk_free_share
        document["attention"] = list(self.attention)
        document["needs_attention"] = self.needs_attention
        return document


class NoRecorderCredential(SealroomError):
    """The console cannot make a room's token: the installation's room key is unreadable."""


def recorder_client(room: Room) -> RecorderClient:
    """The client of ``room``'s recorder service, with the room's own token, its identity
    checked before use (``web.recorders``); NoRecorderCredential when the installation's room
    key cannot be read."""
    try:
        return room_recorder_client(
            data_dir().root, console_settings(), room.code, room.recorder_url
        )
    except UsageError as problem:  # the room key: unreadable, or too short
        raise NoRecorderCredential(str(problem)) from problem


def rooms_health(
    user: User,
    *,
    timeout: float = STATUS_TIMEOUT,
    client: Callable[[Room], RecorderClient] | None = None,
) -> list[RoomHealth]:
    """Every room of ``user``'s units with its health, by unit then room code. Only
    supervisors and administrators look after rooms (PermissionError for anyone else)."""
    if user.role_enum not in ROOM_HEALTH_ROLES:
        raise PermissionError("the rooms' health is for supervisors and administrators")
    units = visible_units(user)
    rows = db.session.scalars(select(Room).order_by(Room.code)).all()
    rooms = sorted((r for r in rows if r.unit.code in units), key=lambda r: (r.unit.code, r.code))
    if not rooms:
        return []
    # Built here, in the request's context (the token is the console's); asked on threads.
    clients: list[tuple[_Room, RecorderClient | str]] = []
    for room in rooms:
        base = _Room(room.code, room.name, room.unit.code)
        try:
            clients.append((base, (client or _default_client(timeout))(room)))
        except (RecorderClientError, NoRecorderCredential) as exc:  # e.g. a URL that is not one
            clients.append((base, str(exc)))
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(clients))) as pool:
        return list(pool.map(lambda pair: _health(*pair), clients))


def _default_client(timeout: float) -> Callable[[Room], RecorderClient]:
    def client(room: Room) -> RecorderClient:
        made = recorder_client(room)
        made.timeout = timeout  # one slow room must not hold up the wall
        return made

    return client


class _Room(NamedTuple):
    code: str
    name: str
    unit: str


def _health(room: _Room, client: RecorderClient | str) -> RoomHealth:
    if isinstance(client, str):
        return _unreachable(room, client)
    try:
        status = client.status()
    except RecorderClientError as exc:  # unreachable, refused token, or not an answer
        return _unreachable(room, str(exc))
    return _from_status(room, status)


def _unreachable(room: _Room, problem: str) -> RoomHealth:
    return RoomHealth(
        code=room.code,
        name=room.name,
        unit=room.unit,
        reachable=False,
        state="unreachable",
        problem=problem,
    )


def _from_status(room: _Room, status: RecorderStatusView) -> RoomHealth:
    backlog = status.backlog or {}
    configured = backlog.get("upload_configured")
    return RoomHealth(
        code=room.code,
        name=room.name,
        unit=room.unit,
        reachable=True,
        state=status.state,
        session_id=status.session_id,
        case_number=status.case_number,
        started_at=status.started_at,
        last_seal_age_seconds=status.last_seal_age_seconds,
        segments_sealed=status.segments_sealed,
        backlog_objects=backlog.get("objects"),
        backlog_bytes=backlog.get("bytes"),
        backlog_oldest_age_seconds=backlog.get("oldest_age_seconds"),
        disk_free_bytes=status.free_bytes,
        disk_total_bytes=status.disk_total_bytes,
        devices=tuple(
            DeviceState(
                name=d.name,
                kind=d.kind,
                up=not d.lost,
                audio_level_dbfs=d.audio_level_dbfs,
                last_frame_age_seconds=d.last_frame_age_seconds,
                error=d.error,
            )
            for d in status.devices
        ),
        alarm=status.alarm,
        last_session_id=status.last_session.session_id if status.last_session else None,
        elapsed_seconds=status.elapsed_seconds,
        last_sealed_at=status.last_sealed_at,
        upload_configured=configured if isinstance(configured, bool) else None,
        backlog_problems=_problems(backlog),
    )


def _problems(backlog: dict[str, Any]) -> int:
    """Objects the uploader cannot move on its own (``Backlog.needs_attention``)."""
    counted = sum(len(backlog.get(key) or ()) for key in ("held", "missing", "conflicts"))
    quarantined = backlog.get("quarantined")
    return counted + (quarantined if isinstance(quarantined, int) else 0)
