"""Capture times for live streams (network cameras, USB devices, sound cards).

A live device's own timestamps are smooth but on its own clock; the moment its data reaches
us is on ours but jittered by the network, the driver and the decoder. ``ArrivalAnchor``
keeps the device's spacing and puts it on our clock at the *earliest* arrival seen: data never
arrives before it was captured, so the least-delayed item bounds the offset best. The anchor
creeps later by ``drift_ppm`` per second of stream so that a device clock running slow
against ours is followed, and it is reset at a discontinuity (a reconnect, a timestamp jump).
"""

from __future__ import annotations

from hardware.clock import NS_PER_SECOND

RESYNC_NS = NS_PER_SECOND  # a jump this large is a new stream, not jitter
DEFAULT_DRIFT_PPM = 1000  # cheap device clocks are off by up to ~100 ppm; follow 10x that


class ArrivalAnchor:
    """Maps a stream's media times to capture times on our clock (see the module docstring)."""

    def __init__(self, *, drift_ppm: int = DEFAULT_DRIFT_PPM, latency_ns: int = 0) -> None:
        self._drift_ppm = drift_ppm
        self._latency_ns = latency_ns  # a known capture-to-arrival delay (e.g. an IP camera's)
        self._offset: int | None = None
        self._last_media: int | None = None

    def reset(self) -> None:
        self._offset = self._last_media = None

    def captured_ns(self, *, media_ns: int | None, arrival_ns: int) -> int:
        """When the item whose media time is ``media_ns`` was captured; without a media time,
        its arrival (less the known latency)."""
        if media_ns is None:
            return arrival_ns - self._latency_ns
        offset = arrival_ns - media_ns
        last = self._last_media
        if (
            self._offset is None
            or last is None
            or media_ns < last
            or abs(offset - self._offset) > RESYNC_NS
        ):
            self._offset = offset
        else:
            creep = (media_ns - last) * self._drift_ppm // 1_000_000
            self._offset = min(self._offset + creep, offset)
        self._last_media = media_ns
        return media_ns + self._offset - self._latency_ns
