"""Segments as an outsider sees them: checked with Debian's own ffmpeg/ffprobe, not with PyAV.

A 3 s session is recorded in real time through the whole pipeline (synthetic devices, the
segment encoder, the real SessionWriter), then every sealed segment is probed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evidence_store.model import Manifest, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import ensure_device_identity
from evidence_store.store import FilesystemStore
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.errors import RecorderError
from recorder.media.segment_encoder import SegmentEncoder
from recorder.session_recorder import SessionRecorder
from recorder.settings import RecorderSettings, media_info
from tests.support.paths import ROOT

SECONDS = 3.0
SETTINGS = RecorderSettings(width=320, height=240, fps=30, segment_seconds=1)


@dataclass(frozen=True)
class Recording:
    manifest: Manifest
    segments: list[Path]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    root = tmp_path_factory.mktemp("segments")
    store = FilesystemStore.open(root / "store", create=True)
    signer = ensure_device_identity(root / "keys", root / "trust", device_name="room-test")
    writer = SessionWriter.start(
        store, signer, SessionMetadata(case_number="T-1", room="R1"), media_info(SETTINGS)
    )
    recorder = SessionRecorder(
        SyntheticCamera(320, 240, fps=30), SyntheticMicrophone(), SETTINGS, writer
    )
    recorder.start()
    recorder.wait_until(SECONDS, timeout=30)
    manifest = recorder.stop("test finished")
    writer.close()
    return Recording(manifest, [writer.path / "segments" / s.name for s in manifest.segments])


def ffprobe(*args: str | Path) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def decode_errors(*input_args: str | Path, filters: tuple[str, ...] = ()) -> str:
    """What ffmpeg says when it decodes the input completely; empty means clean."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", *map(str, input_args), *filters, "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    failed = "" if result.returncode == 0 else f" (exit {result.returncode})"
    return result.stderr.strip() + failed


def video_packets(*input_args: str | Path) -> list[dict[str, Any]]:
    packets: list[dict[str, Any]] = ffprobe(
        *input_args, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags"
    )["packets"]
    return packets


def test_the_recording_has_the_requested_length(recording: Recording) -> None:
    assert len(recording.segments) == 3
    assert [s.index for s in recording.manifest.segments] == [0, 1, 2]
    assert recording.manifest.duration_us == 3_000_000


def test_every_segment_decodes_without_errors(recording: Recording) -> None:
    for path in recording.segments:
        assert decode_errors("-i", path) == "", path.name


def test_every_segment_starts_with_its_only_keyframe(recording: Recording) -> None:
    for path in recording.segments:
        flags = [p["flags"] for p in video_packets("-i", path)]
        assert flags[0].startswith("K"), path.name
        # One keyframe per segment: frames decoded from a test source arrive flagged as
        # keyframes, and the encoder must not obey the flag (docs/recording.md).
        assert sum("K" in f for f in flags) == 1, path.name


def test_every_segment_has_its_frames_from_time_zero(recording: Recording) -> None:
    for ref, path in zip(recording.manifest.segments, recording.segments, strict=True):
        streams = ffprobe(
            "-count_frames",
            "-show_entries",
            "stream=codec_type,codec_name,nb_read_frames,start_time,width,height",
            path,
        )["streams"]
        video = next(s for s in streams if s["codec_type"] == "video")
        assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 240)
        assert int(video["nb_read_frames"]) == ref.duration_us * 30 // 1_000_000 == 30
        assert float(video["start_time"]) == 0.0


def test_every_segment_has_real_sound(recording: Recording) -> None:
    for path in recording.segments:
        streams = ffprobe(
            "-show_entries", "stream=codec_type,codec_name,sample_rate,channels", path
        )["streams"]
        audio = next(s for s in streams if s["codec_type"] == "audio")
        assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 1)
        pcm = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-i",
                str(path),
                "-map",
                "0:a",
                "-f",
                "s16le",
                "-ac",
                "1",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
        # One second of sound, give or take the AAC frame the codec adds at each end.
        assert 48000 - 1024 <= len(samples) <= 48000 + 2 * 1024, path.name
        rms_dbfs = 20 * np.log10(np.sqrt(np.mean(samples**2)) / 32768)
        assert -40 < rms_dbfs < -3, (path.name, rms_dbfs)


def test_segments_concatenate_into_one_stream(recording: Recording, tmp_path: Path) -> None:
    listing = tmp_path / "plain.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in recording.segments))
    concat = ("-f", "concat", "-safe", "0", "-i", listing)
    assert decode_errors(*concat) == ""
    times = sorted(float(p["pts_time"]) for p in video_packets(*concat))
    assert len(times) == 90
    assert abs(times[-1] - times[0] + 1 / 30 - SECONDS) <= SETTINGS.segment_seconds


def test_manifest_durations_join_the_segments_exactly(recording: Recording, tmp_path: Path) -> None:
    """With each segment's sealed duration (what an export writes), the video timeline has no
    gap at the joins. The AAC padding (< 1 frame) overlaps; aresample trims it."""
    listing = tmp_path / "exact.txt"
    listing.write_text(
        "".join(
            f"file '{p}'\nduration {s.duration_us / 1e6:.6f}\n"
            for p, s in zip(recording.segments, recording.manifest.segments, strict=True)
        )
    )
    concat = ("-f", "concat", "-safe", "0", "-i", listing)
    assert decode_errors(*concat, filters=("-af", "aresample=async=1")) == ""
    times = sorted(float(p["pts_time"]) for p in video_packets(*concat))
    steps = np.diff(times)
    assert np.allclose(steps, 1 / 30, atol=1e-3), steps.max()


def test_segment_encoder_rejects_a_frame_of_the_wrong_size(tmp_path: Path) -> None:
    with (
        SegmentEncoder(tmp_path / "000000.mp4", SETTINGS) as encoder,
        pytest.raises(RecorderError, match="the session records 320x240"),
    ):
        encoder.add_frame(np.zeros((480, 640, 3), dtype=np.uint8))


def test_segment_encoder_reports_what_it_wrote(tmp_path: Path) -> None:
    camera, mic = SyntheticCamera(320, 240), SyntheticMicrophone()
    encoder = SegmentEncoder(tmp_path / "000000.mp4", SETTINGS)
    for i in range(17):  # a short segment, as a pause leaves it
        encoder.add_frame(camera.render(i))
    encoder.add_samples(np.concatenate([mic.samples(i) for i in range(29)])[:27200])
    encoded = encoder.close()
    assert (encoded.frames, encoded.samples, encoded.duration_us) == (17, 27200, 566_666)
    assert decode_errors("-i", encoded.path) == ""
    with pytest.raises(RecorderError, match="already closed"):
        encoder.close()


CRASHING_WRITER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
    from recorder.media.segment_encoder import SegmentEncoder
    from recorder.settings import RecorderSettings

    settings = RecorderSettings(width=320, height=240, fps=30, segment_seconds=4)
    camera, mic = SyntheticCamera(320, 240), SyntheticMicrophone()
    encoder = SegmentEncoder(Path(sys.argv[1]), settings)
    for i in range(75):  # 2.5 s of a 4 s segment
        encoder.add_frame(camera.render(i))
        if i % 3 == 2:
            encoder.add_samples(mic.samples(i // 3 * 5))
            for k in range(1, 5):
                encoder.add_samples(mic.samples(i // 3 * 5 + k))
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_encoder_leaves_the_fragments_it_had_written(tmp_path: Path) -> None:
    path = tmp_path / "000000.mp4"
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -9, killed.stderr
    assert decode_errors("-i", path) == ""
    frames = int(
        ffprobe(
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            path,
        )["streams"][0]["nb_read_frames"]
    )
    assert 30 <= frames < 75  # whole fragments of ~1 s survive; the one in flight does not
