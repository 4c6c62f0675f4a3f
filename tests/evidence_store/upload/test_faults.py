"""Faults done for real: the S3 server killed mid-upload and restarted, the uploader killed
(SIGKILL) mid-multipart and rerun, and an outage while a session records. Afterwards every
session verifies from the bucket and nothing sealed is missing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evidence_store import layout
from evidence_store.bucket.store import S3Access, S3Store
from evidence_store.installation.data_dir import DataDir
from evidence_store.session import SessionWriter
from evidence_store.settings import S3Settings
from evidence_store.timefmt import parse_utc
from evidence_store.upload.spool import SpoolObject
from evidence_store.upload.uploader import Backlog, backlog_of, open_uploader
from evidence_store.verify import verify_session
from tests.support.s3 import (
    MEDIA,
    METADATA,
    S3Target,
    config_file,
    data_dir,
    new_bucket,
    random_segments,
    run_sealroom_env,
    settings_for,
    write_session,
)

pytestmark = pytest.mark.slow


def bucket_store(target: S3Target, name: str) -> S3Store:
    return S3Store.connect(S3Access.from_settings(S3Settings(), target.env(name)))


def everything_arrived(data: DataDir, target: S3Target, name: str, session_id: str) -> None:
    """The session verifies from the bucket, and every spool file of it is there."""
    store = bucket_store(target, name)
    verify_session(store, session_id, data.trust())
    prefix = layout.session_prefix(session_id)
    assert set(data.store().list_keys(prefix)) == set(store.list_keys(prefix))


def wait_for(condition: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def status_of(data: DataDir) -> dict[str, object]:
    path = data.root / "uploader" / "status.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_the_s3_server_killed_mid_upload_then_restarted_loses_nothing(
    own_seaweed: S3Target, tmp_path: Path
) -> None:
    server = own_seaweed.server
    assert server is not None
    name = new_bucket(own_seaweed)
    data = data_dir(tmp_path / "data", max_bytes_per_second=3_000_000)
    session_id = write_session(data, random_segments(40, 100_000))
    sent: list[SpoolObject] = []
    uploader = open_uploader(data, environ=own_seaweed.env(name), on_upload=sent.append)
    result: list[Backlog | BaseException] = []

    def run() -> None:
        try:
            result.append(uploader.run(threading.Event(), drain=True, timeout=90))
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    wait_for(lambda: len(sent) >= 30, timeout=30, what="a third of the session to upload")
    server.kill()  # mid-session: segments and links still waiting
    killed_at = len(sent)
    wait_for(lambda: status_of(data).get("state") == "unreachable", timeout=15, what="the outage")
    time.sleep(1.0)
    assert len(sent) <= killed_at + 1  # nothing gets through while it is down
    server.start()
    worker.join(timeout=90)
    assert result and isinstance(result[0], Backlog), result
    assert result[0].empty and not result[0].needs_attention
    everything_arrived(data, own_seaweed, name, session_id)
    # A server killed in the middle of a PUT may have kept the object without acknowledging
    # it; the retry then stores a second copy. What must never happen is a different copy.
    versions = own_seaweed.boto3().list_object_versions(Bucket=name, Prefix="sessions/")
    copies: dict[str, set[tuple[str, int]]] = {}
    for version in versions["Versions"]:
        copies.setdefault(version["Key"], set()).add((version["ETag"], version["Size"]))
    assert {key: found for key, found in copies.items() if len(found) > 1} == {}


def test_the_uploader_killed_mid_multipart_resumes_on_the_next_run(
    own_seaweed: S3Target, tmp_path: Path
) -> None:
    name = new_bucket(own_seaweed)
    data = data_dir(tmp_path / "data")
    big = os.urandom(24 * 1024 * 1024 + 123)  # five parts of 5 MiB
    session_id = write_session(data, [b"small first segment", big])
    key = layout.session_prefix(session_id) + "segments/000001.mp4"
    env = {**own_seaweed.env(name), "SEALROOM_DATA_DIR": str(data.root)}
    slow = config_file(
        tmp_path / "slow.toml", extra="max_bytes_per_second = 8000000"
    )  # ~3 s for the big segment
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "sealroom", "--config", str(slow), "uploader", "--drain"],
        env={**clean, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    state_file = data.root / "uploader" / "state.json"

    def parts_sent() -> int:
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return 0
        return len(state.get("multipart", {}).get(key, {}).get("parts", {}))

    try:
        wait_for(lambda: parts_sent() >= 2, timeout=60, what="two parts to be acknowledged")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    boto = own_seaweed.boto3()
    uploads = boto.list_multipart_uploads(Bucket=name, Prefix=key).get("Uploads", [])
    assert len(uploads) == 1  # killed with the upload open, as a power cut leaves it
    assert "Versions" not in boto.list_object_versions(Bucket=name, Prefix=key)

    rerun = run_sealroom_env(
        "uploader", "--drain", env=env, config=config_file(tmp_path / "c.toml")
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming the multipart upload" in rerun.stderr
    everything_arrived(data, own_seaweed, name, session_id)
    assert len(boto.list_object_versions(Bucket=name, Prefix=key)["Versions"]) == 1
    assert boto.list_multipart_uploads(Bucket=name, Prefix=key).get("Uploads", []) == []
    head = boto.head_object(Bucket=name, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"].endswith("-5") and head["ObjectLockMode"] == "COMPLIANCE"


def test_an_outage_never_stops_recording_and_the_backlog_drains_in_order_after(
    own_seaweed: S3Target, tmp_path: Path
) -> None:
    server = own_seaweed.server
    assert server is not None
    name = new_bucket(own_seaweed)
    data = data_dir(tmp_path / "data")
    sent: list[SpoolObject] = []
    uploader = open_uploader(data, environ=own_seaweed.env(name), on_upload=sent.append)

    def backlog() -> Backlog:  # the console's view: spool and state file, no network
        return backlog_of(data, environ=own_seaweed.env(name))

    stop = threading.Event()
    worker = threading.Thread(target=uploader.run, args=(stop,))
    worker.start()
    try:
        server.kill()
        writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA)
        backlog_seen = []
        slowest = 0.0
        for index, payload in enumerate(random_segments(12, 200_000)):
            writer.inflight_path(index).write_bytes(payload)
            began = time.monotonic()
            writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
            slowest = max(slowest, time.monotonic() - began)
            if index % 4 == 3:
                backlog_seen.append(backlog().objects)
        writer.stop("kết thúc")
        assert slowest < 0.5  # sealing never waited for the network
        assert backlog_seen == sorted(backlog_seen) and backlog_seen[0] < backlog_seen[-1]
        wait_for(
            lambda: status_of(data).get("state") == "unreachable", timeout=15, what="the outage"
        )
        assert backlog().objects >= 12 * 3 + 4
        assert [o for o in sent if o.session_id] == []

        server.start()
        wait_for(lambda: backlog().empty, timeout=60, what="the backlog to drain")
    finally:
        stop.set()
        worker.join(timeout=30)
    keys = [o.key.removeprefix(writer.prefix) for o in sent if o.session_id == writer.session_id]
    assert keys[-4:] == ["SHA256SUMS", "SHA256SUMS.sig", "manifest.json", "manifest.sig"]
    segments = [k for k in keys if k.startswith("segments/")]
    assert segments == sorted(segments) and len(segments) == 12
    for i, name_ in enumerate(keys):
        if name_.startswith("segments/"):
            assert keys[i + 1].startswith("chain/") and keys[i + 1].endswith(".json")
    everything_arrived(data, own_seaweed, name, writer.session_id)


class HungServer:
    """A real TCP listener that accepts every connection and never answers: an S3 server
    hung, as a stuck proxy or a frozen process looks from outside."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[float] = []  # when each connection came in (time.time())
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(time.time())
            self.held.append(connection)  # held open, never read, never answered

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


def test_a_hung_s3_server_is_reported_after_one_read_timeout_in_the_status_file(
    tmp_path: Path,
) -> None:
    """Each request has a deadline, the read timeout, and a request that hung is not sent
    again: the uploader says the store is unreachable after the first hang, not the second."""
    server = HungServer()
    root = tmp_path / "data"
    data = DataDir.resolve(root, settings_for(root))
    data.store(create=True)
    data = DataDir.resolve(
        root,
        data.settings.model_copy(
            update={"s3": S3Settings(connect_timeout_seconds=2, read_timeout_seconds=2)}
        ),
    )
    write_session(data, random_segments(1))
    env = {
        "SEALROOM_S3_ENDPOINT": f"127.0.0.1:{server.port}",
        "SEALROOM_S3_BUCKET": "hung-bucket",
        "SEALROOM_S3_ACCESS_KEY": "hung-access-key",
        "SEALROOM_S3_SECRET_KEY": "hung-secret-key-0000",
        "SEALROOM_S3_SECURE": "0",
    }
    uploader = open_uploader(data, environ=env)
    stop = threading.Event()
    running = threading.Thread(target=uploader.run, args=(stop,), daemon=True)
    running.start()
    try:
        wait_for(
            lambda: status_of(data).get("state") == "unreachable",
            timeout=60,
            what="the status file to say the store is unreachable",
        )
        status = status_of(data)
    finally:
        stop.set()
        running.join(timeout=30)
        server.close()
    assert "timed out" in str(status["last_error"])
    since = parse_utc(str(status["unreachable_since"])).timestamp()
    asked_before = [t for t in server.accepted if t <= since]
    assert len(asked_before) == 1  # one request, one hang, reported: never asked twice
    assert status["backlog"]["objects"] > 0  # type: ignore[index]
