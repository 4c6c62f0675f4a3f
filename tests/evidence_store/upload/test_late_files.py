"""Receipts that arrive after a session was uploaded, or after its spool copy was released,
still reach the bucket, after the head they are about, with the session's retention; the
bucket alone then verifies as witnessed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from evidence_store import MediaInfo, SessionMetadata, SessionWriter, layout, verify_session
from evidence_store.bucket import S3Access, S3Store
from evidence_store.installation import DataDir
from evidence_store.upload import open_uploader
from evidence_store.witnessing import WitnessLink
from tests.support.s3 import S3Target, settings_for
from tests.support.witness import WitnessProcess

MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="VKS-7/2026", room="Phòng 1")


def appliance(root: Path, url: str, **uploader: object) -> DataDir:
    settings = settings_for(root, **uploader).model_copy(
        update={"witness_url": url, "witness_timeout_seconds": 2.0}
    )
    data = DataDir.resolve(root, settings)
    data.store(create=True)
    return data


@pytest.mark.parametrize("released", [False, True], ids=["kept", "released"])
def test_late_receipts_reach_the_bucket(
    released: bool, s3_target: S3Target, bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name, value in s3_target.env(bucket).items():
        monkeypatch.setenv(name, value)
    witness = WitnessProcess(tmp_path / "witness-data")  # not started yet: the witness is down
    data = appliance(tmp_path / "box", witness.url, **({"keep_days": 0} if released else {}))
    link = WitnessLink.open(data)
    assert link is not None
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, on_head=link.hook)
    for index in range(2):
        writer.inflight_path(index).write_bytes(os.urandom(8000))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    writer.stop("kết thúc")
    session_id = writer.session_id
    uploader = open_uploader(data)
    uploader.run(threading.Event(), drain=True, timeout=120)
    assert (data.evidence / "sessions" / session_id).exists() != released
    witness.start()
    try:
        link.start()
        assert link.flush(60) == 0  # the receipts arrive, after the upload
        link.stop()
    finally:
        witness.stop()
    late = data.evidence / "late-files"
    assert late.exists() == released  # a released session's folder is never recreated
    assert not (data.evidence / "sessions" / session_id).exists() or not released
    backlog = open_uploader(data).run(threading.Event(), drain=True, timeout=120)
    assert backlog.empty
    assert not any(p.is_file() for p in late.rglob("*")) if late.exists() else True
    store = S3Store.connect(S3Access.from_settings(data.settings.s3))
    prefix = layout.session_prefix(session_id)
    assert prefix + layout.SEAL_RECEIPT in store.list_keys(prefix)
    report = verify_session(store, session_id, data.trust()).witness
    assert report is not None and report.complete
    if released:
        releases = data.custody(data.store(), data.signer()).entries(action="release")
        assert {e.detail.get("late_file") for e in releases} == {None, True}
