"""The clocks, live-stream timestamps, the reader thread, and the real drivers' behaviour on a
machine without the devices (the only behaviour this machine can show honestly)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from hardware.clock import MONOTONIC, ScaledClock
from hardware.errors import HardwareError
from hardware.sound_card import AlsaMicrophone, PulseMicrophone, input_formats
from hardware.synthetic import SyntheticCamera
from hardware.threaded import ThreadedDevice
from hardware.timestamps import ArrivalAnchor
from hardware.v4l2 import V4L2Camera, device_index
from recorder.capture import REOPEN_DELAY_MAX_SECONDS, reopen_delay

MS = 1_000_000


def test_a_scaled_clock_runs_faster_and_paces_the_synthetic_sources() -> None:
    clock = ScaledClock(10)
    camera = SyntheticCamera(160, 120, fps=30, clock=clock)
    camera.open()
    began = time.monotonic()
    try:
        frames = [camera.read(timeout=5) for _ in range(31)]
    finally:
        camera.close()
    # Paced by the scaled clock: never faster than it allows, and well inside the real second
    # that an unscaled clock would take (a 10x margin, so a busy machine does not matter).
    assert 0.05 < time.monotonic() - began < 0.9
    stamps = [f.captured_ns for f in frames if f is not None]
    assert stamps[-1] - stamps[0] == 1_000_000_000  # seconds of the camera's clock


def test_a_clock_wait_ends_when_its_event_is_set() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    began = time.monotonic()
    assert MONOTONIC.wait(stop, MONOTONIC.now_ns() + 10_000 * MS)
    assert time.monotonic() - began < 1


def test_arrival_timestamps_keep_the_streams_spacing_without_the_jitter() -> None:
    anchor = ArrivalAnchor()
    jitter = [5, 0, 12, 3, 30, 1, 8, 0, 2, 9]  # network and decoder delay, ms
    stamps = [
        anchor.captured_ns(media_ns=i * 40 * MS, arrival_ns=(1000 + i * 40 + j) * MS)
        for i, j in enumerate(jitter)
    ]
    # Once the least-delayed frame (delay 0) is seen, the spacing is the stream's own (give or
    # take the anchor's creep of 1000 ppm, 0.04 ms a frame), not the 0-30 ms jitter.
    steps = [b - a for a, b in itertools.pairwise(stamps[1:])]
    assert all(abs(step - 40 * MS) <= 0.25 * MS for step in steps), steps
    assert all(
        s <= (1000 + i * 40 + j) * MS for i, (s, j) in enumerate(zip(stamps, jitter, strict=True))
    )


def test_arrival_timestamps_restart_at_a_discontinuity_and_subtract_latency() -> None:
    anchor = ArrivalAnchor(latency_ns=100 * MS)
    assert anchor.captured_ns(media_ns=0, arrival_ns=500 * MS) == 400 * MS
    # The camera reconnected: its timestamps start again from 0.
    assert anchor.captured_ns(media_ns=0, arrival_ns=9000 * MS) == 8900 * MS
    assert anchor.captured_ns(media_ns=None, arrival_ns=9500 * MS) == 9400 * MS


def test_arrival_timestamps_keep_their_place_through_a_stall() -> None:
    anchor = ArrivalAnchor()
    # 20 ms chunks; the reader is starved for 1.5 s, then catches up with what queued.
    arrivals = [i * 20 for i in range(50)] + [2500 + i for i in range(75)]
    arrivals += [i * 20 + 5 for i in range(125, 200)]
    stamps = [
        anchor.captured_ns(media_ns=i * 20 * MS, arrival_ns=(1000 + a) * MS)
        for i, a in enumerate(arrivals)
    ]
    # Every chunk where it was captured, give or take the anchor's creep of 1000 ppm towards
    # the 5 ms delay after the stall: the stall moved none of them.
    expected = [(1000 + i * 20) * MS for i in range(len(arrivals))]
    assert all(0 <= s - e <= 5 * MS for s, e in zip(stamps, expected, strict=True)), stamps


def test_arrival_timestamps_follow_a_slow_device_clock() -> None:
    anchor = ArrivalAnchor(drift_ppm=1000)
    # The device's clock runs 500 ppm slow: its 1 s is 1.0005 s of ours.
    last = 0
    for second in range(600):
        arrival = round(second * 1.0005 * 1e9) + 10 * MS
        last = anchor.captured_ns(media_ns=second * 1_000_000_000, arrival_ns=arrival)
    assert abs(last - (599 * 1.0005 * 1e9 + 10 * MS)) < 50 * MS  # followed, not 300 ms behind


class _Counting(ThreadedDevice[int]):
    def __init__(self, *, fail_after: int | None = None, fail_connect: bool = False) -> None:
        super().__init__("counter", buffer=4, live=True, open_timeout=2)
        self.fail_after, self.fail_connect = fail_after, fail_connect

    def _connect(self) -> None:
        if self.fail_connect:
            raise HardwareError("counter: unplugged")

    def _items(self) -> Iterator[int]:
        for i in range(1_000_000):
            if self.fail_after is not None and i == self.fail_after:
                raise HardwareError("counter: cable pulled")
            time.sleep(0.001)
            yield i

    def _disconnect(self) -> None:
        pass


def test_a_threaded_device_reads_fails_and_closes_cleanly() -> None:
    device = _Counting(fail_after=3)
    device.open()
    got = []
    with pytest.raises(HardwareError, match="cable pulled"):
        for _ in range(100):
            item = device.read(timeout=1)
            if item is not None:
                got.append(item)
    assert got == [0, 1, 2]  # everything delivered before the failure is read first
    device.close()
    with pytest.raises(HardwareError, match="unplugged"):
        _Counting(fail_connect=True).open()


def test_closing_a_threaded_device_wakes_a_blocked_read() -> None:
    device = _Counting()
    device.open()
    result: list[object] = []

    def drain() -> None:
        while True:
            item = device.read(timeout=30)
            if item is None:
                result.append(None)
                return

    reader = threading.Thread(target=drain)
    reader.start()
    time.sleep(0.05)
    device.close()
    reader.join(timeout=5)
    assert not reader.is_alive() and result == [None]


class _SlowToWake(threading.Event):
    """An event whose waiter wakes late, as a thread on a busy machine does."""

    def wait(self, timeout: float | None = None) -> bool:
        time.sleep(0.3)
        return super().wait(timeout)


def test_a_device_that_fails_before_open_wakes_is_open_and_reports_the_failure() -> None:
    device = _Counting(fail_after=2)
    device._connected = _SlowToWake()  # the device delivers and fails before open() wakes
    device.open()
    got = []
    with pytest.raises(HardwareError, match="cable pulled"):
        for _ in range(100):
            item = device.read(timeout=1)
            if item is not None:
                got.append(item)
    assert got == [0, 1]
    device.close()


def test_a_read_after_close_ends_quietly_but_a_device_never_opened_is_not_open() -> None:
    device = _Counting()
    device.open()
    device.close()
    assert device.read(timeout=0.1) is None  # a reader racing close() is not an error
    refused = _Counting(fail_connect=True)
    with pytest.raises(HardwareError, match="unplugged"):
        refused.open()
    with pytest.raises(HardwareError, match="not open"):
        refused.read(timeout=0.1)
    with pytest.raises(HardwareError, match="not open"):
        _Counting().read(timeout=0.1)


def test_reopening_backs_off_exponentially() -> None:
    delays = [reopen_delay(n) for n in range(8)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(delays) == REOPEN_DELAY_MAX_SECONDS


def test_a_missing_usb_camera_is_a_clear_hardware_error() -> None:
    camera = V4L2Camera("/dev/video63", width=640, height=480, fps=30, pixel_format="YUYV")
    with pytest.raises(HardwareError, match="/dev/video63 does not exist"):
        camera.open()
    assert (camera.width, camera.height, camera.fps) == (640, 480, 30)
    assert device_index("/dev/video12") == 12
    with pytest.raises(HardwareError, match="not a /dev/videoN"):
        device_index("/dev/null")


def test_a_missing_sound_card_is_a_clear_hardware_error() -> None:
    assert "alsa" in input_formats()  # PyAV's FFmpeg captures from ALSA
    with pytest.raises(HardwareError, match="cannot open the sound device"):
        AlsaMicrophone("hw:63,0").open()
    with pytest.raises(HardwareError, match="pulse"):
        PulseMicrophone().open()
