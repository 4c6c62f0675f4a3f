"""A passthrough session's tracks through every verifier: ``sealroom verify``, an export's
standalone verify.py, the shipped hand procedure, and clip proofs. The session is recorded by
``sealroom record`` from a room profile of two real RTSP cameras (Debian's gst-rtsp-server),
whose sound is the first camera's own microphone, with the off-box witness and a time-stamp
authority on: their receipts and tokens stand beside a session of tracks as beside any."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence_store import layout
from evidence_store.chain import ChainState
from evidence_store.clips import clip_proof, verify_clip
from evidence_store.errors import TamperedError
from evidence_store.model import (
    DeviceStats,
    Event,
    EventType,
    Manifest,
    SegmentRef,
    SessionMetadata,
    TrackedMedia,
    TrackInfo,
)
from evidence_store.signing import TrustStore
from evidence_store.store import FilesystemStore
from tests.support.browser import shot, wait_js
from tests.support.cli import sealroom_here
from tests.support.exports import run_verify
from tests.support.hand_procedure import run_procedure
from tests.support.rtsp import RtspServer, free_port, require_gst_rtsp
from tests.support.s3 import run_sealroom_env
from tests.support.tsa import TsaAuthority, TsaServer, openssl_ts_verify
from tests.support.witness import InProcessCli, WitnessProcess, appliance_env

ROOM = "Phòng IP 1"


@dataclass(frozen=True)
class IpSession:
    data_dir: Path
    session_id: str
    output: str
    witness: WitnessProcess
    tsa_root: Path

    @property
    def env(self) -> dict[str, str]:
        """What the appliance that recorded it was told: its witness and authority."""
        return appliance_env(self.witness, SEALROOM_TSA_CA=str(self.tsa_root))

    @property
    def session_dir(self) -> Path:
        return self.data_dir / "evidence" / layout.session_prefix(self.session_id)

    def manifest(self) -> Manifest:
        body = (self.session_dir / "manifest.json").read_bytes()
        return Manifest.parse(body, location="manifest.json")


@pytest.fixture(scope="module")
def ip_session(
    tmp_path_factory: pytest.TempPathFactory, tsa_authority: TsaAuthority
) -> Iterator[IpSession]:
    require_gst_rtsp()
    root = tmp_path_factory.mktemp("ip")
    servers = [RtspServer(free_port()), RtspServer(free_port(), audio="none")]
    witness = WitnessProcess(root / "witness-data")
    tsa = TsaServer(tsa_authority)
    try:
        for server in servers:
            server.start()
        witness.start()
        tsa.start()
        config = root / "sealroom.toml"
        config.write_text(
            f"""
[recorder]
segment_seconds = 2

[rooms."{ROOM}"]
camera = {{ kind = "rtsp", url = "{servers[0].url}", name = "cam-A" }}
pip_camera = {{ kind = "rtsp", url = "{servers[1].url}", name = "cam-B" }}
microphone = {{ kind = "rtsp", url = "{servers[0].url}", name = "cam-A sound" }}
""",
            encoding="utf-8",
        )
        data = root / "data"
        env = appliance_env(witness, SEALROOM_TSA_URL=tsa.url, SEALROOM_TSA_CA=str(tsa.ca_file))
        result = run_sealroom_env(
            "record", "--room", ROOM, "--case", "VKS-16/2026", "--duration", "7",
            "--data-dir", str(data), env=env, config=config,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        session_id = result.stdout.split("sealed session ", 1)[1].split(":", 1)[0]
        yield IpSession(data, session_id, result.stdout, witness, tsa.ca_file)
    finally:
        tsa.stop()
        witness.stop()
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def ip_package(ip_session: IpSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = tmp_path_factory.mktemp("package") / "package"
    result = run_sealroom_env(
        "export", ip_session.session_id, "--out", str(package),
        "--data-dir", str(ip_session.data_dir), env=ip_session.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return package


def writable_copy(session: IpSession, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(session.data_dir, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_sealroom_record_prints_what_each_device_delivered(ip_session: IpSession) -> None:
    manifest = ip_session.manifest()
    assert isinstance(manifest.media, TrackedMedia)
    assert [t.id for t in manifest.media.tracks] == ["cam1", "cam2", "sound"]
    for stats in manifest.devices or []:
        line = next(x for x in ip_session.output.splitlines() if x.startswith(stats.device))
        assert f"frames received {stats.frames_received}" in line
        assert f"clock corrections {stats.clock_corrections}" in line
        assert "p99" in line


def test_sealroom_verify_checks_every_track(
    ip_session: IpSession, tmp_path: Path, sealroom_cli: InProcessCli
) -> None:
    result = sealroom_cli(
        "verify", ip_session.session_id, "--json", "--data-dir", str(ip_session.data_dir),
        env=ip_session.env,
    )  # fmt: skip
    assert result.code == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    links = len(list((ip_session.session_dir / "chain").glob("*.json")))
    assert outcome["segments"] == len(ip_session.manifest().segments)
    assert outcome["witness"]["state"] == "witnessed"  # every link of every track, and the seal
    assert outcome["witness_asked"]["links"] == links and outcome["witness_asked"]["sealed"]
    assert outcome["time_stamps"] and outcome["unchecked_time_stamps"] == 0
    for track in ("cam1", "cam2", "sound"):
        copy = writable_copy(ip_session, tmp_path / track)
        target = f"segments/{track}/000001.mp4"
        flip_byte(copy / "evidence" / layout.session_prefix(ip_session.session_id) / target)
        tampered = sealroom_here("verify", ip_session.session_id, "--json", "--data-dir", str(copy))
        outcome = json.loads(tampered.stdout)
        assert tampered.returncode == 1
        assert (outcome["result"], outcome["location"]) == ("tampered", target), outcome


def test_verify_py_and_the_hand_procedure_check_every_track(
    ip_session: IpSession, ip_package: Path, tmp_path: Path
) -> None:
    package = ip_package
    checked = run_verify(package, "--skip-time-stamps")  # Debian's Python: no rfc3161-client
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for track in ("cam1", "cam2", "sound"):
        assert f"segments/{track}/000000.mp4" in checked.stdout
    links = len(list((ip_session.session_dir / "chain").glob("*.json")))
    assert f"Witness:        {links} of {links} links and the seal have receipts" in checked.stdout
    stamped = subprocess.run(
        [sys.executable, "-I", "verify.py", "--lang", "en", "--tsa-root", str(ip_session.tsa_root)],
        cwd=package, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert stamped.returncode == 0, stamped.stdout + stamped.stderr
    assert "each checked against the authority's root" in stamped.stdout
    assert "RESULT: INTACT" in stamped.stdout

    # The hand procedure does not check tracks yet: it says so (could not run), never that a
    # sound session is tampered; sha256sum still checks every track's files.
    session = package / "sessions" / ip_session.session_id
    hand = run_procedure(session, package / "trust-root.pem")
    assert hand.returncode == 2 and "tracks (passthrough)" in hand.out, hand.out
    assert "verify.py" in hand.out and "RESULT: NOT INTACT" not in hand.out
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=session, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0 and "segments/cam2/000000.mp4: OK" in sums.stdout, sums.stdout

    tampered = tmp_path / "tampered"
    shutil.copytree(package, tampered)
    for path in tampered.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target = f"sessions/{ip_session.session_id}/segments/cam2/000001.mp4"
    flip_byte(tampered / target)
    refused = run_verify(tampered, "--skip-time-stamps")
    assert refused.returncode == 1
    assert f"file:   {target}" in refused.stdout, refused.stdout
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],
        cwd=tampered / "sessions" / ip_session.session_id,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "segments/cam2/000001.mp4: FAILED" in sums.stdout


def test_the_tokens_and_receipts_stand_beside_a_session_of_tracks(ip_session: IpSession) -> None:
    session = ip_session.session_dir
    links = sorted((session / "chain").glob("*.json"))
    receipts = sorted(p.name for p in (session / "witness").iterdir())
    assert receipts == [p.name for p in links] + ["manifest.json"]
    tokens = [*sorted(session.glob("chain/*.tsr")), session / "manifest.tsr"]
    assert tokens[0].name == "000000.tsr"
    for token in tokens:  # the check anyone can run by hand
        stamped = token.with_suffix(".json")
        done = openssl_ts_verify(stamped, token, ip_session.tsa_root)
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr


def test_a_clip_proof_covers_every_track_of_its_span(ip_session: IpSession, tmp_path: Path) -> None:
    store = FilesystemStore.open(ip_session.data_dir / "evidence", create=False)
    trust = TrustStore.from_paths([ip_session.data_dir / "trust"]).with_witness_keys(
        [ip_session.witness.key_file]
    )
    proof = clip_proof(store, ip_session.session_id, trust, 3_000_000, 4_000_000)
    assert {s.track for s in proof.segments} == {"cam1", "cam2", "sound"}
    manifest = ip_session.manifest()
    for segment in manifest.segments:  # exactly those that touch the span, of every track
        touches = segment.start_us < 4_000_000 and segment.end_us > 3_000_000
        assert touches == any(
            (s.track, s.index) == (segment.track, segment.index) for s in proof.segments
        )
    assert verify_clip(store, proof, trust).segments == len(proof.segments)

    copy = writable_copy(ip_session, tmp_path)
    store = FilesystemStore.open(copy / "evidence", create=False)
    covered = next(s for s in proof.segments if s.track == "sound")
    flip_byte(copy / "evidence" / layout.session_prefix(ip_session.session_id) / covered.path)
    with pytest.raises(TamperedError) as refused:
        verify_clip(store, proof, trust)
    assert refused.value.location == covered.path


@pytest.mark.slow
def test_the_offline_player_shows_every_track_in_step_from_file_url(
    ip_session: IpSession, ip_package: Path, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((ip_package / "player.html").as_uri())
    page.click("[data-action=play]")
    wait_js(page, "Number(document.getElementById('tracks').dataset.time) > 3.5", timeout=30)
    for _ in range(5):  # every camera where the sound is, on the session clock
        positions = page.evaluate("window.sealroomPlayer.positions()")
        sound = positions["sound"]
        assert sound is not None, positions
        for track in ("cam1", "cam2"):
            assert positions[track] is not None, positions
            assert abs(positions[track] - sound) < 0.2, positions
        page.wait_for_timeout(300)  # type: ignore[attr-defined]
    caption = page.inner_text(".tracks-caption")  # type: ignore[attr-defined]
    started = ip_session.manifest().started_at  # drawn from the sealed metadata, in GMT+7
    assert ROOM in caption and "VKS-16/2026" in caption and "GMT+7" in caption, caption
    assert f"{started[8:10]}/{started[5:7]}/{started[:4]}" in caption or "/" in caption
    shot(page, "export-player-tracks-inset")
    page.click("[data-action=layout-side]")
    page.click("[data-action=main-cam2]")
    state = page.evaluate(
        "[document.getElementById('tracks').dataset.layout, "
        "document.getElementById('tracks').dataset.main]"
    )
    assert state == ["side", "cam2"]
    shot(page, "export-player-tracks")
    # The same keys and controls as the single-camera player: speed for every track at once,
    # skips within the recording, fullscreen.
    page.select_option("[data-action=speed]", "2")
    rates = "Array.from(document.querySelectorAll('#tracks video')).map(v => v.playbackRate)"
    assert set(page.evaluate(rates)) == {2}
    page.keyboard.press("<")  # type: ignore[attr-defined]
    assert page.get_attribute("#tracks", "data-rate") == "1.5"
    assert set(page.evaluate(rates)) == {1.5}
    playing = page.get_attribute("#tracks", "data-playing")
    page.keyboard.press("k")  # type: ignore[attr-defined]
    toggled = page.get_attribute("#tracks", "data-playing")
    assert {playing, toggled} == {"true", "false"}
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    assert float(page.get_attribute("#tracks", "data-time")) == 0
    page.click("[data-action=fullscreen]")
    wait_js(page, "document.fullscreenElement?.id === 'tracks'", timeout=5)
    page.keyboard.press("f")  # type: ignore[attr-defined]
    wait_js(page, "document.fullscreenElement === null", timeout=5)
    assert errors == []


# -- the chain's rules for tracks ------------------------------------------------------------

MEDIA = TrackedMedia(
    mode="passthrough",
    sample_rate=48000,
    channels=1,
    segment_seconds=2,
    tracks=[
        TrackInfo(id="cam1", kind="camera", device="cam-A"),
        TrackInfo(id="sound", kind="sound", device="mic"),
    ],
)


def started() -> ChainState:
    chain = ChainState("s-20261207T000000Z-00000000")
    event = Event(
        type=EventType.SESSION_STARTED,
        metadata=SessionMetadata(case_number="C", room="R"),
        media=MEDIA,
        signer={"algorithm": "ed25519", "public_key_sha256": "0" * 64},  # type: ignore[arg-type]
    )
    chain.apply_event(event, "2026-12-07T00:00:00.000000Z", "chain/000000.json")
    return chain


def segment(
    track: str | None, index: int, start_us: int, duration_us: int = 2_000_000
) -> SegmentRef:
    return SegmentRef(
        index=index,
        name=f"{index:06d}.mp4",
        sha256="a" * 64,
        size=10,
        start_us=start_us,
        duration_us=duration_us,
        track=track,
    )


def test_a_tracks_segments_are_numbered_on_their_own_and_may_leave_gaps() -> None:
    chain = started()
    chain.apply_segment(segment("sound", 0, 0), "l1")
    chain.apply_segment(segment("cam1", 0, 1_200_000), "l2")  # joined at its first keyframe
    chain.apply_segment(segment("cam1", 1, 9_000_000), "l3")  # after an outage: a gap
    gaps = chain.gaps()
    assert [(g.track, g.from_us, g.to_us) for g in gaps] == [
        ("cam1", 0, 1_200_000),
        ("cam1", 3_200_000, 9_000_000),
    ]
    assert chain.next_segment_start_us == 11_000_000


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (segment("cam9", 0, 0), "unknown track"),
        (segment(None, 0, 0), "unknown track"),
        (segment("cam1", 1, 0), "index 1 of track cam1"),
    ],
)
def test_a_segment_that_breaks_its_tracks_rules_is_tampering(bad: SegmentRef, reason: str) -> None:
    with pytest.raises(TamperedError, match=reason):
        started().apply_segment(bad, "l1")


def test_overlapping_segments_of_one_track_are_tampering() -> None:
    chain = started()
    chain.apply_segment(segment("cam1", 0, 0), "l1")
    with pytest.raises(TamperedError, match="before the end"):
        chain.apply_segment(segment("cam1", 1, 1_999_999), "l2")


def test_stats_must_count_the_clock_corrections_the_chain_records() -> None:
    chain = started()
    correction = Event(type=EventType.CLOCK_CORRECTED, device="mic", reason="resampled")
    chain.apply_event(correction, "2026-12-07T00:00:01.000000Z", "l1")
    stats = DeviceStats(
        device="mic",
        kind="microphone",
        track="sound",
        frames_received=1,
        frames_dropped=0,
        frames_filled=0,
        silence_filled_samples=0,
        samples_cut=0,
        samples_resampled=5,
        clock_corrections=0,
        join_wait_us=0,
    )
    with pytest.raises(
        TamperedError, match="count 0 clock corrections of mic, the chain records 1"
    ):
        chain.apply_event(Event(type=EventType.DEVICE_STATS, stats=[stats]), "t", "l2")
