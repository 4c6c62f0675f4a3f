"""Picking up a session whose writer died: what was sealed stays sealed and the session ends
with an ``interrupted`` link and a manifest that verifies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evidence_store import layout
from evidence_store.errors import IncompleteError, TamperedError
from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.session import SessionBusyError, SessionWriter
from evidence_store.signing import DeviceSigner, TrustStore, ensure_device_identity
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session

Parts = tuple[FilesystemStore, DeviceSigner, TrustStore]
MEDIA = MediaInfo(width=320, height=240, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="VKS-7/2026", room="Phòng 2", accused=["Phạm Thị Dung"])


@pytest.fixture
def parts(tmp_path: Path) -> Parts:
    store = FilesystemStore.open(tmp_path / "evidence", create=True)
    signer = ensure_device_identity(tmp_path / "keys", tmp_path / "trust", device_name="room-2")
    return store, signer, TrustStore.from_paths([tmp_path / "trust"])


def write_segments(writer: SessionWriter, count: int) -> None:
    for _ in range(count):
        index = len(writer.chain.segments)
        writer.inflight_path(index).write_bytes(os.urandom(4096))
        writer.seal_segment(
            index, start_us=writer.chain.next_segment_start_us, duration_us=1_000_000
        )


def crashed_session(store: FilesystemStore, signer: DeviceSigner, segments: int) -> str:
    writer = SessionWriter.start(store, signer, METADATA, MEDIA)
    write_segments(writer, segments)
    writer.close()  # what the kernel does to the lock when the process dies
    return writer.session_id


def make_writable(path: Path) -> None:
    path.chmod(0o644)


def test_an_unfinished_session_is_incomplete_until_recovered(parts: Parts) -> None:
    store, signer, trust = parts
    session_id = crashed_session(store, signer, 3)
    with pytest.raises(IncompleteError, match="not sealed"):
        verify_session(store, session_id, trust)
    writer = SessionWriter.reopen(store, signer, session_id)
    manifest = writer.interrupt("power lost")
    assert manifest.interrupted and manifest.stop_reason == "power lost"
    result = verify_session(store, session_id, trust)
    assert result.interrupted and result.segments == 3


def test_a_live_session_cannot_be_reopened(parts: Parts) -> None:
    store, signer, _ = parts
    writer = SessionWriter.start(store, signer, METADATA, MEDIA)
    with pytest.raises(SessionBusyError, match="live process"):
        SessionWriter.reopen(store, signer, writer.session_id)
    writer.stop("done")
    assert SessionWriter.reopen(store, signer, writer.session_id).sealed


def test_a_link_published_but_never_signed_is_signed_on_reopen(parts: Parts) -> None:
    store, signer, trust = parts
    session_id = crashed_session(store, signer, 2)
    last = store.path(layout.session_prefix(session_id) + layout.link_sig_name(2))
    make_writable(last)
    last.unlink()
    with pytest.raises(IncompleteError, match="never signed"):
        verify_session(store, session_id, trust)
    SessionWriter.reopen(store, signer, session_id).interrupt("recorder killed")
    assert verify_session(store, session_id, trust).chain_length == 4


def test_a_segment_stored_but_never_chained_is_chained_on_reopen(parts: Parts) -> None:
    store, signer, trust = parts
    session_id = crashed_session(store, signer, 1)
    prefix = layout.session_prefix(session_id)
    orphan = store.inflight_dir(prefix) / "orphan.mp4"
    orphan.write_bytes(os.urandom(2048))
    store.put_file(prefix + layout.segment_path(1), orphan)
    with pytest.raises(IncompleteError, match="never chained"):
        verify_session(store, session_id, trust)
    writer = SessionWriter.reopen(store, signer, session_id)
    assert writer.published_unlinked_segment() == 1
    writer.link_published_segment(1, duration_us=700_000)
    writer.interrupt("recorder killed")
    result = verify_session(store, session_id, trust)
    assert result.segments == 2 and result.duration_us == 1_700_000


def test_sealing_resumes_after_a_crash_part_way_through(parts: Parts) -> None:
    store, signer, trust = parts
    writer = SessionWriter.start(store, signer, METADATA, MEDIA)
    write_segments(writer, 2)
    writer.stop("done")
    prefix = layout.session_prefix(writer.session_id)
    for name in (layout.MANIFEST, layout.MANIFEST_SIG):  # cut off after SHA256SUMS
        path = store.path(prefix + name)
        make_writable(path)
        path.unlink()
    reopened = SessionWriter.reopen(store, signer, writer.session_id)
    reopened.seal()
    assert verify_session(store, writer.session_id, trust).chain_length == 4


def test_reopen_refuses_to_build_on_a_tampered_segment(parts: Parts) -> None:
    store, signer, _ = parts
    session_id = crashed_session(store, signer, 2)
    segment = store.path(layout.session_prefix(session_id) + layout.segment_path(0))
    make_writable(segment)
    segment.write_bytes(b"edited")
    with pytest.raises(TamperedError, match="does not match"):
        SessionWriter.reopen(store, signer, session_id)
