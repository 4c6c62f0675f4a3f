"""Cameras and microphones: the capture protocols and the synthetic sources.

This package imports nothing else of the project.
"""

from hardware.errors import HardwareError
from hardware.sources import AudioChunk, Camera, Microphone, VideoFrame
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone

__all__ = [
    "AudioChunk",
    "Camera",
    "HardwareError",
    "Microphone",
    "SyntheticCamera",
    "SyntheticMicrophone",
    "VideoFrame",
]
