"""Clips in the console: a prosecutor marks a span of a sealed session; the clip keeps the
proof that ties the covered original segments to the seal, plays only those segments, and is
scoped to units like the session it comes from."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from evidence_store.clips import ClipProof, ClipSegment, verify_clip
from evidence_store.errors import TamperedError
from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from tests.support.clips import (
    SECOND_US,
    client_for,
    clip_id_of,
    custody,
    make_clip,
    record_long_session,
)
from tests.support.console import (
    MEDIA,
    PASSWORD,
    Console,
    build_console,
    catalog_reporter,
    csrf_token,
)
from web.auth.accounts import create_user
from web.clips.media import format_timecode, parse_timecode
from web.clips.verified import VerifiedClips, key_of
from web.extensions import db
from web.models import Clip

# -- helpers shared by the courtroom tests ----------------------------------------------------


def clip_count(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Clip).count()


def player_data(page: str, element: str) -> dict[str, object]:
    found = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', page)
    assert found, element
    data: dict[str, object] = json.loads(found.group(1))
    return data


# -- fixtures ---------------------------------------------------------------------------------


class Room:
    def __init__(self, console: Console, long_session: str, open_session: str) -> None:
        self.console = console
        self.app = console.app
        self.long_session = long_session  # 4 one-second segments, unit hanoi-bd
        self.open_session = open_session  # never sealed


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Room:
    console = build_console(tmp_path_factory.mktemp("clips"))
    with console.app.app_context():
        create_user("prosecutor-danang", role="prosecutor", unit="danang", password=PASSWORD)
    long_session = record_long_session(console.data, "hanoi-bd", [os.urandom(3000) for _ in "abcd"])
    open_session = record_long_session(console.data, "hanoi-bd", [os.urandom(900)], seal=False)
    return Room(console, long_session, open_session)


# -- tests ------------------------------------------------------------------------------------


def test_a_prosecutor_defines_a_clip_that_keeps_its_proof(room: Room) -> None:
    client = client_for(room.app, "prosecutor")
    session_page = client.get(f"/sessions/{room.long_session}").get_data(as_text=True)
    assert 'id="clip-from-player"' in session_page  # the session page offers it

    status, location = make_clip(client, room.long_session, "0:01.500", "0:02.5")
    assert status == 302, location
    clip_id = clip_id_of(location)
    with room.app.app_context():
        clip = db.session.get(Clip, clip_id)
        assert clip is not None
        assert (clip.start_ms, clip.end_ms, clip.unit_code) == (1500, 2500, "hanoi-bd")
        proof = ClipProof.from_json(clip.proof)
        trust = room.console.data.trust()
        verified = verify_clip(room.console.data.store(), proof, trust)
    assert [s.index for s in proof.segments] == [1, 2]  # the span 1.5-2.5 s covers two
    assert (proof.start_us, proof.end_us) == (1_500_000, 2_500_000)
    assert verified.segments == 2

    created = custody(room.app, "clip_created", room.long_session)
    assert created[-1]["clip_id"] == clip_id
    assert created[-1]["segments"] == ["000001.mp4", "000002.mp4"]

    page = client.get(location).get_data(as_text=True)
    player = player_data(page, "clip-data")
    urls = [s["url"] for s in player["segments"]]  # type: ignore[attr-defined]
    assert urls == [f"/clips/{clip_id}/segments/1.mp4", f"/clips/{clip_id}/segments/2.mp4"]
    assert (player["in"], player["out"]) == (0.5, 1.5)  # on the clip's own timeline
    assert custody(room.app, "view", room.long_session)[-1]["clip_id"] == clip_id
    # the served segment is the sealed original, byte for byte, and ranges work
    plays = len(custody(room.app, "playback", room.long_session))
    served = client.get(urls[0])
    stored = room.console.data.store().path(f"sessions/{room.long_session}/segments/000001.mp4")
    assert served.status_code == 200 and served.data == stored.read_bytes()
    part = client.get(urls[0], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == stored.read_bytes()[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(served.data)}"
    assert client.get(urls[1]).status_code == 200
    # one custody event for this viewer playing this clip, not one per fetch
    assert len(custody(room.app, "playback", room.long_session)) == plays + 1
    # a clip never serves the rest of the session
    for outside in (0, 3, 99):
        assert client.get(f"/clips/{clip_id}/segments/{outside}.mp4").status_code == 404


@pytest.mark.parametrize(
    ("typed", "milliseconds"),
    [
        ("00:01:05.250", 65_250),  # the scheme every page shows, read back
        ("01:02:03.004", 3_723_004),
        ("1:05", 65_000),  # and the shorter forms people type
        ("01:05.5", 65_500),
        ("65.25", 65_250),
        ("7", 7_000),
    ],
)
def test_the_form_reads_the_time_code_it_shows_and_shorter_forms(
    typed: str, milliseconds: int
) -> None:
    assert parse_timecode(typed) == milliseconds
    assert parse_timecode(format_timecode(milliseconds)) == milliseconds


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("0:03", "0:02", "The clip must end after it starts."),
        ("0:02", "0:02", "The clip must end after it starts."),
        ("0:01", "0:09", "after the recording&#39;s end (00:00:04.000)"),
        ("abc", "0:02", "Start: abc is not a time such as 00:01:05.250 (or 1:05, 65.25)"),
        ("0:01", "1:75", "End: 1:75 is not a time such as 00:01:05.250"),
        ("", "0:02", "Start: This field is required."),
    ],
)
def test_a_bad_span_is_refused_with_a_clear_error_and_nothing_stored(
    room: Room, start: str, end: str, message: str
) -> None:
    client = client_for(room.app, "prosecutor")
    before_clips, before_events = clip_count(room.app), len(custody(room.app, "clip_created"))
    status, page = make_clip(client, room.long_session, start, end)
    assert status == 400
    assert message in page
    assert clip_count(room.app) == before_clips
    assert len(custody(room.app, "clip_created")) == before_events


def test_only_a_sealed_session_has_clips(room: Room) -> None:
    client = client_for(room.app, "prosecutor")
    assert 'id="clip-from-player"' not in client.get(f"/sessions/{room.open_session}").get_data(
        as_text=True
    )
    before = clip_count(room.app)
    status, page = make_clip(client, room.open_session, "0:00", "0:00.5")
    assert status == 400 and "Only a sealed session has clips." in page
    assert clip_count(room.app) == before


def test_who_may_define_clips(room: Room) -> None:
    supervisor = client_for(room.app, "supervisor")
    status, location = make_clip(supervisor, room.long_session, "0:00", "0:01", number="VC-9")
    assert status == 302, location
    for username in ("court-clerk", "investigator", "auditor"):
        client = client_for(room.app, username)
        token = csrf_token(client, f"/sessions/{room.long_session}")
        response = client.post(
            "/clips/new",
            data={
                "csrf_token": token,
                "session_id": room.long_session,
                "title": "x",
                "exhibit_number": "x",
                "start": "0:00",
                "end": "0:01",
            },
        )
        assert response.status_code == 403, username
        assert client.get(location).status_code == 200, username  # but they may watch it


def test_clips_are_scoped_to_units_and_listed_per_session_and_unit(room: Room) -> None:
    hanoi = client_for(room.app, "prosecutor")
    danang = client_for(room.app, "prosecutor-danang")
    other = room.console.other_session  # recorded in danang
    assert make_clip(hanoi, other, "0:00", "0:00.5")[0] == 404  # cannot even see the session
    status, location = make_clip(danang, other, "0:00", "0:00.5", title="Đà Nẵng", number="DN-1")
    assert status == 302, location
    status, _own = make_clip(hanoi, room.long_session, "0:00", "0:00.5", title="Hà Nội clip")
    assert status == 302

    denied = len(custody(room.app, "access_denied"))
    assert hanoi.get(location).status_code == 404  # not revealed, and logged
    assert len(custody(room.app, "access_denied")) == denied + 1
    listing = hanoi.get("/clips/").get_data(as_text=True)
    assert "Hà Nội clip" in listing and "Đà Nẵng" not in listing
    assert 'data-unit="hanoi-bd"' in listing
    with room.app.app_context():  # created times in the console's zone (UTC+7), not UTC
        made = db.session.scalars(select(Clip).where(Clip.title == "Hà Nội clip")).one().created_at
    local = made.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in listing
    assert "Đà Nẵng" in danang.get("/clips/").get_data(as_text=True)

    per_session = hanoi.get(f"/clips/?session_id={room.long_session}").get_data(as_text=True)
    assert "Hà Nội clip" in per_session
    assert hanoi.get(f"/clips/?session_id={other}").status_code == 404
    assert "No clips." in hanoi.get("/clips/?unit=hanoi").get_data(as_text=True)
    assert "Hà Nội clip" in hanoi.get("/clips/?unit=hanoi-bd").get_data(as_text=True)
    assert client_for(room.app, "admin").get("/clips/").status_code == 403


def test_verify_now_checks_only_the_clip_and_names_the_first_failure(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    session_id = record_long_session(console.data, "hanoi-bd", [os.urandom(2000) for _ in "abc"])
    client = client_for(console.app, "prosecutor")
    status, location = make_clip(client, session_id, "0:00.2", "0:00.9")  # segment 0 only
    assert status == 302
    segments = console.data.store().path(f"sessions/{session_id}/segments")

    def verify_page() -> str:
        token = csrf_token(client, location)
        client.post(f"{location}/verify", data={"csrf_token": token})
        return client.get(location).get_data(as_text=True)

    assert "INTACT" in verify_page()
    outside = segments / "000002.mp4"  # not part of the clip: the clip stands on its own
    outside.chmod(0o644)
    outside.write_bytes(b"X" + outside.read_bytes()[1:])
    assert "INTACT" in verify_page()
    covered = segments / "000000.mp4"
    covered.chmod(0o644)
    covered.write_bytes(b"X" + covered.read_bytes()[1:])
    page = verify_page()
    assert "TAMPERED" in page and "segments/000000.mp4" in page
    results = [e["intact"] for e in custody(console.app, "verify", session_id)]
    assert results == [True, True, False]
    with console.app.app_context():
        proof = ClipProof.from_json(db.session.get(Clip, clip_id_of(location)).proof)  # type: ignore[union-attr]
    with pytest.raises(TamperedError):
        verify_clip(console.data.store(), proof, console.data.trust())


def test_a_segment_altered_after_verification_is_refused_as_it_is_fetched(tmp_path: Path) -> None:
    console = build_console(tmp_path)
    session_id = record_long_session(console.data, "hanoi-bd", [os.urandom(2000) for _ in "abc"])
    client = client_for(console.app, "prosecutor")
    status, location = make_clip(client, session_id, "0:00.2", "0:01.5")  # segments 0 and 1
    assert status == 302
    token = csrf_token(client, location)
    client.post(f"{location}/verify", data={"csrf_token": token})
    assert "INTACT" in client.get(location).get_data(as_text=True)
    url = f"{location}/segments/1.mp4"
    assert client.get(url).status_code == 200

    stored = console.data.store().path(f"sessions/{session_id}/segments/000001.mp4")
    original = stored.read_bytes()
    stored.chmod(0o644)
    stored.write_bytes(b"FORGED" + original[6:])  # same size, other bytes
    for headers in ({}, {"Range": "bytes=0-5"}, {}):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 409 and b"FORGED" not in refused.data
        assert "000001.mp4 does not match the clip" in refused.get_data(as_text=True)
    logged = custody(console.app, "playback_refused", session_id)
    assert len(logged) == 1  # once per login for this segment and this forgery, not per fetch
    assert logged[-1]["segment"] == "000001.mp4"
    assert logged[-1]["sealed_sha256"] == hashlib.sha256(original).hexdigest()
    assert logged[-1]["found_sha256"] == hashlib.sha256(b"FORGED" + original[6:]).hexdigest()

    other_login = client_for(console.app, "prosecutor")
    assert other_login.get(url).status_code == 409
    assert len(custody(console.app, "playback_refused", session_id)) == 2  # another login
    stored.write_bytes(b"FORGED AGAIN" + original[12:])
    assert client.get(url).status_code == 409
    stored.unlink()
    assert client.get(url).status_code == 409
    assert client.get(url).status_code == 409
    found = [e["found_sha256"] for e in custody(console.app, "playback_refused", session_id)]
    assert len(found) == 4 and found[-1] == "missing"  # each new forgery is logged, once
    assert len(set(found)) == 3
    assert client.get(f"{location}/segments/0.mp4").status_code == 200  # the intact one plays


def test_verified_proofs_are_kept_per_proof_text_and_bounded() -> None:
    segment = ClipSegment(1, "000001.mp4", "a" * 64, 10, 0, SECOND_US, 1)
    proof = ClipProof("s-1", 0, SECOND_US, (segment,), ("b" * 64,), 0, "b" * 64, "c" * 64, "x")
    cache = VerifiedClips(capacity=2)
    first = key_of(7, proof.to_json())
    assert key_of(7, proof.to_json() + " ") != first  # another text is another key
    assert cache.put(first, proof)[(None, 1)] == segment  # (track, index): no track here
    cache.put(key_of(8, "other"), proof)
    assert cache.get(first) is not None  # used: kept over the entry not used since
    cache.put(key_of(9, "third"), proof)
    assert len(cache) == 2 and cache.get(key_of(8, "other")) is None
    assert cache.get(first) is not None


def _verified_clip_cookie(console: Console, count: int) -> int:
    """A session of ``count`` two-second segments, a clip of all of it verified: the longest
    cookie the verification sets."""
    writer = SessionWriter.start(
        console.data.store(create=True),
        console.data.signer(),
        SessionMetadata(case_number="VKS-8/2026", room="Phòng 1", unit="hanoi-bd"),
        MEDIA,
        on_head=catalog_reporter(console.data).on_head,
    )
    try:
        for index in range(count):
            writer.inflight_path(index).write_bytes(index.to_bytes(4, "big"))
            writer.seal_segment(index, start_us=index * 2 * SECOND_US, duration_us=2 * SECOND_US)
        writer.stop("kết thúc")
    finally:
        writer.close()
    client = client_for(console.app, "prosecutor")
    end = count * 2  # seconds
    status, location = make_clip(
        client, writer.session_id, "0:00", f"{end // 3600}:{end % 3600 // 60:02d}:{end % 60:02d}"
    )
    assert status == 302, location
    token = csrf_token(client, location)
    answer = client.post(f"{location}/verify", data={"csrf_token": token})
    cookies = answer.headers.getlist("Set-Cookie")
    page = client.get(location).get_data(as_text=True)
    assert "INTACT" in page and f"{count} segments" in page
    return max(len(c) for c in cookies)


def test_a_long_clips_verification_fits_in_the_session_cookie(tmp_path: Path) -> None:
    """The outcome kept for the clip page must not grow with the clip's segments (an hour of
    two-second segments is 1800; a browser drops a cookie over 4 KB): 30 and 450 segments
    leave cookies of the same size, give or take the digits of their numbers."""
    console = build_console(tmp_path)
    short, long = _verified_clip_cookie(console, 30), _verified_clip_cookie(console, 450)
    assert long < 2048 and abs(long - short) <= 16, (short, long)
