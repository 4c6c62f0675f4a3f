"""``sealroom record``: record a session from a room's devices (its profile in the config,
or the synthetic room) and seal it. It starts the session as the room's recorder service does
(``recorder.start``), and holds the room for as long as it records."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from evidence_store import DeviceStats, PresentPerson, SessionMetadata, UsageError, first_error
from evidence_store.cli import (
    PLAIN_TEXT,
    data_dir_from,
    data_dir_option,
    emit_json,
    json_option,
    operator,
)
from evidence_store.custody import CustodyLog
from evidence_store.index import reporting
from recorder.alarms import raise_if_stopped_itself
from recorder.cli.context import ROOMS_KEY, SETTINGS_KEY
from recorder.cli.recover import describe
from recorder.errors import RecorderStateError
from recorder.room import RoomProfile
from recorder.room_recorder import RoomRecorder
from recorder.settings import RecorderSettings
from recorder.start import Recording, RecordingStarter

MAX_DURATION_S = 12 * 3600  # longer than any questioning; a typo, not a session
WITNESS_FLUSH_SECONDS = 5.0  # at the end: time for the last heads to reach the witness
HOLDER = "sealroom record"  # who holds the room, as a refusal names it


def _person(text: str) -> PresentPerson:
    name, sep, role = text.rpartition(":")
    if not sep or not name.strip() or not role.strip():
        raise UsageError(f"--present takes NAME:ROLE (e.g. 'Trần Thị B:lawyer'), got {text!r}")
    return PresentPerson(name=name, role=role)


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise UsageError(f"--size takes WIDTHxHEIGHT (e.g. 1280x720), got {text!r}")
    return int(width), int(height)


@click.command()
@click.option(
    "--synthetic",
    is_flag=True,
    help="Record the synthetic room (two cameras and a microphone) instead of the room's devices.",
)
@click.option(
    "--room",
    required=True,
    type=PLAIN_TEXT,
    help="Room name, e.g. P1-VKS-HaNoi; its [rooms.<name>] profile names the devices.",
)
@click.option("--case", "case_number", required=True, type=PLAIN_TEXT, help="Case number.")
@click.option("--duration", type=float, required=True, help="Seconds to record.")
@click.option(
    "--accused", multiple=True, type=PLAIN_TEXT, help="Name of an accused person (repeatable)."
)
@click.option(
    "--investigator", multiple=True, type=PLAIN_TEXT, help="Name of an investigator (repeatable)."
)
@click.option(
    "--present",
    multiple=True,
    type=PLAIN_TEXT,
    help="Someone else present, NAME:ROLE (repeatable).",
)
@click.option(
    "--unit",
    type=PLAIN_TEXT,
    default=None,
    help="The unit (procuracy) the session belongs to; the room profile's unit, if it has one.",
)
@click.option("--size", default=None, help="Picture size WIDTHxHEIGHT (default from config).")
@click.option("--fps", type=int, default=None, help="Frames per second (default from config).")
@click.option("--segment-seconds", type=int, default=None, help="Segment length in seconds.")
@data_dir_option
@json_option
@click.pass_context
def record(
    ctx: click.Context,
    synthetic: bool,
    room: str,
    case_number: str,
    duration: float,
    accused: tuple[str, ...],
    investigator: tuple[str, ...],
    present: tuple[str, ...],
    unit: str | None,
    size: str | None,
    fps: int | None,
    segment_seconds: int | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Record a session, sealing each segment as it is written, then seal the session."""
    # Validate everything before anything is written.
    rooms: dict[str, RoomProfile] = ctx.meta.get(ROOMS_KEY) or {}
    profile = rooms.get(room)
    if profile is None and not synthetic:
        known = f" (profiles: {', '.join(sorted(rooms))})" if rooms else ""
        raise UsageError(
            f"room {room!r} has no profile in the configuration{known}; add "
            f'[rooms."{room}"] or use --synthetic'
        )
    if not 0 < duration <= MAX_DURATION_S:
        raise UsageError(
            f"--duration must be between 0 and {MAX_DURATION_S} seconds, got {duration:g}"
        )
    base: RecorderSettings = ctx.meta.get(SETTINGS_KEY) or RecorderSettings()
    overrides: dict[str, object] = {}
    if size:
        overrides["width"], overrides["height"] = _size(size)
    if fps is not None:
        overrides["fps"] = fps
    if segment_seconds is not None:
        overrides["segment_seconds"] = segment_seconds
    if profile is not None and profile.unit is not None:
        if unit is not None and unit != profile.unit:
            raise UsageError(
                f"room {room!r} is registered to unit {profile.unit!r} in its profile; "
                f"a session cannot be filed under {unit!r}"
            )
        unit = profile.unit
    try:
        settings = RecorderSettings.model_validate({**base.model_dump(), **overrides})
        metadata = SessionMetadata(
            case_number=case_number,
            room=room,
            unit=unit,
            accused=list(accused),
            investigators=list(investigator),
            others_present=[_person(p) for p in present],
        )
    except ValidationError as exc:
        raise UsageError(first_error(exc)) from exc

    data = data_dir_from(ctx, data_dir)
    with reporting(data) as catalog:  # the session is in the catalog as it is recorded
        starter = RecordingStarter(
            data=data,
            settings=settings,
            room=room,
            actor=operator(),
            role="operator",
            profile=profile,
            synthetic=synthetic,
            catalog=catalog.on_head,
        )
        # Refused, with nothing changed, while another process records the room.
        report = starter.take_room(HOLDER)
        starter.start_witness()
        try:
            for line in describe(report):
                click.echo(f"sealroom: recovery: {line}", err=True)
            recording = starter.start(metadata, seconds=duration)
            where = f" --data-dir {data.root}" if data_dir else ""
            _record(recording, starter.custody, duration, as_json=as_json, data_dir_option=where)
        finally:
            # Recording never waits for the witness: a few seconds for the last heads, then
            # whatever is left stays queued for the next process that runs (service, uploader).
            left = starter.stop_witness(flush_seconds=WITNESS_FLUSH_SECONDS)
            if left:
                click.echo(
                    f"sealroom: {left} signed head(s) wait for the witness; they are sent later",
                    err=True,
                )
            starter.release_room()


def _record(
    recording: Recording,
    custody: CustodyLog,
    duration: float,
    *,
    as_json: bool,
    data_dir_option: str,
) -> None:
    """Record for ``duration`` seconds (or until interrupted), seal, and say where it is."""
    writer, recorder = recording.writer, recording.recorder
    reason = "requested duration reached"
    try:
        try:
            _wait(recorder, duration, show=not as_json)
        except KeyboardInterrupt:
            reason = "stopped by the operator (interrupt)"
        manifest = recorder.stop(reason)
    except RecorderStateError:  # e.g. the disk filled: it stopped and sealed itself
        raise_if_stopped_itself(
            recorder, custody, actor=operator(), role="operator", session_id=writer.session_id
        )
        raise
    custody.record(
        actor=operator(),
        role="operator",
        action="record_sealed",
        session_id=writer.session_id,
        detail={
            "segments": len(manifest.segments),
            "head": manifest.chain.head,
            "duration_us": manifest.duration_us,
        },
    )
    if as_json:
        emit_json(
            {
                "session_id": writer.session_id,
                "path": str(writer.path),
                "devices": [s.to_document() for s in manifest.devices or []],
            }
        )
    else:
        click.echo(
            f"sealed session {writer.session_id}: {len(manifest.segments)} segments, "
            f"{manifest.duration_us / 1e6:.1f} s, head {manifest.chain.head}"
        )
        for stats in manifest.devices or []:
            click.echo(describe_stats(stats))
        for note in manifest.notes or []:
            click.echo(f"note: {note.reason}")
        click.echo(f"stored in {writer.path}")
        click.echo(f"check it with: sealroom verify {writer.session_id}{data_dir_option}")


def _wait(recorder: RoomRecorder, duration: float, *, show: bool) -> None:
    """Record until ``duration`` seconds of media are sealed-or-in-flight, with a progress bar."""
    console = Console(stderr=True)
    if not show or not console.is_terminal:
        recorder.wait_until(duration)
        return
    columns = (
        TextColumn("recording"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[segments]} segments sealed"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("record", total=duration, segments=0)

        def update(elapsed: float) -> None:
            progress.update(task, completed=elapsed, segments=recorder.status().segments_sealed)

        recorder.wait_until(duration, progress=update)


def describe_stats(stats: DeviceStats) -> str:
    """One line per device: what it delivered and what the recorder did with it."""
    where = f" [{stats.track}]" if stats.track else ""
    latency = stats.seal_latency
    sealed = (
        "nothing sealed"
        if latency is None
        else f"sealed after {latency.p50_us / 1e6:.3f} s p50, {latency.p99_us / 1e6:.3f} s "
        f"p99, {latency.worst_us / 1e6:.3f} s worst"
    )
    return (
        f"{stats.device}{where}: frames received {stats.frames_received}, dropped "
        f"{stats.frames_dropped}, filled {stats.frames_filled}; silence filled "
        f"{stats.silence_filled_samples} samples, cut {stats.samples_cut}, resampled "
        f"{stats.samples_resampled}; clock corrections {stats.clock_corrections}; waited "
        f"{stats.join_wait_us / 1e6:.2f} s to join; {sealed}"
    )


COMMANDS = [record]
