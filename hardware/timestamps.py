"""Capture times for live streams (network cameras, USB devices, sound cards).

A live device's own timestamps are smooth but on its own clock; the moment its data reaches
us is on ours but jittered by the network, the driver and the decoder. ``ArrivalAnchor``
keeps the device's spacing and puts it on our clock at the *earliest* arrival seen: data never
arrives before it was captured, so the least-delayed item bounds the offset best. The anchor
creeps later by ``drift_ppm`` per second of stream so that a device clock running slow
against ours is followed, and it is reset at a discontinuity (a reconnect, a timestamp jump).
An item that arrives late while its media time goes on is a stall (a busy machine, a network
hiccup), never a discontinuity: the anchor keeps its place, so a stall cannot move the
capture times of what follows.
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
        self._last_media: dict[int, int] = {}  # per stream: its media times only go forward
        self._newest: int | None = None  # the newest media time of any stream

    def reset(self) -> None:
        self._offset = self._newest = None
        self._last_media.clear()

    def captured_ns(self, *, media_ns: int | None, arrival_ns: int, stream: int = 0) -> int:
        """When the item whose media time is ``media_ns`` was captured; without a media time,
        its arrival (less the known latency).

        Streams of one source on one media clock (a camera's picture and sound) share the
        anchor, keyed by ``stream``: their items interleave, so only each stream's own media
        times must go forward, and the least-delayed item of either anchors both, which
        keeps the sync the camera gave them."""
        if media_ns is None:
            return arrival_ns - self._latency_ns
        offset = arrival_ns - media_ns
        last = self._last_media.get(stream)
        went_on = last is not None and media_ns > last  # its media time moved forward
        if (
            self._offset is None
            or self._newest is None
            or (last is not None and media_ns < last)
            or offset < self._offset - RESYNC_NS  # its time leapt ahead
            or (offset > self._offset + RESYNC_NS and not went_on)  # started again
        ):
            self._offset = offset
            self._last_media.clear()
            self._newest = None
        else:
            creep = max(0, media_ns - self._newest) * self._drift_ppm // 1_000_000
            self._offset = min(self._offset + creep, offset)
        self._last_media[stream] = media_ns
        self._newest = media_ns if self._newest is None else max(self._newest, media_ns)
        return media_ns + self._offset - self._latency_ns
