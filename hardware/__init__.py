"""Cameras and microphones: the capture protocols, the real drivers, the synthetic sources,
and discovery.

This package imports nothing else of the project."""

from hardware.clock import MONOTONIC, Clock, MonotonicClock, ScaledClock
from hardware.discovery import FoundCamera, FoundMicrophone, Inventory, discover
from hardware.errors import HardwareError
from hardware.media_file import FileCamera, FileMicrophone
from hardware.onvif import (
    WS_DISCOVERY_PORT,
    OnvifDevice,
    OnvifStream,
    discover_onvif,
    onvif_stream,
)
from hardware.rtsp import RtspCamera, redact, with_credentials
from hardware.rtsp_sound import CameraSound, RtspMicrophone
from hardware.rtsp_stream import RtspStream, StreamFormat, StreamPacket
from hardware.sound_card import AlsaMicrophone, PulseMicrophone
from hardware.sources import AudioChunk, Camera, Image, Microphone, Samples, VideoFrame
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from hardware.v4l2 import V4L2Camera

__all__ = [
    "MONOTONIC",
    "WS_DISCOVERY_PORT",
    "AlsaMicrophone",
    "AudioChunk",
    "Camera",
    "CameraSound",
    "Clock",
    "FileCamera",
    "FileMicrophone",
    "FoundCamera",
    "FoundMicrophone",
    "HardwareError",
    "Image",
    "Inventory",
    "Microphone",
    "MonotonicClock",
    "OnvifDevice",
    "OnvifStream",
    "PulseMicrophone",
    "RtspCamera",
    "RtspMicrophone",
    "RtspStream",
    "Samples",
    "ScaledClock",
    "StreamFormat",
    "StreamPacket",
    "SyntheticCamera",
    "SyntheticMicrophone",
    "V4L2Camera",
    "VideoFrame",
    "discover",
    "discover_onvif",
    "onvif_stream",
    "redact",
    "with_credentials",
]
