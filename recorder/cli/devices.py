"""``sealroom devices``: the cameras and microphones this machine has, and their modes."""

from __future__ import annotations

import dataclasses

import click

from evidence_store.cli import emit_json, json_option
from hardware import FoundCamera, FoundMicrophone, Inventory, discover


@click.command()
@json_option
def devices(as_json: bool) -> None:
    """List the cameras and microphones found (the synthetic ones are always there)."""
    inventory = discover()
    if as_json:
        emit_json(inventory_document(inventory))
        return
    click.echo(describe(inventory))


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
