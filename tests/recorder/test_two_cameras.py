"""A room with two cameras: composited, each lost and restored on its own, each with its
health in the recorder's status. Real synthetic devices in real time, the real writer."""

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
from hardware.sources import VideoFrame
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.errors import RecorderError
from recorder.media.compositor import Compositor, Picture
from recorder.media.overlay import Caption, no_signal_card
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info

SETTINGS = RecorderSettings(width=320, height=240, fps=30, segment_seconds=1)


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SessionWriter]:
    store = FilesystemStore.open(tmp_path / "store", create=True)
    signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="room")
    session = SessionWriter.start(
        store,
        signer,
        SessionMetadata(case_number="VKS-2/2026", room="Phòng 2"),
        media_info(SETTINGS),
    )
    yield session
    session.close()


def verify(writer: SessionWriter, tmp_path: Path) -> None:
    verify_session(writer.store, writer.session_id, TrustStore.from_paths([tmp_path / "trust"]))


class UnpluggedCamera(SyntheticCamera):
    """Delivers nothing from 0.6 s to 1.6 s after it opens."""

    opened_ns = 0

    def open(self) -> None:
        super().open()
        self.opened_ns = time.monotonic_ns()

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        frame = super().read(timeout)
        if frame is not None and 0.6 <= (frame.captured_ns - self.opened_ns) / 1e9 < 1.6:
            return None
        return frame


def test_the_second_camera_is_lost_and_restored_on_its_own(
    writer: SessionWriter, tmp_path: Path
) -> None:
    main = SyntheticCamera(320, 240, name="main-cam")
    pip = UnpluggedCamera(320, 240, name="pip-cam", seed=1)
    recorder = SessionRecorder([main, pip], SyntheticMicrophone(), SETTINGS, writer)
    recorder.start()
    recorder.wait_until(1.1, timeout=30)
    during = recorder.status()
    recorder.wait_until(2.5, timeout=30)
    status = recorder.status()
    manifest = recorder.stop("done")

    assert during.lost_devices == ("pip-cam",)
    pip_health = during.devices[1]
    assert pip_health.name == "pip-cam" and pip_health.lost
    assert pip_health.last_frame_age_seconds is not None
    assert pip_health.last_frame_age_seconds > 0.4
    [outage] = manifest.device_outages
    assert outage.device == "pip-cam" and outage.restored_at is not None
    assert status.frames_filled == 0  # the main camera never missed a frame
    verify(writer, tmp_path)

    compositor = Compositor(320, 240, cameras=["main-cam", "pip-cam"])
    inset = compositor.inset
    assert inset is not None
    card = no_signal_card(inset.width, inset.height, "pip-cam")
    with av.open(str(writer.path / "segments" / manifest.segments[1].name)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]

    def inset_of(frame: np.ndarray) -> np.ndarray:
        return frame[inset.y : inset.y + inset.height, inset.x : inset.x + inset.width]

    assert np.abs(inset_of(frames[10]).astype(np.int16) - card).mean() < 8  # 1.33 s: lost
    assert np.abs(inset_of(frames[-1]).astype(np.int16) - card).mean() > 30  # 1.97 s: back
    # The main picture went on: the frame outside the inset is the main camera's.
    assert frames[10][200:, :100].std() > 10


def test_the_status_reports_each_devices_health(writer: SessionWriter, tmp_path: Path) -> None:
    cameras = [
        SyntheticCamera(320, 240, name="main-cam"),
        SyntheticCamera(640, 360, fps=15, name="pip-cam", seed=1),
    ]
    recorder = SessionRecorder(
        cameras,
        SyntheticMicrophone(),
        SETTINGS,
        writer,
        picture=Picture(caption=Caption("Phòng 2", "VKS-2/2026")),
    )
    recorder.start()
    status = recorder.wait_until(2.0, timeout=30)
    recorder.stop("done")
    main, pip, microphone = status.devices
    assert (main.name, main.kind, pip.name, microphone.kind) == (
        "main-cam",
        "camera",
        "pip-cam",
        "microphone",
    )
    assert 55 <= main.frames_received <= 70  # 30 fps for ~2 s
    assert 27 <= pip.frames_received <= 36  # its own 15 fps, shown at the room's 30
    assert main.frames_dropped == pip.frames_dropped == microphone.frames_dropped == 0
    for device in status.devices:
        assert device.last_frame_age_seconds is not None
        assert device.last_frame_age_seconds < 0.3
        assert not device.lost and device.error is None
    assert main.audio_level_dbfs is None
    assert microphone.audio_level_dbfs is not None
    assert -45 < microphone.audio_level_dbfs < -6  # speech-like sound, well below clipping
    assert status.frames_filled == 0
    assert status.worst_seal_seconds is not None and 0 < status.worst_seal_seconds < 1
    assert status.worst_capture_to_seal_seconds is not None
    assert 1 < status.worst_capture_to_seal_seconds < 2
    assert len(recorder.seal_timings()) >= 2  # and a short one at the stop
    verify(writer, tmp_path)


def test_cameras_need_distinct_names(writer: SessionWriter) -> None:
    with pytest.raises(RecorderError, match="distinct names"):
        SessionRecorder(
            [SyntheticCamera(320, 240), SyntheticCamera(320, 240)],
            SyntheticMicrophone(),
            SETTINGS,
            writer,
        )
