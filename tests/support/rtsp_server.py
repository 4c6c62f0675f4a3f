"""A real RTSP camera for the tests: Debian's gst-rtsp-server, run by Debian's own Python.

    /usr/bin/python3 tests/support/rtsp_server.py PORT [--size 320x240] [--fps 15]
        [--codec h264|h265] [--keyframe-seconds 1] [--audio opus|aac|pcma|none]
        [--audio-clock 48000] [--markers SECONDS] [--packet-log FILE]

Serves ``rtsp://127.0.0.1:PORT/cam1``: a moving test pattern (H.264 by default, H.265 with
``x265enc``), a keyframe every ``--keyframe-seconds``, plus sound (Opus by default). Prints
``ready`` on stdout once it listens. The GObject bindings belong to the system interpreter,
not to the project's venv, hence a separate process (and the standard library only).

The sound is made here, sample by sample, so that its clock can be wrong as a cheap camera's
is: ``--audio-clock 48048`` sends 48,048 samples for every second of the camera's clock while
the stream says 48 kHz (0.1% fast). Each chunk is stamped with the camera's clock, as the
camera's sender reports would map it.

``--markers S`` puts a flash and a beep on the same instant every S seconds of the camera's
clock: the frame nearest the instant is turned white, and a 1 kHz beep starts on the sample
of that instant (counted at the real ``--audio-clock`` rate). A recording keeps them together
only if it places both on one clock.

``--packet-log FILE`` writes one line per encoded picture sent: its timestamp and the
SHA-256 of each of its coded slices (VCL NAL units), so a test can check that what was
sealed is, byte for byte, what the camera sent.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import signal
import struct
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

CHUNK = 960  # samples per pushed buffer: 20 ms at 48 kHz
BEEP_SECONDS = 0.06
BEEP_HZ = 1000.0
TONE_HZ = 440.0


def video_branch(args: argparse.Namespace, width: int, height: int) -> str:
    keyint = max(1, round(args.fps * args.keyframe_seconds))
    if args.codec == "h265":
        encoder = (
            f"x265enc speed-preset=ultrafast tune=zerolatency key-int-max={keyint} "
            f"option-string=min-keyint={keyint}:scenecut=0 ! video/x-h265,stream-format=byte-stream"
            f" ! rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    else:
        encoder = (
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyint} "
            f"option-string=scenecut=0 ! video/x-h264,stream-format=byte-stream "
            f"! rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    return (
        f"videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,width={width},height={height},framerate={args.fps}/1 ! "
        f"videobalance name=flash ! videoconvert ! {encoder}"
    )


def audio_branch(args: argparse.Namespace) -> str:
    if args.audio == "none":
        return ""
    rate = 8000 if args.audio == "pcma" else 48000
    caps = f"audio/x-raw,format=S16LE,rate={rate},channels=1,layout=interleaved"
    encoder = {
        "opus": "opusenc ! rtpopuspay name=pay1 pt=97",
        "aac": "voaacenc ! rtpmp4gpay name=pay1 pt=97",
        "pcma": "alawenc ! rtppcmapay name=pay1 pt=8",
    }[args.audio]
    return (
        f" appsrc name=sound is-live=true format=time do-timestamp=false caps={caps} "
        f"! audioconvert ! {encoder}"
    )


class Sound:
    """Pushes the camera's sound in real time, at ``clock_rate`` samples a second of the
    camera's clock, labelled ``label_rate``."""

    def __init__(
        self, appsrc: Gst.Element, *, label_rate: int, clock_rate: float, markers: float
    ) -> None:
        self.appsrc = appsrc
        self.label_rate = label_rate
        self.clock_rate = clock_rate
        self.markers = markers
        self.chunk = CHUNK * label_rate // 48000
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def samples(self, first: int, count: int, origin_ns: int) -> bytes:
        """Samples ``first`` to ``first + count`` of the stream, the first sample being
        taken at running time ``origin_ns``."""
        values = []
        origin = origin_ns / 1e9
        for i in range(first, first + count):
            t = origin + i / self.clock_rate  # when the sample is taken, camera's clock
            if self.markers:
                since = t % self.markers
                beep = t >= self.markers and since < BEEP_SECONDS
                value = 0.5 * math.sin(2 * math.pi * BEEP_HZ * since) if beep else 0.0
            else:
                value = 0.3 * math.sin(2 * math.pi * TONE_HZ * t)
            values.append(round(value * 32767))
        return struct.pack(f"<{count}h", *values)

    def run(self) -> None:
        clock = None
        while clock is None and not self.stopping.is_set():
            clock = self.appsrc.get_clock()
            if clock is None:
                self.stopping.wait(0.01)
        if clock is None:
            return
        base = self.appsrc.get_base_time()
        origin = clock.get_time() - base  # running time of sample 0
        pushed = 0
        while not self.stopping.is_set():
            due = origin + round(pushed * 1e9 / self.clock_rate)
            now = clock.get_time() - base
            if due > now:
                self.stopping.wait(min(0.005, (due - now) / 1e9))
                continue
            data = self.samples(pushed, self.chunk, origin)
            buffer = Gst.Buffer.new_wrapped(data)
            buffer.pts = due
            buffer.duration = round(self.chunk * 1e9 / self.clock_rate)
            if self.appsrc.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
                return
            pushed += self.chunk


def split_nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream, without their start codes."""
    units, i, start = [], 0, -1
    while True:
        j = data.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        if start >= 0:
            end = j - 1 if j > 0 and data[j - 1] == 0 else j
            units.append(data[start:end])
        start = i = j + 3
    if start >= 0:
        units.append(data[start:])
    return [u for u in units if u]


def is_slice(unit: bytes, codec: str) -> bool:
    if codec == "h265":
        return (unit[0] >> 1) & 0x3F < 32
    return 1 <= unit[0] & 0x1F <= 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--codec", choices=["h264", "h265"], default="h264")
    parser.add_argument("--keyframe-seconds", type=float, default=1.0)
    parser.add_argument("--audio", choices=["opus", "aac", "pcma", "none"], default="opus")
    parser.add_argument("--audio-clock", type=float, default=0.0, help="samples a real second")
    parser.add_argument("--markers", type=float, default=0.0)
    parser.add_argument("--packet-log", default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f"( {video_branch(args, width, height)}{audio_branch(args)} )")
    factory.set_shared(True)
    log = open(args.packet_log, "a", buffering=1) if args.packet_log else None  # noqa: SIM115
    sounds: list[Sound] = []
    frame_ns = 1e9 / args.fps

    def flash(pad: Gst.Pad, info: Gst.PadProbeInfo, balance: Gst.Element) -> Gst.PadProbeReturn:
        pts = info.get_buffer().pts
        if args.markers and pts != Gst.CLOCK_TIME_NONE:
            marker_ns = args.markers * 1e9
            nearest = round(pts / marker_ns) * marker_ns
            lit = nearest > 0 and abs(pts - nearest) < frame_ns / 2
            balance.set_property("brightness", 1.0 if lit else 0.0)
        return Gst.PadProbeReturn.OK

    def sent(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buffer = info.get_buffer()
        data = buffer.extract_dup(0, buffer.get_size())
        slices = [u for u in split_nal_units(data) if is_slice(u, args.codec)]
        if slices and log is not None:
            digests = ",".join(hashlib.sha256(u).hexdigest() for u in slices)
            log.write(f"{buffer.pts} {digests}\n")
        return Gst.PadProbeReturn.OK

    def configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        pipeline = media.get_element()
        balance = pipeline.get_by_name("flash")
        balance.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, flash, balance)
        pipeline.get_by_name("pay0").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, sent)
        appsrc = pipeline.get_by_name("sound")
        if appsrc is not None:
            label = 8000 if args.audio == "pcma" else 48000
            sound = Sound(
                appsrc, label_rate=label, clock_rate=args.audio_clock or label, markers=args.markers
            )
            sounds.append(sound)
            sound.thread.start()
            media.connect("unprepared", lambda _media: sound.stopping.set())

    factory.connect("media-configure", configure)
    server.get_mount_points().add_factory("/cam1", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        sys.exit(1)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()
    for sound in sounds:
        sound.stopping.set()


if __name__ == "__main__":
    main()
