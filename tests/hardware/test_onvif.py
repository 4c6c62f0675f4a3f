"""ONVIF against a camera's recorded responses (tests/support/ip_cameras/onvif.py):
discovery with a real WS-Discovery probe (wsdiscovery, unicast to 127.0.0.1), the stream URI
and keyframe interval through the real ONVIF client (onvif-zeep-async) over HTTP, and what
``sealroom devices`` makes of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardware.errors import HardwareError
from hardware.onvif import discover_onvif, onvif_stream
from tests.support.cli import run_sealroom
from tests.support.ip_cameras.onvif import fake_onvif_camera


def test_discovery_finds_a_camera_by_its_probe_match() -> None:
    with fake_onvif_camera() as camera:
        [found] = discover_onvif(2.0, address="127.0.0.1", port=camera.discovery_port)
    assert found.xaddrs == (camera.xaddr,)
    assert found.name == "HIKVISION DS-2CD2143G2-I"
    assert found.hardware == "DS-2CD2143G2-I"
    assert (found.host, found.port) == ("127.0.0.1", camera.http_port)


def test_the_stream_and_its_keyframe_interval_come_from_the_media_service() -> None:
    with fake_onvif_camera(rtsp="10.0.0.31:554") as camera:
        main = onvif_stream("127.0.0.1", camera.http_port, "admin", "s3cret")
        sub = onvif_stream("127.0.0.1", camera.http_port, "admin", "s3cret", profile="Profile_2")
        assert camera.requests[:3] == ["GetServices", "GetProfiles", "GetStreamUri"]
    assert main.uri == "rtsp://10.0.0.31:554/Streaming/Channels/101"
    assert (main.codec, main.width, main.height, main.fps) == ("H264", 1280, 720, 30.0)
    assert main.keyframe_interval == 120 and main.keyframe_seconds == 4.0
    assert main.passthrough
    assert sub.uri.endswith("/102") and (sub.width, sub.height) == (640, 360)
    assert sub.keyframe_seconds == 1.0


def test_an_unknown_profile_is_a_clear_error() -> None:
    with fake_onvif_camera() as camera, pytest.raises(HardwareError, match="no profile 'nope'"):
        onvif_stream("127.0.0.1", camera.http_port, "admin", "pw", profile="nope")


def test_sealroom_devices_warns_of_a_keyframe_interval_longer_than_a_segment(
    tmp_path: Path,
) -> None:
    credentials = tmp_path / "cam.cred"
    credentials.write_text("admin:s3cret\n")
    with fake_onvif_camera(rtsp="10.0.0.31:554") as camera:
        # wsdiscovery probes the given address on the standard port: point it at the fake's
        # port through its own option.
        result = run_sealroom(
            "devices",
            "--onvif-address",
            f"127.0.0.1:{camera.discovery_port}",
            "--onvif-credentials",
            str(credentials),
            "--json",
        )
    assert result.returncode == 0, result.stderr
    [found] = json.loads(result.stdout)["onvif"]
    assert found["stream"]["keyframe_interval"] == 120
    [note] = found["notes"]
    assert "every 4 s" in note and "segment_seconds (2 s)" in note
