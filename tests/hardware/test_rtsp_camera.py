"""RTSP cameras against a real RTSP server (Debian gst-rtsp-server in its own process):
connect, receive, lose the server mid-recording, get it back, reconnect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from hardware.errors import HardwareError
from hardware.rtsp import RtspCamera, redact, with_credentials
from hardware.synthetic import SyntheticMicrophone
from recorder.media.overlay import no_signal_card
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from recorder.status import RecorderStatus
from tests.support.rtsp import RtspServer, free_port, require_gst_rtsp


@pytest.fixture
def server() -> Iterator[RtspServer]:
    require_gst_rtsp()
    running = RtspServer(free_port())
    running.start()
    yield running
    running.stop()


def test_credentials_never_leave_the_url() -> None:
    url = with_credentials("rtsp://10.0.0.5:554/stream1", "admin", "p@ss:word")
    assert url == "rtsp://admin:p%40ss%3Aword@10.0.0.5:554/stream1"
    assert redact(url) == "rtsp://10.0.0.5:554/stream1"
    assert RtspCamera(url).name == "rtsp:10.0.0.5:554/stream1"


def test_connect_and_receive_pictures(server: RtspServer) -> None:
    camera = RtspCamera(server.url, name="cam")
    began = time.monotonic()
    camera.open()
    try:
        assert (camera.width, camera.height, camera.fps) == (320, 240, 15)
        frames = []
        while len(frames) < 30 and time.monotonic() - began < 15:
            frame = camera.read(timeout=1)
            if frame is not None:
                frames.append(frame)
    finally:
        camera.close()
    assert len(frames) == 30
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    assert frames[-1].image.std() > 10  # a picture (the moving ball), not a blank
    stamps = np.diff([f.captured_ns for f in frames[5:]]) / 1e6
    # Stamped from the stream's own timestamps, never later than they arrived: 1/15 s apart.
    assert np.all(stamps > 0) and abs(float(np.median(stamps)) - 1000 / 15) < 5
    assert all(f.captured_ns <= time.monotonic_ns() for f in frames)


def test_no_server_is_a_hardware_error() -> None:
    camera = RtspCamera(f"rtsp://127.0.0.1:{free_port()}/cam1", open_timeout=2)
    with pytest.raises(HardwareError, match="cannot connect"):
        camera.open()
    with pytest.raises(HardwareError, match="not open"):
        camera.read(timeout=0.1)


def test_a_killed_server_fails_the_read_and_a_restarted_one_reconnects(server: RtspServer) -> None:
    camera = RtspCamera(server.url, read_timeout=1)
    camera.open()
    try:
        assert _read_some(camera, 5)
        server.kill()
        with pytest.raises(HardwareError, match=r"stream (ended|failed)"):
            for _ in range(100):
                camera.read(timeout=0.2)
        camera.close()
        with pytest.raises(HardwareError, match="cannot connect"):
            camera.open()
        server.start()
        camera.open()
        assert _read_some(camera, 5)
    finally:
        camera.close()


def _read_some(camera: RtspCamera, count: int) -> bool:
    got, deadline = 0, time.monotonic() + 10
    while got < count and time.monotonic() < deadline:
        if camera.read(timeout=0.5) is not None:
            got += 1
    return got == count


SETTINGS = RecorderSettings(width=320, height=240, fps=15, segment_seconds=1)


def _wait_for(recorder: SessionRecorder, check: str, timeout: float) -> RecorderStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = recorder.status()
        camera = status.devices[0]
        if camera.lost if check == "lost" else not camera.lost and camera.error is None:
            return status
        assert time.monotonic() < deadline, f"the camera was not {check} in {timeout} s"
        time.sleep(0.1)


def test_a_recording_survives_losing_the_camera_server(server: RtspServer, tmp_path: Path) -> None:
    store = FilesystemStore.open(tmp_path / "store", create=True)
    signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="r")
    writer = SessionWriter.start(
        store, signer, SessionMetadata(case_number="VKS-9/2026", room="P9"), media_info(SETTINGS)
    )
    camera = RtspCamera(server.url, name="ip-camera", read_timeout=1)
    recorder = SessionRecorder([camera], SyntheticMicrophone(), SETTINGS, writer)
    recorder.start()
    try:
        recorder.wait_until(3.0, timeout=30)
        receiving = recorder.status()
        camera_health = receiving.devices[0]
        # Connecting took a moment (NO SIGNAL meanwhile), but that is no outage.
        assert receiving.lost_devices == ()
        assert camera_health.frames_received >= 15 and camera_health.error is None
        assert camera_health.last_frame_age_seconds is not None
        assert camera_health.last_frame_age_seconds < 0.5
        server.kill()
        lost = _wait_for(recorder, "lost", timeout=10)
        assert "ip-camera" in lost.lost_devices
        outage_began = lost.media_seconds
        time.sleep(2.5)  # the recording goes on: NO SIGNAL and the microphone's sound
        server.start()
        restored = _wait_for(recorder, "restored", timeout=30)
        recorder.wait_until(restored.media_seconds + 1.5, timeout=30)
    finally:
        manifest = recorder.stop("done")
    [outage] = manifest.device_outages
    assert outage.device == "ip-camera" and outage.restored_at is not None
    assert outage.reason  # the camera's own error, or its silence
    verify_session(store, writer.session_id, TrustStore.from_paths([tmp_path / "trust"]))

    # The frames recorded during the outage show the NO SIGNAL card, and sound went on.
    card = no_signal_card(320, 240, "ip-camera")
    index = int(outage_began + 1.5)  # a second well inside the outage
    segment = writer.path / "segments" / manifest.segments[index].name
    with av.open(str(segment)) as container:
        pictures = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert np.abs(pictures[len(pictures) // 2].astype(np.int16) - card).mean() < 4
    with av.open(str(segment)) as container:
        sound = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert np.abs(sound).max() > 0.05
    # After the reconnect, the camera's picture again.
    last = writer.path / "segments" / manifest.segments[-1].name
    with av.open(str(last)) as container:
        picture = next(iter(container.decode(video=0))).to_ndarray(format="bgr24")
    assert np.abs(picture.astype(np.int16) - card).mean() > 20
