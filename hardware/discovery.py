"""Which cameras and microphones this machine has, and the modes they offer.

Cameras are the V4L2 nodes ``/dev/video*`` that capture video, asked for their modes with
ioctls. Microphones are ALSA's capture devices (``/proc/asound``) and, when a PulseAudio or
PipeWire server answers ``pactl``, its sources. The synthetic camera and microphone are always
there. Nothing here opens a stream.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hardware.v4l2_query import NotACamera, VideoMode, query_node

PACTL_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class AudioMode:
    sample_rates: tuple[int, ...]  # empty: whatever the room asks for (ALSA's plug converts)
    channels: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FoundCamera:
    kind: str  # as in a room profile: "v4l2" or "synthetic"
    device: str
    name: str
    modes: tuple[VideoMode, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FoundMicrophone:
    kind: str  # "alsa", "pulse" or "synthetic"
    device: str
    name: str
    modes: tuple[AudioMode, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    cameras: tuple[FoundCamera, ...]
    microphones: tuple[FoundMicrophone, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def real_cameras(self) -> tuple[FoundCamera, ...]:
        return tuple(c for c in self.cameras if c.kind != "synthetic")

    @property
    def real_microphones(self) -> tuple[FoundMicrophone, ...]:
        return tuple(m for m in self.microphones if m.kind != "synthetic")


SYNTHETIC_CAMERA = FoundCamera(
    kind="synthetic",
    device="synthetic",
    name="synthetic camera",
    note="always available: colour bars, any size, 1-60 fps",
)
SYNTHETIC_MICROPHONE = FoundMicrophone(
    kind="synthetic",
    device="synthetic",
    name="synthetic microphone",
    note="always available: speech-like sound, any rate",
)


def discover(
    *,
    dev_dir: Path = Path("/dev"),
    asound_dir: Path = Path("/proc/asound"),
    pactl: str | None = "pactl",
) -> Inventory:
    """Everything found, real devices first; ``notes`` says what was not found and why."""
    notes: list[str] = []
    cameras = find_cameras(dev_dir, notes)
    microphones = find_alsa_microphones(asound_dir, notes)
    microphones += find_pulse_sources(pactl, notes)
    return Inventory(
        cameras=(*cameras, SYNTHETIC_CAMERA),
        microphones=(*microphones, SYNTHETIC_MICROPHONE),
        notes=tuple(notes),
    )


def find_cameras(dev_dir: Path, notes: list[str]) -> list[FoundCamera]:
    nodes = sorted(dev_dir.glob("video*"), key=lambda p: _number(p.name))
    if not nodes:
        notes.append(f"no camera: there is no {dev_dir}/video* device")
        return []
    found = []
    for node in nodes:
        try:
            info = query_node(node)
        except NotACamera:
            continue  # e.g. the metadata node every UVC camera also has
        except OSError as exc:
            found.append(
                FoundCamera(
                    kind="v4l2",
                    device=str(node),
                    name=node.name,
                    note=f"cannot query: {exc.strerror or exc}",
                )
            )
            continue
        found.append(
            FoundCamera(
                kind="v4l2",
                device=str(node),
                name=info.card,
                modes=info.modes,
                note=f"{info.driver} at {info.bus}",
            )
        )
    if not found:
        notes.append(f"no camera: none of {len(nodes)} {dev_dir}/video* nodes captures video")
    return found


_PCM_LINE = re.compile(r"^(\d+)-(\d+):\s*(.*?)\s*:\s*(.*?)\s*:(.*)$")


def find_alsa_microphones(asound_dir: Path, notes: list[str]) -> list[FoundMicrophone]:
    """Capture devices from ``/proc/asound/pcm``, with modes where the card reports them
    (USB audio's ``streamN`` files)."""
    cards = asound_dir / "cards"
    if not cards.exists() or "no soundcards" in _read(cards):
        notes.append(
            "no ALSA sound card"
            + ("" if asound_dir.exists() else f" ({asound_dir} does not exist)")
        )
        return []
    found = []
    for line in _read(asound_dir / "pcm").splitlines():
        match = _PCM_LINE.match(line)
        if match is None or "capture" not in match.group(5):
            continue
        card, device = int(match.group(1)), int(match.group(2))
        modes = _usb_capture_modes(asound_dir / f"card{card}" / f"stream{device}")
        found.append(
            FoundMicrophone(
                kind="alsa",
                device=f"plughw:{card},{device}",
                name=f"{_card_name(cards, card)}: {match.group(3)}",
                modes=modes,
            )
        )
    if not found:
        notes.append("no microphone: the ALSA sound cards have no capture device")
    return found


def parse_pactl_sources(text: str) -> list[FoundMicrophone]:
    """``pactl list short sources`` output; monitors (what a speaker plays) are not
    microphones."""
    found = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or fields[1].endswith(".monitor"):
            continue
        spec = re.match(r"(\S+)\s+(\d+)ch\s+(\d+)Hz", fields[3])
        modes = (
            (AudioMode(sample_rates=(int(spec.group(3)),), channels=(int(spec.group(2)),)),)
            if spec
            else ()
        )
        found.append(
            FoundMicrophone(
                kind="pulse",
                device=fields[1],
                name=fields[1],
                modes=modes,
                note=fields[4] if len(fields) > 4 else None,
            )
        )
    return found


def find_pulse_sources(pactl: str | None, notes: list[str]) -> list[FoundMicrophone]:
    program = shutil.which(pactl) if pactl else None
    if program is None:
        notes.append("PulseAudio/PipeWire: pactl is not installed")
        return []
    try:
        result = subprocess.run(
            [program, "list", "short", "sources"],
            capture_output=True,
            text=True,
            timeout=PACTL_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        notes.append(f"PulseAudio/PipeWire: pactl failed: {exc}")
        return []
    if result.returncode != 0:
        notes.append(
            f"PulseAudio/PipeWire: no server answers ({result.stderr.strip() or 'pactl failed'})"
        )
        return []
    return parse_pactl_sources(result.stdout)


def _usb_capture_modes(stream: Path) -> tuple[AudioMode, ...]:
    text = _read(stream)
    capture = text.split("Capture:", 1)[1] if "Capture:" in text else ""
    capture = capture.split("Playback:", 1)[0]
    modes = []
    for altset in re.split(r"\n\s*Altset", capture)[1:]:
        channels = re.search(r"Channels:\s*(\d+)", altset)
        rates = re.search(r"Rates:\s*([\d,\s]+)", altset)
        if channels and rates:
            modes.append(
                AudioMode(
                    sample_rates=tuple(int(r) for r in re.findall(r"\d+", rates.group(1))),
                    channels=(int(channels.group(1)),),
                )
            )
    return tuple(dict.fromkeys(modes))


def _card_name(cards: Path, card: int) -> str:
    match = re.search(rf"^\s*{card}\s+\[[^\]]*\]:\s*(.+)$", _read(cards), re.MULTILINE)
    return match.group(1).strip() if match else f"card {card}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _number(name: str) -> int:
    digits = re.sub(r"\D", "", name)
    return int(digits) if digits else 0
