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
    """``rtsp://127.0.0.1:PORT/cam1``: 320x240 at 15 fps, H.264 plus Opus sound."""

    def __init__(self, port: int, *, size: str = "320x240", fps: int = 15) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam1"
        self._args = [SYSTEM_PYTHON, str(SERVER), str(port), "--size", size, "--fps", str(fps)]
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


def require_gst_rtsp() -> None:
    """A missing RTSP server fails the run: it must not quietly skip what the issue asks for."""
    if not gst_rtsp_available():
        pytest.fail(
            "Debian's gst-rtsp-server is not installed (python3-gi, "
            "gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-*): run scripts/setup"
        )
