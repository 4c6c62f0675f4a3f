"""Sound and picture stay together when a camera's audio clock is wrong, in both modes.

A real RTSP test camera (Debian's gst-rtsp-server) sends 48,048 (or 47,952) samples for every
second of its clock while saying 48 kHz, and marks the same instants with a flash and a beep.
Uncorrected, that is 1 ms of drift a second: over these 60 s runs the beep would end ~60 ms
from its flash. Corrected by resampling, every flash keeps its beep within the 40 ms limit, the
offset does not move, no sample is cut, and each correction is in the chain. The 30-minute
measurement is ``benchmarks/passthrough_drift.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_store.model import EventType, Link, Manifest, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from hardware.rtsp import RtspCamera
from hardware.rtsp_sound import CameraSound
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from tests.support.ip_cameras.passthrough import SETTINGS, cameras, passthrough_room, verified
from tests.support.ip_cameras.sync import Pair, beeps, flashes, pair

SECONDS = 60
LIMIT_MS = 40.0


def corrections(session_dir: Path, manifest: Manifest) -> list[str]:
    events = []
    for seq in range(manifest.chain.length):
        body = (session_dir / f"chain/{seq:06d}.json").read_bytes()
        event = Link.parse(body, location="link").event
        if event is not None and event.type is EventType.CLOCK_CORRECTED:
            events.append(event.device or "")
    return events


def assert_in_step(pairs: list[Pair], seconds: float, *, quantum_ms: float) -> None:
    """Every flash with its beep, the offset within ``quantum_ms`` (where the pictures
    happen to fall against the markers) and not moving: uncorrected it would move by 1 ms a
    second; corrected it stays put, well within the 40 ms the drift may reach."""
    offsets = [p.offset_ms for p in pairs]
    assert len(pairs) >= seconds - 8, offsets
    assert all(abs(o) < quantum_ms for o in offsets), offsets
    assert max(offsets) - min(offsets) < LIMIT_MS / 2, offsets


@pytest.mark.slow
def test_passthrough_camera_sound_on_a_fast_clock_stays_with_its_picture(tmp_path: Path) -> None:
    with cameras({"audio_clock": 48048, "markers": 1.0}) as servers:
        room = passthrough_room(tmp_path, servers)
        room.recorder.start()
        room.recorder.wait_until(SECONDS, timeout=SECONDS + 60)
        live = room.recorder.status().devices[-1]  # the sound's health, as the terminal shows
        manifest = room.recorder.stop("measured")
    assert manifest == verified(room)
    pairs = pair(
        flashes(room.session_dir, manifest, "cam1"), beeps(room.session_dir, manifest, "sound")
    )
    # A picture shows the flash up to half a frame (15 fps) from the marker.
    assert_in_step(pairs, SECONDS - 3, quantum_ms=LIMIT_MS)
    [sound] = [s for s in manifest.devices or [] if s.track == "sound"]
    assert sound.samples_cut == 0 and sound.silence_filled_samples == 0, sound
    assert sound.samples_resampled > 0 and sound.clock_corrections >= 1, sound
    assert corrections(room.session_dir, manifest) == ["cam-A sound"] * sound.clock_corrections
    assert live.clock_corrections >= 1  # counted in the status as they happen


@pytest.mark.slow
def test_composite_camera_sound_on_a_slow_clock_stays_with_its_picture(tmp_path: Path) -> None:
    settings = RecorderSettings(
        width=320, height=240, fps=15, segment_seconds=2, video_preset="ultrafast"
    )
    with cameras({"audio_clock": 47952, "markers": 1.0}) as servers:
        url = servers[0].url
        store = FilesystemStore.open(tmp_path / "store", create=True)
        signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="r")
        metadata = SessionMetadata(case_number="VKS-16/2026", room="Phòng 2")
        writer = SessionWriter.start(store, signer, metadata, media_info(settings))
        # The camera's own sound over its one connection, as a room profile whose microphone
        # is the camera's URL has it (recorder.room.devices).
        microphone = CameraSound("cam sound", 48000, 1)
        camera = RtspCamera(url, name="cam", sound=microphone.feed)
        recorder = SessionRecorder(camera, microphone, settings, writer)
        recorder.start()
        recorder.wait_until(SECONDS, timeout=SECONDS + 60)
        manifest = recorder.stop("measured")
    verify_session(store, writer.session_id, TrustStore.from_paths([tmp_path / "trust"]))
    pairs = pair(flashes(writer.path, manifest, None), beeps(writer.path, manifest, None))
    # The composite samples each camera once a frame of its own: half a camera frame and
    # half a recording frame (15 fps each) from the marker, at worst.
    assert_in_step(pairs, SECONDS - 3, quantum_ms=1000 / 15 + 5)
    mic = next(s for s in manifest.devices or [] if s.device == "cam sound")
    assert mic.samples_resampled > 0 and mic.clock_corrections >= 1, mic
    assert corrections(writer.path, manifest) == ["cam sound"] * mic.clock_corrections
    assert SETTINGS.segment_seconds == settings.segment_seconds
