"""Recovery, one crash state at a time, on real segments (PyAV-encoded) and a real store.

The kill test (test_crash_recovery.py) reaches these states at random; here each one is
built on purpose, so every branch runs on every test run, in about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from evidence_store import format_utc, layout, parse_utc
from evidence_store.custody import CustodyLog
from evidence_store.index import CatalogReporter, SessionIndex, catalog_outbox, catalog_sender
from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.settings import CatalogSettings
from evidence_store.signing import DeviceSigner, TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from hardware.synthetic import SyntheticCamera, SyntheticMicrophone
from recorder.media.segment_encoder import SegmentEncoder
from recorder.recovery.finish import (
    CUT_OFF,
    custody_detail,
    recover_session,
    recover_unfinished,
)
from recorder.recovery.salvage import count_video_frames, salvage_segment
from recorder.settings import RecorderSettings, media_info

SETTINGS = RecorderSettings(width=320, height=240, fps=15, segment_seconds=2)
METADATA = SessionMetadata(case_number="VKS-9/2026", room="Phòng 4", accused=["Đỗ Văn Em"])


@dataclass(frozen=True)
class Parts:
    store: FilesystemStore
    signer: DeviceSigner
    trust: TrustStore
    custody: CustodyLog


@pytest.fixture
def parts(tmp_path: Path) -> Parts:
    store = FilesystemStore.open(tmp_path / "evidence", create=True)
    signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="room-4")
    custody = CustodyLog.open(f"sqlite:///{tmp_path / 'custody.db'}", store, signer)
    return Parts(store, signer, TrustStore.from_paths([tmp_path / "trust"]), custody)


def encode(path: Path, frames: int, *, first: int = 0) -> None:
    """A real, closed segment of ``frames`` frames with its audio."""
    camera, microphone = SyntheticCamera(320, 240, fps=15), SyntheticMicrophone()
    samples_per_frame = SETTINGS.sample_rate // SETTINGS.fps
    chunk = microphone.chunk_frames
    with SegmentEncoder(path, SETTINGS) as encoder:
        for i in range(first, first + frames):
            encoder.add_frame(camera.render(i))
            start = i * samples_per_frame
            audio = np.concatenate(
                [microphone.samples(k) for k in range(start // chunk, (start + 800) // chunk + 1)]
            )
            offset = start % chunk
            encoder.add_samples(audio[offset : offset + samples_per_frame])
        encoder.close()


def crashed(parts: Parts, *, sealed: int) -> SessionWriter:
    """A session with ``sealed`` 2 s segments, whose writer then 'died' (lock released)."""
    writer = SessionWriter.start(parts.store, parts.signer, METADATA, media_info(SETTINGS))
    for index in range(sealed):
        encode(writer.inflight_path(index), 30, first=30 * index)
        writer.seal_segment(
            index, start_us=writer.chain.next_segment_start_us, duration_us=2_000_000
        )
    writer.close()
    return writer


def torn_partial(target: Path, tmp_path: Path, *, keep: float) -> bytes:
    """What a SIGKILL leaves of a segment: the first ``keep`` of a finished file's bytes."""
    whole = tmp_path / "whole.mp4"
    encode(whole, 30, first=60)
    data = whole.read_bytes()[: int(whole.stat().st_size * keep)]
    target.write_bytes(data)
    return data


def plays(path: Path) -> bool:
    check = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return check.returncode == 0 and check.stderr == ""


def test_the_decodable_part_of_a_torn_segment_is_salvaged_and_the_original_kept(
    parts: Parts, tmp_path: Path
) -> None:
    writer = crashed(parts, sealed=2)
    partial = writer.inflight_path(2)
    original = torn_partial(partial, tmp_path, keep=0.8)

    recovered = recover_session(parts.store, parts.signer, writer.session_id)

    assert recovered.outcome == "interrupted" and recovered.segments == 3
    assert recovered.salvaged is not None and recovered.salvaged.index == 2
    assert 15 <= recovered.salvaged.frames < 30  # the flushed fragments, not the torn tail
    assert recovered.reason.startswith(CUT_OFF) and "salvaged 1." in recovered.reason
    kept = partial.with_name("000002.partial.mp4")
    assert kept.read_bytes() == original  # renamed, byte for byte: never changed
    sealed = writer.path / "segments" / "000002.mp4"
    assert count_video_frames(sealed) == recovered.salvaged.frames and plays(sealed)
    result = verify_session(parts.store, writer.session_id, parts.trust)
    assert result.interrupted and result.segments == 3
    assert result.duration_us == 4_000_000 + recovered.salvaged.duration_us


@pytest.mark.parametrize("content", [b"", os.urandom(3000)], ids=["empty", "garbage"])
def test_an_undecodable_partial_is_left_in_place(parts: Parts, content: bytes) -> None:
    writer = crashed(parts, sealed=1)
    partial = writer.inflight_path(1)
    partial.write_bytes(content)

    recovered = recover_session(parts.store, parts.signer, writer.session_id)

    assert recovered.salvaged is None and recovered.kept_partial == "000001.mp4"
    assert f"000001.mp4 ({len(content)} bytes) held nothing decodable" in recovered.reason
    assert partial.read_bytes() == content
    assert verify_session(parts.store, writer.session_id, parts.trust).segments == 1


def test_a_segment_stored_but_not_chained_is_chained_with_its_real_length(
    parts: Parts,
) -> None:
    writer = crashed(parts, sealed=1)
    source = writer.inflight_path(1)
    encode(source, 23, first=30)
    parts.store.put_file(writer.prefix + layout.segment_path(1), source)

    recovered = recover_session(parts.store, parts.signer, writer.session_id)

    assert recovered.linked_segment == 1 and recovered.salvaged is None
    result = verify_session(parts.store, writer.session_id, parts.trust)
    # Frames 30..52 of the session at 15 fps: the timeline ends where frame 53 would start.
    assert result.duration_us == 53 * 1_000_000 // 15


def test_a_recovery_cut_off_after_its_salvage_finishes_on_the_next_run(
    parts: Parts, tmp_path: Path
) -> None:
    writer = crashed(parts, sealed=1)
    current = writer.inflight_path(1)
    partial = current.with_name("000001.partial.mp4")
    torn_partial(partial, tmp_path, keep=0.8)  # renamed already, then the process died
    salvage = salvage_segment(partial, current)  # and its output was in place
    assert salvage is not None
    digest = hashlib.sha256(current.read_bytes()).hexdigest()

    recovered = recover_session(parts.store, parts.signer, writer.session_id)

    assert recovered.salvaged is not None and recovered.salvaged.frames == salvage.frames
    stored = writer.path / "segments" / "000001.mp4"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert verify_session(parts.store, writer.session_id, parts.trust).segments == 2


def test_a_session_that_ended_but_was_not_sealed_is_only_sealed(parts: Parts) -> None:
    writer = SessionWriter.start(parts.store, parts.signer, METADATA, media_info(SETTINGS))
    writer.stop("Kết thúc")
    for name in (layout.MANIFEST, layout.MANIFEST_SIG):  # died while sealing
        path = parts.store.path(writer.prefix + name)
        path.chmod(0o644)
        path.unlink()

    recovered = recover_session(parts.store, parts.signer, writer.session_id)

    assert recovered.outcome == "sealed" and recovered.reason == "Kết thúc"
    assert not verify_session(parts.store, writer.session_id, parts.trust).interrupted


def test_recover_unfinished_skips_live_sessions_and_refuses_tampered_ones(
    parts: Parts,
) -> None:
    live = SessionWriter.start(parts.store, parts.signer, METADATA, media_info(SETTINGS))
    tampered = crashed(parts, sealed=1)
    segment = tampered.path / "segments" / "000000.mp4"
    segment.chmod(0o644)
    with segment.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff")
    fine = crashed(parts, sealed=1)

    report = recover_unfinished(
        parts.store, parts.signer, parts.custody, actor="test", role="operator"
    )

    assert report.busy == [live.session_id]
    assert [r.session_id for r in report.refused] == [tampered.session_id]
    assert "does not match" in report.refused[0].reason
    assert [r.session_id for r in report.recovered] == [fine.session_id]
    assert not report.ok
    actions = {(e.action, e.session_id) for e in parts.custody.entries()}
    assert ("alarm", tampered.session_id) in actions
    assert ("record_recovered", fine.session_id) in actions
    assert not (tampered.path / layout.MANIFEST).exists()  # never built on, never touched
    live.stop("done")


def test_a_session_cut_off_before_its_first_link_is_reported_empty(parts: Parts) -> None:
    writer = crashed(parts, sealed=0)
    first = parts.store.path(writer.prefix + layout.link_name(0))
    for path in (first, first.with_suffix(".sig")):
        path.chmod(0o644)
        path.unlink()  # as if the process died between the signer files and link 0
    shutil.rmtree(parts.store.inflight_dir(writer.prefix))

    report = recover_unfinished(
        parts.store, parts.signer, parts.custody, actor="test", role="operator"
    )

    assert report.empty == [writer.session_id] and report.ok


def test_a_recovered_session_reaches_the_catalog_as_interrupted(
    parts: Parts, tmp_path: Path
) -> None:
    """The recorder that died reported the start and its segment; the process that recovers
    it (a new reporter, which never saw it start) reports the seal, and the catalog row
    moves forward to it."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    sender = catalog_sender(tmp_path, CatalogSettings(), url)
    before = CatalogReporter(catalog_outbox(tmp_path))
    writer = SessionWriter.start(
        parts.store, parts.signer, METADATA, media_info(SETTINGS), on_head=before.on_head
    )
    encode(writer.inflight_path(0), 30)
    writer.seal_segment(0, start_us=0, duration_us=2_000_000)
    writer.close()  # the recorder dies here
    assert sender.drain_once() == 2  # started, segments
    after = CatalogReporter(catalog_outbox(tmp_path))
    recover_session(parts.store, parts.signer, writer.session_id, on_head=after.on_head)
    assert sender.drain_once() == 1  # interrupted (the segment-less links are not events)
    index = SessionIndex.open(url)
    row = index.get(writer.session_id)
    index.close()
    assert row is not None
    assert (row.state.value, row.segments, row.case_number) == ("interrupted", 1, "VKS-9/2026")


def test_a_power_cut_overnight_ends_the_session_at_its_last_sealed_media(parts: Parts) -> None:
    writer = crashed(parts, sealed=2)
    last_sealed = writer.chain.last_time
    assert last_sealed is not None
    next_morning = parse_utc(last_sealed) + timedelta(hours=10)

    recovered = recover_session(
        parts.store, parts.signer, writer.session_id, clock=lambda: next_morning
    )

    assert (recovered.ended_at, recovered.recovered_at) == (last_sealed, format_utc(next_morning))
    result = verify_session(parts.store, writer.session_id, parts.trust)
    assert result.interrupted and result.ended_at == last_sealed
    manifest = json.loads(parts.store.read_bytes(writer.prefix + layout.MANIFEST))
    assert manifest["recovered_at"] == format_utc(next_morning)
    final = json.loads(parts.store.read_bytes(writer.prefix + layout.link_name(3)))
    assert final["event"] == {"type": "interrupted", "reason": recovered.reason,
                              "ended_at": last_sealed}  # fmt: skip
    assert final["time"] == format_utc(next_morning)
    assert custody_detail(recovered)["recovered_at"] == format_utc(next_morning)


def test_media_salvaged_on_recovery_counts_toward_the_end(parts: Parts, tmp_path: Path) -> None:
    writer = crashed(parts, sealed=1)
    last_sealed = writer.chain.last_time
    assert last_sealed is not None
    torn_partial(writer.inflight_path(1), tmp_path, keep=0.8)
    next_morning = parse_utc(last_sealed) + timedelta(hours=10)

    recovered = recover_session(
        parts.store, parts.signer, writer.session_id, clock=lambda: next_morning
    )

    assert recovered.salvaged is not None
    salvaged = timedelta(microseconds=recovered.salvaged.duration_us)
    assert recovered.ended_at == format_utc(parse_utc(last_sealed) + salvaged)
    assert recovered.recovered_at == format_utc(next_morning)
    assert verify_session(parts.store, writer.session_id, parts.trust).ended_at == (
        recovered.ended_at
    )
