"""The recorder service's metrics (``recorder serve --metrics-port``): the room's state,
what it sealed and how fast, its devices and sound, its alarm, and what the time-stamp
authority says of its clock. Read from the service at each scrape, except the seal-latency
histogram, which hears of every seal as it happens."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from recorder.control import DeviceHealth
from recorder.service.room import RoomService
from recorder.status import SealTiming

STATES = ("idle", "recording", "paused")
# From a segment's last frame to its seal: tens of milliseconds normally; seconds is trouble.
SEAL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RoomCollector(Collector):
    """``sealroom_recorder_*``, ``sealroom_segments_sealed_total``, ``sealroom_seal_latency_
    seconds``, ``sealroom_frames_*``, ``sealroom_device_*``, ``sealroom_audio_level_dbfs``,
    ``sealroom_tsa_clock_skew_seconds``: labelled with the room."""

    def __init__(self, service: RoomService) -> None:
        self.service = service
        self.room = service.room
        self.seal_latency = Histogram(
            "sealroom_seal_latency_seconds",
            "From a segment's last frame to its seal",
            ["room"],
            buckets=SEAL_BUCKETS,
            registry=None,
        )
        self.seal_latency.labels(self.room)  # the series exists before the first seal
        service.add_seal_listener(self._sealed)

    def _sealed(self, timing: SealTiming) -> None:
        self.seal_latency.labels(self.room).observe(timing.after_last_frame_seconds)

    def collect(self) -> Iterator[Metric]:
        status = self.service.status()
        totals = self.service.totals()
        room = [self.room]
        state = GaugeMetricFamily(
            "sealroom_recorder_state", "1 for the room's current state", labels=["room", "state"]
        )
        for name in STATES:
            state.add_metric([self.room, name], 1.0 if status.state == name else 0.0)
        yield state
        yield _gauge(
            "sealroom_recorder_alarm",
            "1 while the room has an alarm",
            room,
            status.alarm is not None,
        )
        for name, text, value in (
            (
                "sealroom_sessions_started",
                "Sessions started by this service",
                totals.sessions_started,
            ),
            ("sealroom_segments_sealed", "Segments sealed", totals.segments_sealed),
            ("sealroom_frames_dropped", "Frames delivered but not recorded", totals.frames_dropped),
            (
                "sealroom_frames_filled",
                "Frames with no fresh picture (repeated or NO SIGNAL)",
                totals.frames_filled,
            ),
            (
                "sealroom_silence_filled_seconds",
                "Sound with no microphone samples",
                totals.silence_filled_seconds,
            ),
        ):
            counter = CounterMetricFamily(name, text, labels=["room"])
            counter.add_metric(room, float(value))
            yield counter
        if totals.last_seal_unix is not None:
            yield _gauge(
                "sealroom_last_seal_timestamp_seconds",
                "When the room last sealed a segment (Unix time)",
                room,
                totals.last_seal_unix,
            )
        yield from self._devices(status.devices)
        yield from self._clock()
        yield from self.seal_latency.collect()

    def _devices(self, devices: Sequence[DeviceHealth]) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "sealroom_device_up",
            "1 while a device of the recording delivers, 0 while it is lost",
            labels=["room", "device", "kind"],
        )
        level = GaugeMetricFamily(
            "sealroom_audio_level_dbfs",
            "The microphone's RMS level over the last ~0.3 s",
            labels=["room", "device"],
        )
        age = GaugeMetricFamily(
            "sealroom_device_last_frame_age_seconds",
            "Since the device's newest frame was captured",
            labels=["room", "device"],
        )
        for device in devices:
            up.add_metric([self.room, device.name, device.kind], 0.0 if device.lost else 1.0)
            if device.audio_level_dbfs is not None:
                level.add_metric([self.room, device.name], device.audio_level_dbfs)
            if device.last_frame_age_seconds is not None:
                age.add_metric([self.room, device.name], device.last_frame_age_seconds)
        yield up
        yield level
        yield age

    def _clock(self) -> Iterator[Metric]:
        trusted = self.service.trusted_time
        if trusted is None:
            return
        yield _gauge(
            "sealroom_tsa_clock_skew_seconds",
            "How far outside the tolerance the newest time-stamp put the device's clock "
            "(0: it agrees with the authority)",
            [self.room],
            trusted.last_skew_seconds,
        )
        alarms = CounterMetricFamily(
            "sealroom_clock_skew_alarms",
            "Time-stamps that disagreed with the device's clock",
            labels=["room"],
        )
        alarms.add_metric([self.room], float(trusted.skew_alarms))
        yield alarms


def _gauge(name: str, text: str, labels: list[str], value: float | bool) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, text, labels=["room"])
    gauge.add_metric(labels, float(value))
    return gauge
