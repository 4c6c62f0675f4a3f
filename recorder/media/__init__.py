"""Picture and sound: the timeline arithmetic, frame choice, compositing, the caption and the
segment encoder."""

from recorder.media.audio_buffer import AudioBuffer
from recorder.media.compositor import Compositor, Picture
from recorder.media.drift import ClockFollower, Correction, Placed
from recorder.media.frame_sync import CameraFeed, Choice, Pick, SlotTiming
from recorder.media.overlay import Caption
from recorder.media.planar import Planar, to_bgr
from recorder.media.segment_encoder import (
    CONTAINER_OPTIONS,
    EncodedSegment,
    SegmentEncoder,
    fsync_segment,
)
from recorder.media.sound_encoder import SoundEncoder
from recorder.media.timeline import (
    NS_PER_SECOND,
    US_PER_SECOND,
    samples_before,
    segment_is_full,
    segment_times,
    slot_at,
    slots_before,
)

__all__ = [
    "CONTAINER_OPTIONS",
    "NS_PER_SECOND",
    "US_PER_SECOND",
    "AudioBuffer",
    "CameraFeed",
    "Caption",
    "Choice",
    "ClockFollower",
    "Compositor",
    "Correction",
    "EncodedSegment",
    "Pick",
    "Picture",
    "Placed",
    "Planar",
    "SegmentEncoder",
    "SlotTiming",
    "SoundEncoder",
    "fsync_segment",
    "samples_before",
    "segment_is_full",
    "segment_times",
    "slot_at",
    "slots_before",
    "to_bgr",
]
