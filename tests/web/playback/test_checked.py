"""The review player gets a segment only if its bytes are the ones the session's signed chain
sealed: a segment altered in place, a link rewritten to match the forgery, or a session
re-signed with another key is refused with 409 and one custody event, never played. Ranges
of an unchanged segment that was checked are not hashed again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509

from evidence_store import ClipSegment, FilesystemStore
from evidence_store.bucket import LayeredStore
from evidence_store.model import SessionMetadata
from evidence_store.session import SessionWriter
from tests.support.clips import SECOND_US, client_for, custody, record_long_session
from tests.support.console import MEDIA, Console, build_console, catalog_reporter
from tests.support.evidence import edit_json, resign_session, self_signed_attacker
from web.playback import CheckedSegments, Refusal, checked_segments


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return build_console(tmp_path)


def session_dir(console: Console, session_id: str) -> Path:
    return console.data.store().path(f"sessions/{session_id}")


def url(session_id: str, index: int) -> str:
    return f"/sessions/{session_id}/segments/{index}.mp4"


def link_of_segment(directory: Path, index: int) -> Path:
    """The chain link that seals segment ``index``."""
    for link in sorted((directory / "chain").glob("*.json")):
        if f'"index":{index},' in link.read_text():
            return link
    raise AssertionError(f"no link seals segment {index}")


def test_a_flipped_byte_in_a_sealed_segment_is_refused_by_the_review_player(
    console: Console,
) -> None:
    segments = [os.urandom(3000) for _ in range(3)]
    session_id = record_long_session(console.data, "hanoi-bd", segments)
    client = client_for(console.app, "prosecutor")
    assert client.get(url(session_id, 1)).data == segments[1]  # checked, and kept checked

    stored = session_dir(console, session_id) / "segments" / "000001.mp4"
    forged = bytearray(segments[1])
    forged[1500] ^= 0x01
    stored.chmod(0o644)
    stored.write_bytes(bytes(forged))
    sealed = hashlib.sha256(segments[1]).hexdigest()
    for headers in ({}, {"Range": "bytes=0-99"}, {"Range": "bytes=-10"}, {"If-None-Match": sealed}):
        refused = client.get(url(session_id, 1), headers=headers)
        assert refused.status_code == 409, headers  # not even "304: keep your copy"
        assert refused.data != bytes(forged) and bytes(forged[:100]) not in refused.data
        assert "000001.mp4 does not match its seal" in refused.get_data(as_text=True)
    logged = custody(console.app, "playback_refused", session_id)
    assert len(logged) == 1  # once per login for this segment and this forgery
    assert logged[0]["segment"] == "000001.mp4" and logged[0]["index"] == 1
    assert logged[0]["sealed_sha256"] == sealed
    assert logged[0]["found_sha256"] == hashlib.sha256(bytes(forged)).hexdigest()
    assert "clip_id" not in logged[0]

    assert client.get(url(session_id, 0)).data == segments[0]  # the intact ones still play
    assert client_for(console.app, "prosecutor").get(url(session_id, 1)).status_code == 409
    assert len(custody(console.app, "playback_refused", session_id)) == 2  # another login

    stored.write_bytes(segments[1])  # put back: checked again, and played
    assert (
        client.get(url(session_id, 1), headers={"Range": "bytes=10-19"}).data
        == (segments[1][10:20])
    )
    stored.unlink()
    assert client.get(url(session_id, 1)).status_code == 409
    assert custody(console.app, "playback_refused", session_id)[-1]["found_sha256"] == "missing"


def test_ranges_of_an_unchanged_checked_segment_are_not_hashed_again(console: Console) -> None:
    segments = [os.urandom(4096) for _ in range(2)]
    session_id = record_long_session(console.data, "hanoi-bd", segments)
    client = client_for(console.app, "prosecutor")
    with console.app.app_context():
        checks = checked_segments()
    before = checks.hashed
    parts = [
        client.get(url(session_id, 0), headers={"Range": f"bytes={start}-{start + 1023}"})
        for start in range(0, 4096, 1024)
    ]
    assert [p.status_code for p in parts] == [206] * 4
    assert b"".join(p.data for p in parts) == segments[0]
    assert checks.hashed == before + 1  # read and hashed once, then answered from memory

    stored = session_dir(console, session_id) / "segments" / "000000.mp4"
    stored.chmod(0o644)
    stored.write_bytes(b"X" + segments[0][1:])  # a new identity: checked again
    assert client.get(url(session_id, 0), headers={"Range": "bytes=1-9"}).status_code == 409
    assert checks.hashed == before + 2


def test_a_link_rewritten_to_seal_the_forged_bytes_is_refused(console: Console) -> None:
    """The seal is the signed link, not whatever the link file now says."""
    segments = [os.urandom(3000) for _ in range(3)]
    session_id = record_long_session(console.data, "hanoi-bd", segments)
    directory = session_dir(console, session_id)
    forged = b"FORGED" + segments[2][6:]
    stored = directory / "segments" / "000002.mp4"
    stored.chmod(0o644)
    stored.write_bytes(forged)
    link = link_of_segment(directory, 2)

    def seal_forgery(document: dict[str, object]) -> None:
        segment = document["segment"]
        assert isinstance(segment, dict)
        segment["sha256"] = hashlib.sha256(forged).hexdigest()

    edit_json(link, seal_forgery)
    client = client_for(console.app, "prosecutor")
    assert client.get(url(session_id, 0)).data == segments[0]  # sealed before the broken link
    refused = client.get(url(session_id, 2))
    assert refused.status_code == 409 and not refused.data.startswith(b"FORGED")
    assert "chain that seals it does not verify" in refused.get_data(as_text=True)
    assert client.get(url(session_id, 2)).status_code == 409
    logged = custody(console.app, "playback_refused", session_id)
    assert len(logged) == 1
    assert logged[0]["index"] == 2
    assert logged[0]["verification"]["location"] == f"chain/{link.name}"
    assert "signature" in logged[0]["verification"]["reason"]


def test_a_session_re_signed_with_another_key_is_refused(console: Console) -> None:
    segments = [os.urandom(3000) for _ in range(2)]
    session_id = record_long_session(console.data, "hanoi-bd", segments)
    directory = session_dir(console, session_id)
    genuine = x509.load_pem_x509_certificate(
        (directory / "signer" / "certificate.pem").read_bytes()
    )
    forged = b"FORGED" + segments[1][6:]
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (directory / "segments" / "000001.mp4").write_bytes(forged)

    def seal_forgery(seq: int, document: dict[str, object]) -> None:
        segment = document.get("segment")
        if isinstance(segment, dict) and segment["index"] == 1:
            segment["sha256"] = hashlib.sha256(forged).hexdigest()

    def manifest_forgery(document: dict[str, object]) -> None:
        listed = document["segments"]
        assert isinstance(listed, list)
        listed[1]["sha256"] = hashlib.sha256(forged).hexdigest()

    resign_session(
        directory,
        self_signed_attacker(genuine),
        edit_link=seal_forgery,
        edit_manifest=manifest_forgery,
    )
    client = client_for(console.app, "prosecutor")
    for index in (0, 1):  # no segment of it: its signer is not one the console trusts
        assert client.get(url(session_id, index)).status_code == 409
    logged = custody(console.app, "playback_refused", session_id)
    assert [e["verification"]["result"] for e in logged] == ["untrusted", "untrusted"]


def test_a_session_still_recording_plays_as_its_chain_grows(console: Console) -> None:
    writer = SessionWriter.start(
        console.data.store(create=True),
        console.data.signer(),
        SessionMetadata(case_number="VKS-9/2026", room="Phòng 2", unit="hanoi-bd"),
        MEDIA,
        on_head=catalog_reporter(console.data).on_head,
    )
    segments = [os.urandom(2000) for _ in range(3)]
    try:
        writer.inflight_path(0).write_bytes(segments[0])
        writer.seal_segment(0, start_us=0, duration_us=SECOND_US)
        client = client_for(console.app, "prosecutor")
        assert client.get(url(writer.session_id, 0)).data == segments[0]
        assert client.get(url(writer.session_id, 1)).status_code == 404  # not sealed yet
        for index in (1, 2):
            writer.inflight_path(index).write_bytes(segments[index])
            writer.seal_segment(index, start_us=index * SECOND_US, duration_us=SECOND_US)
        assert client.get(url(writer.session_id, 2)).data == segments[2]
        assert client.get(url(writer.session_id, 1)).data == segments[1]
    finally:
        writer.close()


def test_checked_segments_are_bounded_by_their_bytes(tmp_path: Path) -> None:
    local = FilesystemStore.open(tmp_path / "evidence", create=True)
    store = LayeredStore(local, None)
    session_id = "s-20260101T000000Z-0000abcd"
    bodies = [os.urandom(1000) for _ in range(3)]
    seals = []
    for index, body in enumerate(bodies):
        local.put_bytes(f"sessions/{session_id}/segments/{index:06d}.mp4", body)
        digest = hashlib.sha256(body).hexdigest()
        seals.append(ClipSegment(index, f"{index:06d}.mp4", digest, len(body), 0, SECOND_US, 0))
    checks = CheckedSegments(budget=2500)
    assert [checks.bytes_of(store, session_id, seal) for seal in seals] == bodies
    assert len(checks) == 2  # 3000 bytes do not fit in 2500: the least recently used went
    assert checks.bytes_of(store, session_id, seals[2]) == bodies[2]
    assert checks.hashed == 3  # still held
    assert checks.bytes_of(store, session_id, seals[0]) == bodies[0]
    assert checks.hashed == 4  # dropped, so read and hashed again

    wrong_size = ClipSegment(1, "000001.mp4", seals[1].sha256, 999, 0, SECOND_US, 0)
    refusal = checks.bytes_of(store, session_id, wrong_size)
    assert isinstance(refusal, Refusal) and refusal.found_size == 1000
    assert refusal.failure()["reason"] == "segment is 1000 bytes, the chain sealed 999"
