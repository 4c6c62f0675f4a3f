"""A real RTSP camera for the tests: Debian's gst-rtsp-server, run by Debian's own Python.

    /usr/bin/python3 tests/support/rtsp_server.py PORT [--size 320x240] [--fps 15]

Serves ``rtsp://127.0.0.1:PORT/cam1``: a moving test pattern in H.264 (one keyframe a second,
so a client that reconnects gets a picture within a second) plus Opus test sound. Prints
``ready`` on stdout once it listens. The GObject bindings belong to the system interpreter,
not to the project's venv (docs/recipes.md), hence a separate process.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,width={width},height={height},framerate={args.fps}/1 ! "
        f"videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast "
        f"key-int-max={args.fps} ! rtph264pay name=pay0 pt=96 "
        f"audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! "
        f"opusenc ! rtpopuspay name=pay1 pt=97 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam1", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        sys.exit(1)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
