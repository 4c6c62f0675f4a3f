"""``sealroom devices``: the cameras and microphones this machine has, and their modes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from evidence_store.cli import emit_json, json_option
from hardware import (
    WS_DISCOVERY_PORT,
    FoundCamera,
    FoundMicrophone,
    HardwareError,
    Inventory,
    OnvifStream,
    discover,
    discover_onvif,
    onvif_stream,
)
from recorder.cli.context import SETTINGS_KEY
from recorder.room import read_credentials
from recorder.settings import RecorderSettings


@click.command()
@click.option(
    "--onvif",
    "onvif",
    is_flag=True,
    help="Also look for ONVIF cameras on the network (a WS-Discovery probe).",
)
@click.option(
    "--onvif-address",
    default=None,
    help="Probe this address only (HOST or HOST:PORT, unicast), not the network.",
)
@click.option(
    "--onvif-credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file holding USER:PASSWORD: ask each camera found for its stream and keyframes.",
)
@json_option
@click.pass_context
def devices(
    ctx: click.Context,
    onvif: bool,
    onvif_address: str | None,
    onvif_credentials: Path | None,
    as_json: bool,
) -> None:
    """List the cameras and microphones found (the synthetic ones are always there)."""
    inventory = discover()
    cameras: list[dict[str, object]] = []
    if onvif or onvif_address:
        settings: RecorderSettings = ctx.meta.get(SETTINGS_KEY) or RecorderSettings()
        cameras = onvif_cameras(onvif_address, onvif_credentials, settings.segment_seconds)
    if as_json:
        emit_json({**inventory_document(inventory), "onvif": cameras})
        return
    click.echo(describe(inventory))
    if onvif or onvif_address:
        click.echo("ONVIF cameras:")
        click.echo("\n".join(describe_onvif(cameras)) or "  none answered")


def onvif_cameras(
    address: str | None, credentials: Path | None, segment_seconds: int
) -> list[dict[str, object]]:
    """The ONVIF cameras that answer, with (given credentials) each one's stream: its URI,
    codec, size and keyframe interval, and whether passthrough records it as it is."""
    user = password = None
    if credentials is not None:
        user, password = read_credentials(credentials)
    found: list[dict[str, object]] = []
    host, port = address, WS_DISCOVERY_PORT
    if address is not None and ":" in address:
        host, _, number = address.rpartition(":")
        port = int(number) if number.isdigit() else WS_DISCOVERY_PORT
    for device in discover_onvif(address=host, port=port):
        entry: dict[str, object] = {"xaddrs": list(device.xaddrs), "name": device.name}
        entry["hardware"] = device.hardware
        if credentials is not None:
            try:
                stream = onvif_stream(device.host, device.port, user, password)
            except HardwareError as exc:
                entry["error"] = str(exc)
            else:
                entry["stream"] = dataclasses.asdict(stream)
                entry["notes"] = stream_notes(stream, segment_seconds)
        found.append(entry)
    return found


def stream_notes(stream: OnvifStream, segment_seconds: int) -> list[str]:
    """What a person should know before recording the stream in passthrough."""
    notes = []
    if not stream.passthrough:
        notes.append(f"{stream.codec}: record this camera in composite mode")
    seconds = stream.keyframe_seconds
    if seconds is not None and seconds > segment_seconds:
        notes.append(
            f"a keyframe every {seconds:g} s, longer than segment_seconds ({segment_seconds} s): "
            f"its segments will be about {seconds:g} s long (set the camera's GOP to "
            f"{round(segment_seconds * (stream.fps or 0))} frames for {segment_seconds} s)"
        )
    return notes


def describe_onvif(cameras: list[dict[str, object]]) -> list[str]:
    lines = []
    for camera in cameras:
        xaddrs = camera["xaddrs"]
        assert isinstance(xaddrs, list)
        lines.append(f"  {camera['name'] or '?'}  {camera['hardware'] or ''}  {xaddrs[0]}")
        stream = camera.get("stream")
        if isinstance(stream, dict):
            lines.append(
                f"    {stream['uri']}  {stream['codec']} {stream['width']}x{stream['height']} "
                f"@ {stream['fps']} fps, keyframe every {stream['keyframe_interval']} frames"
            )
        if "error" in camera:
            lines.append(f"    {camera['error']}")
        notes = camera.get("notes")
        for note in notes if isinstance(notes, list) else []:
            lines.append(f"    note: {note}")
    return lines


def inventory_document(inventory: Inventory) -> dict[str, object]:
    """The inventory as plain JSON data."""
    return {
        "cameras": [dataclasses.asdict(c) for c in inventory.cameras],
        "microphones": [dataclasses.asdict(m) for m in inventory.microphones],
        "notes": list(inventory.notes),
    }


def describe(inventory: Inventory) -> str:
    """The inventory for a person: real devices, what is missing and why, the synthetic ones."""
    lines = ["Cameras:"]
    if not inventory.real_cameras:
        lines.append("  none found")
    lines += [f"  {line}" for camera in inventory.cameras for line in _camera(camera)]
    lines.append("Microphones:")
    if not inventory.real_microphones:
        lines.append("  none found")
    lines += [f"  {line}" for mic in inventory.microphones for line in _microphone(mic)]
    if inventory.notes:
        lines.append("Notes:")
        lines += [f"  {note}" for note in inventory.notes]
    return "\n".join(lines)


def _camera(camera: FoundCamera) -> list[str]:
    lines = [
        f"{camera.kind}  {camera.device}  {camera.name}"
        + (f"  ({camera.note})" if camera.note else "")
    ]
    for mode in camera.modes:
        rates = ", ".join(f"{fps:g}" for fps in mode.fps) or "?"
        lines.append(f"    {mode.pixel_format} {mode.width}x{mode.height} @ {rates} fps")
    return lines


def _microphone(mic: FoundMicrophone) -> list[str]:
    lines = [f"{mic.kind}  {mic.device}  {mic.name}" + (f"  ({mic.note})" if mic.note else "")]
    for mode in mic.modes:
        rates = ", ".join(str(r) for r in mode.sample_rates) or "any rate"
        channels = "/".join(str(c) for c in mode.channels)
        lines.append(f"    {rates} Hz, {channels} channel(s)")
    return lines


COMMANDS = [devices]
