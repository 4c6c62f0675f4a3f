"""One camera's track: its packets as they arrive, cut into sealed segments at its keyframes.

A thread per camera owns the camera's connection (``hardware.RtspStream``) and the segment
file being written, so every FFmpeg object is used by one thread (the recorder, ending a run,
takes the track's lock to seal what a silent camera holds). For each packet:

- before the run's first keyframe (joining a running stream, a reconnection), nothing can be
  recorded: a segment must start with a keyframe to decode alone. The wait is counted as
  such (``join_wait_us``), never as lost or filled frames;
- a segment is cut at the first keyframe after ``segment_seconds``; a camera whose keyframes
  come further apart than that makes longer segments, which is noted on the record once;
- the sound packets are held until the picture has passed their instant, so that each goes
  into the segment its time belongs to.

A segment's place on the session timeline is the capture time of its first keyframe; the
next one of the same connection starts exactly where it ends, so a track's segments tile its
timeline until the camera drops out. A dropped camera is ``device_lost`` for its track only;
the reconnection resumes at its next keyframe, ``device_restored``, and the gap is in the
manifest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hardware import AudioChunk, Clock, HardwareError, RtspStream, StreamPacket
from recorder.capture import reopen_delay
from recorder.passthrough.counters import DeviceCounters
from recorder.passthrough.remux import RemuxedSegment
from recorder.passthrough.runs import NS_PER_US, Run
from recorder.passthrough.sidecar import write_start
from recorder.status import SealTiming, StatusBoard

log = logging.getLogger("sealroom.recorder")
LONG_KEYFRAME_FACTOR = 1.25  # keyframes this much further apart than a segment are noted
KEYFRAME_SAMPLES = 2  # consecutive long intervals: the camera's setting, not one stall
NS_PER_SECOND = 1_000_000_000


class TrackWriter(Protocol):
    """What a track needs of the session writer (``evidence_store.SessionWriter``)."""

    def inflight_path(self, index: int, track: str | None = None) -> Path: ...
    def seal_segment(
        self, index: int, *, start_us: int, duration_us: int, track: str | None = None
    ) -> object: ...
    def device_lost(self, device: str, reason: str) -> None: ...
    def device_restored(self, device: str) -> None: ...
    def note(self, reason: str, *, device: str | None = None) -> None: ...


@dataclass
class _Open:
    """The segment being written."""

    file: RemuxedSegment
    index: int
    start_us: int
    first_captured_ns: int  # its first keyframe's
    last_captured_ns: int


class CameraTrack:
    """Records one camera into track ``track_id`` of the session (see the module docstring)."""

    def __init__(
        self,
        *,
        track_id: str,
        stream: RtspStream,
        writer: TrackWriter,
        board: StatusBoard,
        runs: Callable[[], Run | None],
        segment_seconds: int,
        clock: Clock,
        sound: Callable[[AudioChunk], None] | None = None,
        sound_format: tuple[int, int] = (48000, 1),
    ) -> None:
        self.track_id = track_id
        self.stream = stream
        self.name = stream.name
        self.writer = writer
        self.board = board
        self.counters = DeviceCounters(stream.name, "camera", track_id)
        self.connected = threading.Event()  # the first connection answered (or failed)
        self.open_error: str | None = None
        self.last_error: str | None = None
        self.last_captured_ns: int | None = None
        self.failure: BaseException | None = None
        self.audio_refused = 0  # sound packets the muxer would not take (logged at the end)
        self._runs = runs
        self._segment_ns = segment_seconds * NS_PER_SECOND
        self._segment_seconds = segment_seconds
        self._clock = clock
        self._sound = sound
        self._sound_format = sound_format
        self._lock = threading.Lock()  # the open segment: this thread, or the recorder
        self._open: _Open | None = None
        self._run_of_open: Run | None = None
        self._index = 0  # the next segment's index in the track
        self._end_us = 0  # where the track's last sealed segment ends
        self._pending_audio: list[StreamPacket] = []
        self._frame_ns = NS_PER_SECOND // 30
        self._last_video_captured: int | None = None
        self._last_keyframe: int | None = None
        self._noted_long_keyframes = False
        self._keyframe_intervals: list[int] = []
        self._waiting_since: int | None = None  # joining: when the wait for a keyframe began
        self._lost = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"track-{track_id}", daemon=True)

    # -- control (any thread) ------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def finish_run(self, run: Run) -> None:
        """Seal what the track holds of ``run`` (the run is ending; nothing of it comes
        after). Safe from any thread: the recorder calls it for a camera gone silent."""
        with self._lock:
            if run.is_finished(self.track_id):
                return
            self._close_segment(end_ns=None)
            self._pending_audio.clear()
            self._waiting_since = None
            run.finished(self.track_id)

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def end_us(self) -> int:
        """Where the track's last sealed segment ends on the session timeline."""
        return self._end_us

    def position_us(self, run: Run | None) -> int:
        """How far the track has recorded: its open segment's newest picture, or its end."""
        current = self._open
        if current is None or run is None:
            return self._end_us
        return max(self._end_us, run.session_us(current.last_captured_ns))

    def abandon(self) -> None:
        """Close the open segment's file unsealed: it stays in flight for recovery."""
        with self._lock:
            current, self._open = self._open, None
            if current is not None:
                current.file.abort()

    # -- the track's thread ----------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._connect_loop()
        except BaseException as exc:  # surfaced by the recorder, never swallowed
            self.failure = exc
            log.exception("track %s failed", self.track_id)
        finally:
            self.stream.close()

    def _connect_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self.stream.connect()
            except HardwareError as exc:
                self._failed(str(exc), first=not self.connected.is_set())
                if self._stopping.wait(reopen_delay(failures)):
                    return
                failures += 1
                continue
            self.connected.set()
            self._joined()
            try:
                for item in self.stream.packets():
                    failures = 0
                    if self._stopping.is_set():
                        return
                    self._take(item)
            except HardwareError as exc:
                self._failed(str(exc), first=False)
            if self._stopping.wait(reopen_delay(failures)):
                return
            failures += 1

    def _failed(self, reason: str, *, first: bool) -> None:
        self.last_error = reason
        if first:
            self.open_error = reason
            self.connected.set()
        with self._lock:
            self._close_segment(end_ns=None)
            self._pending_audio.clear()
        run = self._runs()
        if not self._lost and run is not None and not run.ending():
            self._lost = True
            self.writer.device_lost(self.name, reason)
            self.board.lost(self.name, reason)

    def _joined(self) -> None:
        """A new connection: the next keyframe starts the track again."""
        self._last_video_captured = None
        self._last_keyframe = None

    def _take(self, item: StreamPacket) -> None:
        if item.kind == "audio" and self._sound is not None:
            rate, channels = self._sound_format
            self._sound(self.stream.decode_audio(item, rate, channels))
        with self._lock:
            run = self._runs()
            if run is None or run.is_finished(self.track_id):
                return  # paused, or this run's part is sealed: nothing is recorded
            if item.kind == "video":
                self.counters.frames_received += 1
                self.last_captured_ns = item.captured_ns
            if run.until_ns is not None and item.captured_ns >= run.until_ns:
                # Sound arrives ahead of the picture it goes with: only a picture from the
                # run's end on says that nothing more of the run will come.
                if item.kind == "video":
                    self._close_segment(end_ns=run.until_ns)
                    self._pending_audio.clear()
                    run.finished(self.track_id)
                return
            if item.captured_ns < run.origin_ns:
                return  # captured before the run began
            if item.kind == "audio":
                if self._open is not None:
                    self._pending_audio.append(item)
                return
            self._video(run, item)

    def _video(self, run: Run, item: StreamPacket) -> None:
        last = self._last_video_captured
        if last is not None and 0 < item.captured_ns - last < NS_PER_SECOND:
            self._frame_ns = item.captured_ns - last
        self._last_video_captured = item.captured_ns
        if item.keyframe:
            self._keyframe_interval(item)
        current = self._open
        if current is None:
            if self._waiting_since is None:
                self._waiting_since = max(run.origin_ns, item.captured_ns)
            if not item.keyframe:
                return  # joining: a segment starts with a keyframe
            self._open_segment(run, item)
            current = self._open
            assert current is not None
        elif item.keyframe and item.captured_ns - current.first_captured_ns >= (
            self._segment_ns - self._frame_ns // 2
        ):
            self._flush_audio(before_ns=item.captured_ns)
            self._close_segment(end_ns=item.captured_ns)
            self._open_segment(run, item)
            current = self._open
            assert current is not None
        self._flush_audio(before_ns=item.captured_ns)
        if current.file.add(item):
            current.last_captured_ns = item.captured_ns
        else:
            self.counters.frames_dropped += 1

    def _keyframe_interval(self, item: StreamPacket) -> None:
        last, self._last_keyframe = self._last_keyframe, item.captured_ns
        if last is None or self._noted_long_keyframes:
            return
        # The camera's setting, not a stall: its last intervals were all long.
        self._keyframe_intervals.append(item.captured_ns - last)
        del self._keyframe_intervals[:-KEYFRAME_SAMPLES]
        if len(self._keyframe_intervals) < KEYFRAME_SAMPLES:
            return
        interval = min(self._keyframe_intervals)
        if interval > self._segment_ns * LONG_KEYFRAME_FACTOR:
            self._noted_long_keyframes = True
            reason = (
                f"{self.name} sends a keyframe every {interval / NS_PER_SECOND:.1f} s, longer "
                f"than segment_seconds ({self._segment_seconds} s): its segments are cut at "
                f"its keyframes, so they are about {interval / NS_PER_SECOND:.1f} s long"
            )
            log.warning("%s", reason)
            self.writer.note(reason, device=self.name)

    def _open_segment(self, run: Run, item: StreamPacket) -> None:
        assert self.stream.video_stream is not None
        start_us = max(run.session_us(item.captured_ns), self._end_us)
        if self._waiting_since is not None:
            self.counters.join_wait_us += max(0, item.captured_ns - self._waiting_since) // 1000
            self._waiting_since = None
        if self._lost:
            self._lost = False
            self.writer.device_restored(self.name)
            self.board.restored(self.name)
        path = self.writer.inflight_path(self._index, self.track_id)
        write_start(path, start_us)
        fmt = self.stream.format
        transcode = None if fmt is None or fmt.audio_fits_mp4 else self._sound_format[0]
        file = RemuxedSegment(
            path,
            video=self.stream.video_stream,
            audio=self.stream.audio_stream,
            transcode_audio_rate=transcode,
            base_ns=item.captured_ns,
        )
        self._open = _Open(
            file=file,
            index=self._index,
            start_us=start_us,
            first_captured_ns=item.captured_ns,
            last_captured_ns=item.captured_ns,
        )
        self._run_of_open = run

    def _flush_audio(self, *, before_ns: int) -> None:
        current = self._open
        keep: list[StreamPacket] = []
        for audio in self._pending_audio:
            if audio.captured_ns >= before_ns:
                keep.append(audio)
            elif current is not None and audio.captured_ns >= current.first_captured_ns:
                if self.stream.format is not None and not self.stream.format.audio_fits_mp4:
                    rate, channels = self._sound_format
                    current.file.add_samples(self.stream.decode_audio(audio, rate, channels))
                elif not current.file.add(audio):
                    self.audio_refused += 1
        self._pending_audio = keep

    def _close_segment(self, *, end_ns: int | None) -> None:
        """Close and seal the open segment; it ends at ``end_ns`` (the next keyframe's
        capture, the run's end), or one frame after its last picture."""
        current, run = self._open, self._run_of_open
        if current is None or run is None:
            return
        if end_ns is None:
            end_ns = current.last_captured_ns + self._frame_ns
        self._flush_audio(before_ns=end_ns)  # the sound up to the segment's end
        self._open = None
        current.file.close()
        end_us = max(run.session_us(end_ns), current.start_us + 1)
        self.writer.seal_segment(
            current.index,
            start_us=current.start_us,
            duration_us=end_us - current.start_us,
            track=self.track_id,
        )
        sealed_ns = self._clock.now_ns()
        self._index += 1
        self._end_us = end_us
        self.counters.sealed((sealed_ns - current.last_captured_ns) // NS_PER_US)
        self.board.sealed(
            SealTiming(
                first_frame_ns=current.first_captured_ns,
                last_frame_ns=current.last_captured_ns,
                sealed_ns=sealed_ns,
            )
        )
