"""A real RTSP server (Debian gst-rtsp-server, tests/support/rtsp_server.py) that a test can
kill and bring back on the same port."""

from __future__ import annotations

import functools
import signal
import socket
import subprocess
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).resolve().parent / "rtsp_server.py"


@functools.cache
def gst_rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); "
            "from gi.repository import GstRtspServer",
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return probe.returncode == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RtspServer:
    """``rtsp://127.0.0.1:PORT/cam1``: 320x240 at 15 fps, H.264 plus Opus sound by default;
    see rtsp_server.py for the rest (H.265, keyframe interval, a wrong audio clock, flash and
    beep markers, a log of every picture sent)."""

    def __init__(
        self,
        port: int,
        *,
        size: str = "320x240",
        fps: int = 15,
        codec: str = "h264",
        keyframe_seconds: float = 1.0,
        audio: str = "opus",
        audio_clock: float = 0.0,
        markers: float = 0.0,
        packet_log: Path | None = None,
    ) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam1"
        self.packet_log = packet_log
        self._args = [SYSTEM_PYTHON, str(SERVER), str(port), "--size", size, "--fps", str(fps)]
        self._args += ["--codec", codec, "--keyframe-seconds", str(keyframe_seconds)]
        self._args += ["--audio", audio, "--audio-clock", str(audio_clock)]
        self._args += ["--markers", str(markers)]
        if packet_log is not None:
            self._args += ["--packet-log", str(packet_log)]
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self._args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # "ready" once it listens
        if line.strip() != "ready":
            self._process.kill()
            _, err = self._process.communicate(timeout=10)
            raise RuntimeError(f"the RTSP server did not start: {line!r} {err}")

    def kill(self) -> None:
        """As a power cut or a pulled cable would: no goodbye to the clients."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None


@functools.cache
def x265_available() -> bool:
    """Whether Debian's x265enc (gstreamer1.0-plugins-bad) is installed."""
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; "
            "Gst.init(None); import sys; sys.exit(Gst.ElementFactory.find('x265enc') is None)",
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return probe.returncode == 0


def require_gst_rtsp() -> None:
    """A missing RTSP server fails the run: it must not quietly skip what the issue asks for."""
    if not gst_rtsp_available():
        pytest.fail(
            "Debian's gst-rtsp-server is not installed (python3-gi, "
            "gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-*): run scripts/setup"
        )
