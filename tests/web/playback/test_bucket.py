"""Once the uploader releases a session's spool copy, the console finds, plays (with HTTP
ranges, byte for byte, each segment checked against its seal) and verifies it from the
bucket; with the bucket unreachable it says so and recovers by itself when the bucket is
back."""

from __future__ import annotations

import hashlib
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from evidence_store import layout
from evidence_store.cli import reconcile_installation
from evidence_store.custody import CustodyEntry
from evidence_store.installation.data_dir import DataDir
from evidence_store.model import SessionMetadata
from evidence_store.upload.uploader import open_uploader
from tests.support.console import login
from tests.support.s3 import S3Target, data_dir, new_bucket, write_session
from web.app import create_app
from web.audit import custody_log
from web.auth.accounts import create_unit, create_user
from web.playback.codecs import DEFAULT_VIDEO_CODEC, avc_codec_string
from web.settings import ConsoleSettings

PASSWORD = "mật khẩu đủ dài để thử"
METADATA = SessionMetadata(
    case_number="VKS-31/2026",
    room="Phòng hỏi cung 3",
    unit="hanoi-bd",
    accused=["Phạm Văn Bị Can"],
    investigators=["Lê Thị Điều Tra"],
)


@dataclass
class Released:
    data: DataDir
    session_id: str
    segments: list[bytes]
    client: FlaskClient


def release_to_bucket(root: Path, target: S3Target, name: str, segments: list[bytes]) -> Released:
    """Record a session locally, upload it and let the uploader release the spool copy."""
    data = data_dir(root, keep_days=0)
    session_id = write_session(data, segments, metadata=METADATA)
    open_uploader(data, environ=target.env(name)).run(threading.Event(), drain=True, timeout=120)
    assert not (data.evidence / layout.session_prefix(session_id)).exists(), "not released"
    app = create_app(data, ConsoleSettings(secure_cookies=False), environ=target.env(name))
    with app.app_context():
        create_unit("hanoi", parent="supreme")
        create_unit("hanoi-bd", parent="hanoi")
        create_user("prosecutor", role="prosecutor", unit="hanoi", password=PASSWORD)
    # Written without a room's reporter: the catalog's reconcile finds it in the bucket.
    assert not reconcile_installation(data, environ=target.env(name)).failed
    client = app.test_client()
    login(client, "prosecutor", PASSWORD)
    return Released(data, session_id, segments, client)


@pytest.fixture
def released(
    s3_target: S3Target, bucket: str, media_segments: list[bytes], tmp_path: Path
) -> Released:
    return release_to_bucket(tmp_path / "data", s3_target, bucket, media_segments)


def entries(client: FlaskClient, session_id: str, action: str) -> list[CustodyEntry]:
    with client.application.app_context():
        return list(custody_log().entries(session_id=session_id, action=action))


def segment_url(session_id: str, index: int) -> str:
    return f"/sessions/{session_id}/segments/{index}.mp4"


def test_a_released_session_is_listed_and_its_page_shows_the_player(released: Released) -> None:
    listing = released.client.get("/sessions/")
    assert released.session_id in listing.get_data(as_text=True)
    page = released.client.get(f"/sessions/{released.session_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert segment_url(released.session_id, 2) in text
    codec = avc_codec_string(released.segments[0])
    assert codec != DEFAULT_VIDEO_CODEC  # ultrafast x264 makes Constrained Baseline
    assert codec in text  # read from the segment in the bucket


def test_playback_from_the_bucket_is_byte_for_byte_with_ranges(released: Released) -> None:
    client, session_id = released.client, released.session_id
    original = released.segments[1]
    size = len(original)

    whole = client.get(segment_url(session_id, 1))
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.data == original

    middle = client.get(segment_url(session_id, 1), headers={"Range": "bytes=100-4195"})
    assert middle.status_code == 206
    assert middle.headers["Content-Range"] == f"bytes 100-4195/{size}"
    assert middle.headers["Content-Length"] == "4096"
    assert middle.data == original[100:4196]

    tail = client.get(segment_url(session_id, 1), headers={"Range": "bytes=-500"})
    assert tail.status_code == 206
    assert tail.data == original[-500:]

    rest = client.get(segment_url(session_id, 1), headers={"Range": f"bytes={size - 10}-"})
    assert rest.data == original[-10:]

    beyond = client.get(segment_url(session_id, 1), headers={"Range": f"bytes={size + 5}-"})
    assert beyond.status_code == 416

    assert client.get(segment_url(session_id, 7)).status_code == 404
    played = entries(client, session_id, "playback")
    assert len(played) == 1  # one event per session per login, not one per range


def console_for_bucket_only(
    root: Path, target: S3Target, name: str, segments: list[bytes]
) -> Released:
    """A session recorded here and copied into the bucket object by object, with segment 1
    flipped by one byte on the way (its first, locked version is the altered one), and no
    local copy left: the console can read it only from the bucket."""
    data = data_dir(root)
    session_id = write_session(data, segments, metadata=METADATA)
    local = data.evidence / layout.session_prefix(session_id)
    s3 = target.boto3()
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        body = path.read_bytes()
        if path.name == layout.segment_name(1):
            body = body[:100] + bytes([body[100] ^ 0x01]) + body[101:]
        key = layout.session_prefix(session_id) + path.relative_to(local).as_posix()
        s3.put_object(Bucket=name, Key=key, Body=body)
    for path in local.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(local)
    app = create_app(data, ConsoleSettings(secure_cookies=False), environ=target.env(name))
    with app.app_context():
        create_unit("hanoi", parent="supreme")
        create_unit("hanoi-bd", parent="hanoi")
        create_user("prosecutor", role="prosecutor", unit="hanoi", password=PASSWORD)
    # Written without a room's reporter: the catalog's reconcile finds it in the bucket.
    assert not reconcile_installation(data, environ=target.env(name)).failed
    client = app.test_client()
    login(client, "prosecutor", PASSWORD)
    return Released(data, session_id, segments, client)


def test_a_flipped_byte_in_the_bucket_is_refused(
    s3_target: S3Target, bucket: str, media_segments: list[bytes], tmp_path: Path
) -> None:
    released = console_for_bucket_only(tmp_path / "data", s3_target, bucket, media_segments)
    client, session_id = released.client, released.session_id
    assert released.session_id in client.get("/sessions/").get_data(as_text=True)
    assert client.get(segment_url(session_id, 0)).data == media_segments[0]
    for headers in ({}, {"Range": "bytes=0-199"}):
        refused = client.get(segment_url(session_id, 1), headers=headers)
        assert refused.status_code == 409
        assert media_segments[1][:200] not in refused.data
        assert "000001.mp4" in refused.get_data(as_text=True)
    logged = entries(client, session_id, "playback_refused")
    assert len(logged) == 1  # once per login for this segment and what was found
    assert logged[0].detail["sealed_sha256"] == hashlib.sha256(media_segments[1]).hexdigest()
    assert logged[0].detail["found_sha256"] != logged[0].detail["sealed_sha256"]
    assert logged[0].detail["found_size"] == len(media_segments[1])
    tail = client.get(segment_url(session_id, 2), headers={"Range": "bytes=-300"})
    assert tail.status_code == 206 and tail.data == media_segments[2][-300:]


def test_verify_now_checks_the_copy_in_the_bucket(released: Released) -> None:
    client, session_id = released.client, released.session_id
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(f"/sessions/{session_id}/verify", data={"csrf_token": token})
    assert response.status_code == 302
    verified = entries(client, session_id, "verify")
    assert verified[-1].detail["intact"] is True
    assert verified[-1].detail["segments"] == len(released.segments)


def test_an_unreachable_bucket_is_said_plainly_and_recovered_from(
    own_seaweed: S3Target, media_segments: list[bytes], tmp_path: Path
) -> None:
    name = new_bucket(own_seaweed)
    released = release_to_bucket(tmp_path / "data", own_seaweed, name, media_segments)
    client, session_id = released.client, released.session_id
    assert client.get(segment_url(session_id, 0)).status_code == 200
    server = own_seaweed.server
    assert server is not None

    server.kill()
    down = client.get(segment_url(session_id, 0), headers={"Range": "bytes=0-99"})
    assert down.status_code == 503
    assert "object store" in down.get_data(as_text=True).lower() or "lưu trữ" in down.get_data(
        as_text=True
    )
    assert client.get("/sessions/").status_code == 200  # the list still works

    server.start()
    back = client.get(segment_url(session_id, 0), headers={"Range": "bytes=0-99"})
    assert back.status_code == 206
    assert back.data == media_segments[0][:100]
