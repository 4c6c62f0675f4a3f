"""Discovery: what /dev and /proc/asound say, read without opening a stream.

This machine has no camera and no sound card, so the "found" cases read a /proc/asound laid
out as a USB microphone's kernel driver writes it, and pactl's output as PulseAudio prints
it: fakes only for the physical devices that are not here.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from hardware import v4l2_query
from hardware.discovery import discover, parse_pactl_sources

CARDS = """\
 0 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xf7f10000 irq 32
 1 [Device         ]: USB-Audio - USB PnP Sound Device
                      C-Media Electronics Inc. USB PnP Sound Device at usb-0000:00:14.0-2
"""
PCM = """\
00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1
00-03: HDMI 0 : HDMI 0 : playback 1
01-00: USB Audio : USB Audio : playback 1 : capture 1
"""
USB_STREAM = """\
C-Media Electronics Inc. USB PnP Sound Device at usb-0000:00:14.0-2, full speed : USB Audio

Playback:
  Status: Stop
  Interface 1
    Altset 1
    Format: S16_LE
    Channels: 2
    Endpoint: 0x01 (1 OUT) (ADAPTIVE)
    Rates: 44100, 48000

Capture:
  Status: Stop
  Interface 2
    Altset 1
    Format: S16_LE
    Channels: 1
    Endpoint: 0x82 (2 IN) (ADAPTIVE)
    Rates: 16000, 44100, 48000
"""


def fake_asound(root: Path) -> Path:
    asound = root / "asound"
    (asound / "card1").mkdir(parents=True)
    (asound / "cards").write_text(CARDS)
    (asound / "pcm").write_text(PCM)
    (asound / "card1" / "stream0").write_text(USB_STREAM)
    return asound


def test_nothing_found_is_said_plainly_and_the_synthetic_devices_remain(tmp_path: Path) -> None:
    inventory = discover(dev_dir=tmp_path, asound_dir=tmp_path / "asound", pactl=None)
    assert inventory.real_cameras == () and inventory.real_microphones == ()
    assert [c.kind for c in inventory.cameras] == ["synthetic"]
    assert [m.kind for m in inventory.microphones] == ["synthetic"]
    assert f"no camera: there is no {tmp_path}/video* device" in inventory.notes
    assert any("no ALSA sound card" in note for note in inventory.notes)
    assert "PulseAudio/PipeWire: pactl is not installed" in inventory.notes


def test_a_node_that_is_not_a_camera_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "video0").write_bytes(b"")  # a regular file: the driver ioctls fail (ENOTTY)
    inventory = discover(dev_dir=tmp_path, asound_dir=tmp_path, pactl=None)
    assert inventory.real_cameras == ()
    assert any("none of 1" in note for note in inventory.notes)


def test_alsa_capture_devices_and_their_modes(tmp_path: Path) -> None:
    inventory = discover(dev_dir=tmp_path, asound_dir=fake_asound(tmp_path), pactl=None)
    internal, usb = inventory.real_microphones
    assert (internal.kind, internal.device) == ("alsa", "plughw:0,0")
    assert internal.name == "HDA-Intel - HDA Intel PCH: ALC3246 Analog"
    assert internal.modes == ()  # a PCI card does not publish its modes: ALSA's plug converts
    assert usb.device == "plughw:1,0" and usb.name.startswith("USB-Audio")
    [mode] = usb.modes
    assert mode.channels == (1,) and mode.sample_rates == (16000, 44100, 48000)
    # The HDMI output has no capture side: not a microphone.
    assert all("HDMI" not in m.name for m in inventory.microphones)


def test_pulseaudio_sources_without_the_monitors() -> None:
    text = (
        "0\talsa_output.pci-0000_00_1f.3.analog-stereo.monitor\tmodule-alsa-card.c\t"
        "s16le 2ch 48000Hz\tSUSPENDED\n"
        "1\talsa_input.usb-C-Media_USB_PnP-00.mono-fallback\tmodule-alsa-card.c\t"
        "s16le 1ch 44100Hz\tRUNNING\n"
    )
    [source] = parse_pactl_sources(text)
    assert (source.kind, source.device) == (
        "pulse",
        "alsa_input.usb-C-Media_USB_PnP-00.mono-fallback",
    )
    assert source.modes[0].sample_rates == (44100,) and source.modes[0].channels == (1,)
    assert source.note == "RUNNING"


def test_the_v4l2_structures_match_the_kernel_abi() -> None:
    # Sizes and request numbers as linux/videodev2.h defines them on 64-bit Linux.
    assert ctypes.sizeof(v4l2_query._Capability) == 104
    assert ctypes.sizeof(v4l2_query._FormatDescription) == 64
    assert ctypes.sizeof(v4l2_query._FrameSize) == 44
    assert ctypes.sizeof(v4l2_query._FrameInterval) == 52
    assert v4l2_query.VIDIOC_QUERYCAP == 0x80685600
    assert v4l2_query.VIDIOC_ENUM_FMT == 0xC0405602
    assert v4l2_query.VIDIOC_ENUM_FRAMESIZES == 0xC02C564A
    assert v4l2_query.VIDIOC_ENUM_FRAMEINTERVALS == 0xC034564B
    assert v4l2_query.fourcc_text(0x47504A4D) == "MJPG"
    assert v4l2_query.fourcc_text(0x56595559) == "YUYV"
