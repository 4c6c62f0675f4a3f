"""What the browser's player needs to know about a segment's codecs."""

from __future__ import annotations

DEFAULT_VIDEO_CODEC = "avc1.640028"  # High profile, level 4.0: what x264 makes for 720p/1080p
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC


def avc_codec_string(head: bytes) -> str:
    """``avc1.PPCCLL`` from the first avcC box in the first bytes of an MP4 file."""
    at = head.find(b"avcC")
    if at < 0 or len(head) < at + 8:
        return DEFAULT_VIDEO_CODEC
    profile, compatibility, level = head[at + 5], head[at + 6], head[at + 7]
    return f"avc1.{profile:02x}{compatibility:02x}{level:02x}"


def mime_type(head: bytes) -> str:
    return f'video/mp4; codecs="{avc_codec_string(head)},{AUDIO_CODEC}"'
