"""The uploader against a real S3 server: drains in order, every object locked, idempotent,
damaged files quarantined, spool copies released only when confirmed; the bucket alone
verifies, reindexes, and takes legal holds; all through the command line too."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from evidence_store import layout
from evidence_store.bucket.store import S3Access, S3Store
from evidence_store.errors import IncompleteError, TamperedError
from evidence_store.index import SessionIndex, reporting
from evidence_store.installation.data_dir import DataDir
from evidence_store.timefmt import parse_utc
from evidence_store.upload.spool import SpoolObject
from evidence_store.upload.uploader import Backlog, open_uploader
from evidence_store.verify import verify_session
from tests.support.s3 import (
    METADATA,
    S3Target,
    config_file,
    data_dir,
    random_segments,
    run_sealroom_env,
    write_session,
)


def drain(
    data: DataDir, target: S3Target, name: str, sent: list[SpoolObject] | None = None
) -> Backlog:
    with reporting(data) as catalog:  # into the installation's own catalog
        uploader = open_uploader(
            data,
            environ=target.env(name),
            on_upload=None if sent is None else sent.append,
            catalog=catalog,
        )
        return uploader.run(threading.Event(), drain=True, timeout=120)


def catalogued(data: DataDir) -> dict[str, tuple[str, str]]:
    """Each catalogued session's (state, where its evidence is)."""
    index = SessionIndex.open(data.index_url())
    try:
        return {
            s.session_id: (s.state.value, p[2])
            for s in index.all()
            for p in [index.progress([s.session_id])[s.session_id]]
        }
    finally:
        index.close()


def bucket_store(target: S3Target, name: str) -> S3Store:
    return S3Store.connect(
        S3Access.from_settings(DataDir.resolve(None).settings.s3, target.env(name))
    )


def check_order(sent: list[SpoolObject]) -> None:
    """No link before its segment, no signature before its link, the seal last."""
    seen: dict[str, list[str]] = {}
    for item in sent:
        if item.session_id:
            seen.setdefault(item.session_id, []).append(
                item.key.removeprefix(layout.session_prefix(item.session_id))
            )
    for names in seen.values():
        position = {name: i for i, name in enumerate(names)}
        for name, i in position.items():
            if name.startswith("chain/") and name.endswith(".sig"):
                assert position[name.replace(".sig", ".json")] < i
            if name.startswith("segments/"):
                assert i == 0 or names[i + 1].startswith("chain/")
        if "manifest.sig" in position:
            assert names[-4:] == ["SHA256SUMS", "SHA256SUMS.sig", "manifest.json", "manifest.sig"]


def test_drain_uploads_in_order_and_the_bucket_alone_verifies(
    s3_target: S3Target, bucket: str, tmp_path: Path, media_segments: list[bytes]
) -> None:
    data = data_dir(tmp_path / "data")
    real = write_session(data, media_segments, pause_after=1)
    serious = write_session(
        data, random_segments(2), metadata=METADATA.model_copy(update={"case_number": "HS-9/2026"})
    )
    sent: list[SpoolObject] = []
    backlog = drain(data, s3_target, bucket, sent)
    assert backlog.empty and not backlog.needs_attention and backlog.alarms == []
    check_order(sent)
    assert [s for s in dict.fromkeys(o.session_id for o in sent) if s] == sorted([real, serious])

    store = bucket_store(s3_target, bucket)
    trust = data.trust()
    for session_id in (real, serious):
        verified = verify_session(store, session_id, trust)
        assert verified.session_id == session_id and verified.chain_length > 3
    assert verify_session(store, real, trust).segments == 3

    # A second client reads every object's lock: COMPLIANCE, until start + category days.
    boto = s3_target.boto3()
    for session_id, days in ((real, 1), (serious, 2)):
        first = json.loads(
            store.read_bytes(layout.session_prefix(session_id) + "chain/000000.json")
        )
        expected = parse_utc(first["time"]).replace(microsecond=0) + timedelta(days=days)
        keys = store.list_keys(layout.session_prefix(session_id))
        assert len(keys) == len([o for o in sent if o.session_id == session_id])
        for key in keys:
            head = boto.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            assert head["ObjectLockMode"] == "COMPLIANCE", key
            assert head["ObjectLockRetainUntilDate"] == expected, key
            assert head["ChecksumSHA256"]
    # Custody checkpoints went too, under the appliance's own prefix.
    assert any(k.endswith("/public_key.pem") for k in store.list_keys("custody/"))

    # Idempotent: a second drain sends nothing and makes no new versions.
    again: list[SpoolObject] = []
    drain(data, s3_target, bucket, again)
    assert [o for o in again if o.session_id] == []
    versions = boto.list_object_versions(Bucket=bucket, Prefix="sessions/")
    assert len(versions["Versions"]) == len({v["Key"] for v in versions["Versions"]})
    entries = data.custody(data.store(), data.signer()).entries(action="upload")
    assert sorted(e.session_id or "" for e in entries) == sorted([real, serious])


def test_a_lost_state_file_costs_lookups_not_duplicates(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data")
    write_session(data, random_segments(3))
    drain(data, s3_target, bucket)
    (data.root / "uploader" / "state.json").unlink()
    again: list[SpoolObject] = []
    assert drain(data, s3_target, bucket, again).empty
    versions = s3_target.boto3().list_object_versions(Bucket=bucket, Prefix="sessions/")
    assert len(versions["Versions"]) == len({v["Key"] for v in versions["Versions"]})


def test_an_open_session_goes_up_as_it_records_and_is_incomplete_not_tampered(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    from evidence_store.session import SessionWriter

    data = data_dir(tmp_path / "data")
    session_id = write_session(data, random_segments(2), seal=False)
    drain(data, s3_target, bucket)
    store = bucket_store(s3_target, bucket)
    with pytest.raises(IncompleteError, match="not sealed"):
        verify_session(store, session_id, data.trust())

    writer = SessionWriter.reopen(data.store(), data.signer(), session_id)
    writer.inflight_path(2).write_bytes(b"third segment")
    writer.seal_segment(2, start_us=2_000_000, duration_us=1_000_000)
    writer.stop("xong")
    drain(data, s3_target, bucket)
    assert verify_session(bucket_store(s3_target, bucket), session_id, data.trust()).segments == 3


def test_a_damaged_spool_segment_is_quarantined_never_uploaded(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data")
    session_id = write_session(data, random_segments(3))
    relative = layout.session_prefix(session_id) + "segments/000001.mp4"
    damaged = data.evidence / relative
    damaged.chmod(0o644)
    damaged.write_bytes(b"X" + damaged.read_bytes()[1:])

    backlog = drain(data, s3_target, bucket)
    assert backlog.quarantined == 1 and backlog.needs_attention
    moved = data.root / "quarantine" / relative
    assert moved.read_bytes().startswith(b"X") and not damaged.exists()
    reason = json.loads(moved.with_name("000001.mp4.reason.json").read_text())
    assert reason["reason"] == "does not match the digest its seal names"
    assert reason["expected_sha256"] != reason["actual_sha256"]
    store = bucket_store(s3_target, bucket)
    assert not store.exists(relative)
    with pytest.raises(TamperedError) as failure:
        verify_session(store, session_id, data.trust())
    assert failure.value.location == "segments/000001.mp4"
    assert "missing" in failure.value.reason
    # Everything else of the session arrived, seal included.
    assert store.exists(layout.session_prefix(session_id) + "manifest.sig")
    quarantines = data.custody(data.store(), data.signer()).entries(action="quarantine")
    assert [e.detail["key"] for e in quarantines] == [relative]
    # Never released, never marked complete.
    assert data.custody(data.store(), data.signer()).entries(action="upload") == []


def test_a_spool_copy_is_released_only_after_confirmation_with_a_custody_event(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data", keep_days=0)
    sealed = write_session(data, random_segments(2))
    still_open = write_session(data, random_segments(1), seal=False)
    drain(data, s3_target, bucket)
    assert not (data.evidence / "sessions" / sealed).exists()
    assert (data.evidence / "sessions" / still_open).is_dir()  # never while recording
    assert not (data.evidence / ".released").exists() or not any(
        (data.evidence / ".released").iterdir()
    )
    release = data.custody(data.store(), data.signer()).entries(action="release")
    assert [e.session_id for e in release] == [sealed]
    assert release[0].detail["files"] == 16  # 2 signer, 5 links and signatures, 2 segments, 4 seal
    verify_session(bucket_store(s3_target, bucket), sealed, data.trust())
    # No room reported these sessions; the uploader's events alone catalogued the sealed one.
    assert catalogued(data) == {sealed: ("sealed", "released")}


def test_a_release_killed_after_its_rename_is_finished_and_logged(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data")
    session_id = write_session(data, random_segments(1))
    drain(data, s3_target, bucket)
    uploader = open_uploader(data, environ=s3_target.env(bucket))
    uploader.spool.begin_release(session_id)  # … and the process died here
    uploader.run(threading.Event(), drain=True, timeout=60)
    assert not (data.evidence / ".released" / session_id).exists()
    entries = data.custody(data.store(), data.signer()).entries(action="release")
    assert [(e.session_id, e.detail["resumed"]) for e in entries] == [(session_id, True)]
    assert entries[0].detail["removed"]["segments"] == ["segments/000000.mp4"]


def test_a_release_keeps_what_recovery_left_in_flight_and_lists_what_it_removed(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    """An unfinished segment recovery kept for inspection was never uploaded: releasing the
    session removes its sealed files, confirmed in the bucket, and nothing else."""
    data = data_dir(tmp_path / "data", keep_days=0)
    session_id = write_session(data, random_segments(5))
    inflight = data.evidence / ".inflight" / "sessions" / session_id
    (inflight / "000005.partial.mp4").write_bytes(b"the original of a salvaged segment")
    (inflight / "000006.mp4").write_bytes(b"")  # nothing decodable: kept as it was
    drain(data, s3_target, bucket)

    assert not (data.evidence / "sessions" / session_id).exists()
    assert sorted(p.name for p in inflight.iterdir()) == ["000005.partial.mp4", "000006.mp4"]
    (entry,) = data.custody(data.store(), data.signer()).entries(action="release")
    assert entry.detail["kept_in_flight"] == ["000005.partial.mp4", "000006.mp4"]
    assert entry.detail["removed_in_flight"] == [".writer.lock"]
    removed = entry.detail["removed"]
    assert removed["segments"] == {
        "files": 5,
        "first": "segments/000000.mp4",
        "last": "segments/000004.mp4",
    }
    assert removed["chain"]["files"] == 14  # links 0-6 and their signatures
    assert removed["."] == {"files": 4, "first": "SHA256SUMS", "last": "manifest.sig"}


def test_the_command_line_drains_verifies_from_the_bucket_reindexes_and_holds(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data")
    session_id = write_session(data, random_segments(2))
    env = {**s3_target.env(bucket), "SEALROOM_DATA_DIR": str(data.root)}
    config = config_file(tmp_path / "sealroom.toml")

    status = run_sealroom_env("uploader", "--status", "--json", env=env, config=config)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["objects"] == 16

    drained = run_sealroom_env("uploader", "--drain", "--json", env=env, config=config)
    assert drained.returncode == 0, drained.stderr
    report = json.loads(drained.stdout)
    assert report["uploaded_objects"] >= 16 and report["backlog"]["objects"] == 0
    assert catalogued(data) == {session_id: ("sealed", "bucket")}  # the "uploaded" event

    # The bucket alone: a machine with no data directory at all.
    elsewhere = {**s3_target.env(bucket), "SEALROOM_DATA_DIR": str(tmp_path / "empty")}
    trust = str(data.root / "trust")
    verified = run_sealroom_env(
        "verify", session_id, "--store", "s3", "--trust", trust, "--json", env=elsewhere
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    outcome = json.loads(verified.stdout)
    assert outcome["intact"] is True and outcome["store"].endswith(f"/{bucket}")
    human = run_sealroom_env("verify", session_id, "--store", "s3", "--trust", trust, env=elsewhere)
    assert human.returncode == 0 and "INTACT" in human.stdout
    unknown = run_sealroom_env(
        "verify", "s-20260101T000000Z-00000000", "--store", "s3", env=elsewhere
    )
    assert unknown.returncode == 2 and "unknown session" in unknown.stderr

    reindexed = run_sealroom_env("reindex", "--json", env=elsewhere)
    assert reindexed.returncode == 0, reindexed.stderr
    [row] = json.loads(reindexed.stdout)
    assert row["session_id"] == session_id and row["state"] == "sealed"
    assert row["case_number"] == METADATA.case_number and row["segments"] == 2
    listed = run_sealroom_env("sessions", "--index", "--json", env=elsewhere)
    assert [r["session_id"] for r in json.loads(listed.stdout)] == [session_id]

    held = run_sealroom_env(
        "legal-hold", "set", session_id, "--reason", "QĐ 12/2026 của Tòa án", env=env
    )
    assert held.returncode == 0, held.stderr
    boto = s3_target.boto3()
    key = layout.session_prefix(session_id) + "manifest.json"
    assert boto.get_object_legal_hold(Bucket=bucket, Key=key)["LegalHold"]["Status"] == "ON"
    released = run_sealroom_env("legal-hold", "release", session_id, "--reason", "hết hạn", env=env)
    assert released.returncode == 0, released.stderr
    assert boto.get_object_legal_hold(Bucket=bucket, Key=key)["LegalHold"]["Status"] == "OFF"
    log = run_sealroom_env("custody", "log", "--session", session_id, "--json", env=env)
    actions = [e["action"] for e in json.loads(log.stdout)]
    assert actions == ["upload", "legal_hold_set", "legal_hold_released"]
    assert json.loads(log.stdout)[1]["detail"]["reason"] == "QĐ 12/2026 của Tòa án"


def test_a_key_already_holding_other_bytes_is_a_conflict_never_overwritten(
    s3_target: S3Target, bucket: str, tmp_path: Path
) -> None:
    data = data_dir(tmp_path / "data")
    session_id = write_session(data, random_segments(2))
    key = layout.session_prefix(session_id) + "segments/000001.mp4"
    s3_target.boto3().put_object(Bucket=bucket, Key=key, Body=b"planted before the upload")
    backlog = drain(data, s3_target, bucket)
    assert backlog.empty and backlog.needs_attention
    assert backlog.conflicts == {session_id: key}
    store = bucket_store(s3_target, bucket)
    assert store.read_bytes(key) == b"planted before the upload"
    with pytest.raises(TamperedError) as failure:
        verify_session(store, session_id, data.trust())
    assert failure.value.location == "segments/000001.mp4"
    assert store.exists(layout.session_prefix(session_id) + "manifest.sig")  # the rest went
    assert data.custody(data.store(), data.signer()).entries(action="upload") == []
