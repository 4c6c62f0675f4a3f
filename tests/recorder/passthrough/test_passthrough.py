"""Passthrough recording against real RTSP cameras (Debian's gst-rtsp-server): every camera
its own track, its packets sealed as it sent them, cut at its keyframes; a camera lost and
found again on its own; the room's sound from a camera's own microphone; camera sound MP4
cannot hold (G.711) encoded to AAC."""

from __future__ import annotations

import hashlib
import itertools
import time
from pathlib import Path

import pytest

from tests.support.ip_cameras.passthrough import (
    cameras,
    passthrough_room,
    probe,
    sealed_slices,
    track_segments,
    verified,
)
from tests.support.rtsp import x265_available


def sent_pictures(log: Path) -> list[tuple[str, ...]]:
    """Per picture the camera sent, the SHA-256 of each of its coded slices."""
    lines = log.read_text().splitlines()
    return [tuple(line.split(" ", 1)[1].split(",")) for line in lines if " " in line]


def test_each_camera_is_recorded_as_it_arrives_in_its_own_track(tmp_path: Path) -> None:
    if not x265_available():
        pytest.fail("x265enc is missing (gstreamer1.0-plugins-bad): run scripts/setup")
    log = tmp_path / "cam-A.log"
    configs: list[dict[str, object]] = [
        {"packet_log": log},
        {"codec": "h265", "audio": "none"},
        {"keyframe_seconds": 4.0, "audio": "none"},
    ]
    with cameras(*configs) as servers:
        room = passthrough_room(tmp_path, servers)
        room.recorder.start()
        room.recorder.wait_until(15, timeout=90)
        manifest = room.recorder.stop("done")
    assert manifest == verified(room)
    assert [t.id for t in manifest.media.tracks] == ["cam1", "cam2", "cam3", "sound"]  # type: ignore[union-attr]

    # Debian's ffprobe decodes every segment of every track; each is what its camera sent.
    expected = {"cam1": ["h264", "opus"], "cam2": ["hevc"], "cam3": ["h264"]}
    expected["sound"] = ["aac"]
    decoded: dict[str, int] = {}
    for segment in manifest.segments:
        streams = probe(room.session_dir / segment.path)
        assert segment.track is not None
        assert [s["codec_name"] for s in streams] == expected[segment.track], segment.path
        assert int(str(streams[0]["nb_read_frames"])) > 0, segment.path
        for stream in streams[1:]:  # the camera's sound, as it sent it
            decoded[segment.track] = decoded.get(segment.track, 0) + int(
                str(stream.get("nb_read_frames", 0))
            )
    assert decoded["cam1"] > 0, decoded

    # Cut at each camera's first keyframe after 2 s: about 2 s with a keyframe every second
    # (up to a keyframe later when the camera is late with one), about 4 s for the camera
    # that sends a keyframe every 4 s, which is noted on the record.
    cuts = (("cam1", 2.0, 1.0), ("cam2", 2.0, 1.0), ("cam3", 4.0, 4.0), ("sound", 2.0, 0.0))
    for track, length, keyframes in cuts:
        segments = track_segments(manifest, track)
        assert len(segments) >= 2, track
        for segment in segments[:-1]:
            seconds = segment.duration_us / 1e6
            assert length - 0.1 < seconds < length + keyframes + 0.1, (track, segment)
        for before, after in itertools.pairwise(segments):
            assert after.start_us == before.end_us, track  # the track's timeline is whole
    [note] = manifest.notes or []
    assert note.device == "cam-C" and "every 4.0 s" in note.reason

    # For every picture, the bytes the camera sent are the bytes that were sealed.
    sent = sent_pictures(log)
    sealed = [
        tuple(hashlib.sha256(unit).hexdigest() for unit in picture)
        for segment in track_segments(manifest, "cam1")
        for picture in sealed_slices(room.session_dir / segment.path, "h264")
    ]
    assert len(sealed) >= 120
    first = sent.index(sealed[0])
    assert sealed == sent[first : first + len(sealed)]  # all of them, in order, none missing

    # The record says how it went, device by device; joining waited for a keyframe.
    stats = {s.device: s for s in manifest.devices or []}
    assert set(stats) == {"cam-A", "cam-B", "cam-C", "cam-A sound"}
    for name in ("cam-A", "cam-B", "cam-C"):
        camera = stats[name]
        assert camera.frames_received > 0 and camera.frames_dropped == 0, camera
        assert camera.frames_filled == 0 and camera.join_wait_us > 0, camera
        assert camera.seal_latency is not None
    assert stats["cam-A sound"].silence_filled_samples == 0
    assert manifest.device_outages == []
    assert {g.track for g in manifest.gaps or []} <= {"cam1", "cam2", "cam3", "sound"}
    assert all(g.from_us == 0 for g in manifest.gaps or [])  # only the wait to join


def test_a_camera_killed_mid_session_is_lost_for_its_track_only(tmp_path: Path) -> None:
    # cam-A sends G.711, which MP4 cannot hold: its track has it as AAC, and it is the room's
    # sound too.
    with cameras({"audio": "pcma"}, {}) as servers:
        room = passthrough_room(tmp_path, servers)
        room.recorder.start()
        room.recorder.wait_until(4, timeout=60)
        servers[1].kill()  # as a pulled cable: no goodbye
        room.recorder.wait_until(7, timeout=60)
        servers[1].start()
        deadline = time.monotonic() + 60
        while room.recorder.status().lost_devices and time.monotonic() < deadline:
            time.sleep(0.2)
        room.recorder.wait_until(room.recorder.status().media_seconds + 4, timeout=60)
        manifest = room.recorder.stop("done")
    assert manifest == verified(room)
    [outage] = manifest.device_outages
    assert outage.device == "cam-B" and outage.restored_at is not None
    # cam-A and the sound went on without a break; cam-B's gap is on the record.
    for track in ("cam1", "sound"):
        segments = track_segments(manifest, track)
        assert all(b.end_us == a.start_us for b, a in itertools.pairwise(segments))
    for segment in track_segments(manifest, "cam1"):
        codecs = [s["codec_name"] for s in probe(room.session_dir / segment.path)]
        assert codecs == ["h264", "aac"], segment.path
    [gap] = [g for g in manifest.gaps or [] if g.track == "cam2" and g.from_us > 0]
    assert 2.0 < (gap.to_us - gap.from_us) / 1e6 < 30
    after = [s for s in track_segments(manifest, "cam2") if s.start_us >= gap.to_us]
    assert after, "cam-B recorded again after it came back"
    for segment in after:  # resumed at a keyframe: each segment's picture decodes alone
        video = probe(room.session_dir / segment.path)[0]
        assert video["codec_name"] == "h264" and int(str(video["nb_read_frames"])) > 0


def test_a_pause_seals_every_track_and_the_resume_starts_each_at_a_keyframe(
    tmp_path: Path,
) -> None:
    with cameras({}, {"audio": "none"}) as servers:
        room = passthrough_room(tmp_path, servers)
        room.recorder.start()
        room.recorder.wait_until(4, timeout=60)
        room.recorder.pause("nghỉ giải lao")
        paused_at = room.recorder.status().media_seconds
        time.sleep(2)  # nothing of this is recorded
        room.recorder.resume("tiếp tục")
        room.recorder.wait_until(paused_at + 4, timeout=60)
        manifest = room.recorder.stop("done")
    assert manifest == verified(room)
    [pause] = manifest.pauses
    assert pause.reason == "nghỉ giải lao" and pause.resume_reason == "tiếp tục"
    for track in ("cam1", "cam2", "sound"):
        segments = track_segments(manifest, track)
        before = [s for s in segments if s.end_us <= paused_at * 1e6 + 1]
        after = [s for s in segments if s.start_us >= paused_at * 1e6 - 1]
        assert before and after and len(before) + len(after) == len(segments), track
        for segment in after[:1]:  # each track starts again on its own, where it can
            first = probe(room.session_dir / segment.path)[0]
            assert int(str(first["nb_read_frames"])) > 0
    # The paused time is not on the timeline: the session lasts its recorded runs.
    assert manifest.duration_us / 1e6 < paused_at + 4 + 2.5
