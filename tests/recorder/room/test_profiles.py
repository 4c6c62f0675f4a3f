"""Room profiles in sealroom.toml, the devices they build, and `sealroom record --room` /
`sealroom devices` run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from evidence_store.errors import UsageError
from hardware.media_file import FileCamera
from hardware.rtsp import RtspCamera
from hardware.sound_card import AlsaMicrophone
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from hardware.v4l2 import V4L2Camera
from recorder.room.devices import room_devices
from recorder.settings import RecorderSettings
from sealroom.config import load_config
from tests.support.cli import SMALL, run_sealroom

ROOM = """
[recorder]
width = 320
height = 240
fps = 15

[rooms."Phòng hỏi cung 1"]
timezone = "Asia/Ho_Chi_Minh"
camera = { kind = "v4l2", device = "/dev/video7", pixel_format = "YUYV" }
pip_camera = { kind = "rtsp", url = "rtsp://10.0.0.21:554/stream1", credentials_file = "CRED" }
microphone = { kind = "alsa", device = "plughw:1,0" }
layout = { pip_corner = "bottom-left", pip_width = 0.25 }

[rooms.demo]
camera = { kind = "synthetic", name = "bàn hỏi" }
pip_camera = { kind = "synthetic", seed = 3, name = "toàn cảnh" }
microphone = { kind = "synthetic" }
"""


def config(tmp_path: Path, text: str = ROOM) -> Path:
    credentials = tmp_path / "cam2.cred"
    credentials.write_text("admin:s3cret\n")
    path = tmp_path / "sealroom.toml"
    path.write_text(text.replace("CRED", str(credentials)), encoding="utf-8")
    return path


def test_a_profile_names_the_rooms_devices_and_layout(tmp_path: Path) -> None:
    loaded = load_config(config(tmp_path))
    room = loaded.rooms["Phòng hỏi cung 1"]
    assert room.layout.pip_corner == "bottom-left" and room.layout.pip_width == 0.25
    devices = room_devices(room, loaded.recorder)
    main, pip = devices.cameras
    assert isinstance(main, V4L2Camera) and main.name == "v4l2:/dev/video7"
    assert (main.width, main.height, main.fps) == (320, 240, 15)  # the room's, by default
    assert isinstance(pip, RtspCamera) and pip.name == "rtsp:10.0.0.21:554/stream1"
    assert "s3cret" not in pip.name
    assert pip._stream._url == "rtsp://admin:s3cret@10.0.0.21:554/stream1"  # sent, not shown
    assert isinstance(devices.microphone, AlsaMicrophone)
    assert devices.microphone.name == "alsa:plughw:1,0"
    demo = room_devices(loaded.rooms["demo"], RecorderSettings())
    assert [type(c) for c in demo.cameras] == [SyntheticCamera, SyntheticCamera]
    assert [c.name for c in demo.cameras] == ["bàn hỏi", "toàn cảnh"]
    assert isinstance(demo.microphone, SyntheticMicrophone)


def test_a_file_camera_profile(tmp_path: Path) -> None:
    loaded = load_config(
        config(
            tmp_path,
            """
[rooms.rehearsal]
camera = { kind = "file", path = "/srv/rehearsal.mp4", loop = false }
microphone = { kind = "file", path = "/srv/rehearsal.mp4" }
""",
        )
    )
    devices = room_devices(loaded.rooms["rehearsal"], RecorderSettings())
    assert isinstance(devices.cameras[0], FileCamera)
    assert devices.cameras[0].name == "file:rehearsal.mp4"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('pixel_format = "YUYV"', 'pixel_format = "H264"'), "pixel_format"),
        (("rtsp://10.0.0.21", "rtsp://admin:pw@10.0.0.21"), "use credentials_file"),
        (("Asia/Ho_Chi_Minh", "Asia/Hanoi_City"), "unknown time zone"),
        (("pip_width = 0.25", "pip_width = 0.9"), "pip_width"),
        (("layout = {", "lay_out = {"), "lay_out"),
        (('kind = "alsa"', 'kind = "oss"'), "kind"),
    ],
)
def test_a_bad_profile_is_refused_with_the_reason(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        load_config(config(tmp_path, ROOM.replace(*change)))


def test_the_same_camera_twice_is_refused(tmp_path: Path) -> None:
    twice = ROOM.replace(
        '{ kind = "rtsp", url = "rtsp://10.0.0.21:554/stream1", credentials_file = "CRED" }',
        '{ kind = "v4l2", device = "/dev/video7", pixel_format = "YUYV" }',
    )
    with pytest.raises(UsageError, match="same device"):
        load_config(config(tmp_path, twice))


def test_missing_camera_credentials_are_a_usage_error(tmp_path: Path) -> None:
    path = config(tmp_path)
    (tmp_path / "cam2.cred").unlink()
    with pytest.raises(UsageError, match="cannot read the camera credentials"):
        room_devices(load_config(path).rooms["Phòng hỏi cung 1"], RecorderSettings())


def test_record_uses_the_rooms_profile(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_sealroom(
        "--config",
        str(config(tmp_path)),
        "record",
        "--room",
        "demo",
        "--case",
        "VKS-7/2026",
        "--duration",
        "2",
        *SMALL,
        "--json",
        data_dir=data,
    )
    assert result.returncode == 0, result.stderr
    session = Path(json.loads(result.stdout)["path"])
    first = sorted((session / "segments").glob("*.mp4"))[0]
    with av.open(str(first)) as container:
        frame = next(iter(container.decode(video=0))).to_ndarray(format="bgr24")
    assert frame.shape == (240, 320, 3)
    # The inset of the second camera has its white border; the caption band darkens the
    # bottom.
    assert (frame[:, :, :] > 240).all(axis=2).sum() > 100
    verified = run_sealroom("verify", session.name, data_dir=data)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_record_refuses_a_room_without_a_profile(tmp_path: Path) -> None:
    result = run_sealroom(
        "--config",
        str(config(tmp_path)),
        "record",
        "--room",
        "Phòng 9",
        "--case",
        "c",
        "--duration",
        "2",
        data_dir=tmp_path / "data",
    )
    assert result.returncode == 2
    assert "'Phòng 9' has no profile" in result.stderr and "--synthetic" in result.stderr
    assert "demo" in result.stderr  # the profiles there are
    assert not (tmp_path / "data").exists()


def test_record_refuses_a_room_whose_camera_is_missing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_sealroom(
        "--config",
        str(config(tmp_path)),
        "record",
        "--room",
        "Phòng hỏi cung 1",
        "--case",
        "c",
        "--duration",
        "2",
        data_dir=data,
    )
    assert result.returncode == 1
    assert "/dev/video7 does not exist" in result.stderr and "Traceback" not in result.stderr
    sessions = data / "evidence" / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())  # nothing was written


def test_devices_says_there_are_none_and_lists_the_synthetic_ones(tmp_path: Path) -> None:
    result = run_sealroom("devices")
    assert result.returncode == 0, result.stderr
    assert "Cameras:" in result.stdout and "Microphones:" in result.stdout
    assert "synthetic camera" in result.stdout and "synthetic microphone" in result.stdout
    listed = json.loads(run_sealroom("devices", "--json").stdout)
    kinds = [c["kind"] for c in listed["cameras"]]
    assert kinds[-1] == "synthetic" and listed["microphones"][-1]["kind"] == "synthetic"
    if not Path("/dev/video0").exists():
        assert "none found" in result.stdout
        assert any("/dev/video" in note for note in listed["notes"])


def test_devices_lists_nothing_else_when_the_machine_has_none() -> None:
    # This machine (CI) has no camera and no sound card: the listing must say so cleanly.
    if Path("/dev/video0").exists() or Path("/proc/asound/cards").exists():
        pytest.skip("this machine has devices")
    listed = json.loads(run_sealroom("devices", "--json").stdout)
    assert [c["kind"] for c in listed["cameras"]] == ["synthetic"]
    assert [m["kind"] for m in listed["microphones"] if m["kind"] != "pulse"] == ["synthetic"]
