"""The defence expert's attacks on the witness checks (report on issue 11), each repeated and
caught: a witness that cannot be asked (fail closed), a saved witness answer replayed, an
answer from an older or rewritten log, heads that reached the witness late after an outage,
and a session the witness has never heard of."""

from __future__ import annotations

import http.server
import json
import os
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_store import (
    DeviceSigner,
    FilesystemStore,
    MediaInfo,
    Receipt,
    SessionMetadata,
    SessionWriter,
    SignedHead,
    TamperedError,
    TreeHead,
)
from evidence_store.installation import DataDir
from evidence_store.receipts import check_witness_view
from evidence_store.settings import EvidenceSettings
from evidence_store.signing import ensure_device_identity
from evidence_store.witnessing import WitnessLink, local_chain
from tests.support.witness import (
    InProcessCli,
    WitnessProcess,
    appliance_env,
    free_port,
    submission,
)
from witness.identity import WitnessIdentity
from witness.service import Outcome, Witness
from witness.submissions import read_submission

MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="VKS-11/2026", room="Phòng 1")


def appliance(root: Path, url: str) -> DataDir:
    data = DataDir.resolve(root, EvidenceSettings(witness_url=url, witness_timeout_seconds=2.0))
    data.store(create=True)
    return data


def write(data: DataDir, link: WitnessLink, segments: int, *, seal: bool = True) -> SessionWriter:
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, on_head=link.hook)
    for index in range(segments):
        writer.inflight_path(index).write_bytes(os.urandom(2000))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    if seal:
        writer.stop("kết thúc")
    return writer


def service_appliance(root: Path) -> tuple[FilesystemStore, DeviceSigner]:
    store = FilesystemStore.open(root / "evidence", create=True)
    return store, ensure_device_identity(root / "keys", root / "trust", device_name="phong-1")


def record(store: FilesystemStore, signer: DeviceSigner, segments: int = 2) -> list[SignedHead]:
    heads: list[SignedHead] = []
    writer = SessionWriter.start(store, signer, METADATA, MEDIA, on_head=heads.append)
    for index in range(segments):
        writer.inflight_path(index).write_bytes(os.urandom(2000))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    writer.stop("kết thúc")
    return heads


def send(witness: Witness, head: SignedHead, signer: DeviceSigner) -> Outcome:
    return witness.submit(read_submission(submission(head, signer)))


@pytest.fixture(scope="module")
def running_witness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitnessProcess]:
    process = WitnessProcess(tmp_path_factory.mktemp("attacks") / "witness-data")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def unwitnessed(root: Path, url: str) -> tuple[DataDir, str]:
    """A sealed session whose heads never left the box (written without the witness link)."""
    data = appliance(root, url)
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA)
    writer.inflight_path(0).write_bytes(os.urandom(2000))
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    writer.stop("kết thúc")
    return data, writer.session_id


# -- finding 4: fail closed ----------------------------------------------------------------


def test_a_configured_witness_that_cannot_be_asked_never_gives_intact(
    tmp_path: Path, sealroom_cli: InProcessCli
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    data, session_id = unwitnessed(tmp_path / "box", dead)
    env = {"SEALROOM_WITNESS_URL": dead}
    asked = sealroom_cli("verify", session_id, "--data-dir", str(data.root), env=env)
    assert asked.code == 3, asked.stdout + asked.stderr
    assert f"{session_id}: INCOMPLETE — witness {dead}: the witness could not be asked" in (
        asked.stdout
    )
    assert "INTACT" not in asked.stdout
    as_json = sealroom_cli("verify", session_id, "--json", "--data-dir", str(data.root), env=env)
    assert as_json.code == 3
    assert json.loads(as_json.stdout)["result"] == "witness_not_asked"
    # Only an explicit choice verifies without it, and the output says so.
    skipped = sealroom_cli(
        "verify", session_id, "--no-witness", "--data-dir", str(data.root), env=env
    )
    assert skipped.code == 0, skipped.stdout
    assert "witness: NOT ASKED (--no-witness)" in skipped.stdout
    verdicts = [
        e.detail["result"]
        for e in data.custody(data.store(), data.signer()).entries(action="verify")
    ]
    assert verdicts == ["witness_not_asked", "witness_not_asked", "intact"]


# -- finding 2: fresh answers --------------------------------------------------------------


class SavedAnswer(http.server.BaseHTTPRequestHandler):
    """Any HTTP server giving a saved witness answer to every question."""

    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_saved_witness_answer_replayed_is_refused(
    running_witness: WitnessProcess, tmp_path: Path, sealroom_cli: InProcessCli
) -> None:
    data = appliance(tmp_path / "box", running_witness.url)
    link = WitnessLink.open(data)
    assert link is not None
    link.start()
    try:
        writer = write(data, link, 1, seal=False)
        assert link.flush(20) == 0
        saved = urllib.request.urlopen(
            f"{running_witness.url}/sessions/{writer.session_id}", timeout=10
        ).read()  # what the insider keeps while the session is open
        writer.stop("kết thúc")
        assert link.flush(20) == 0
    finally:
        link.stop()
    SavedAnswer.body = saved
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SavedAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        replayed = sealroom_cli(
            "verify", writer.session_id, "--data-dir", str(data.root),
            "--witness-url", f"http://127.0.0.1:{server.server_address[1]}", env={},
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert replayed.code == 1, replayed.stdout
    assert "TAMPERED" in replayed.stdout
    assert "does not carry this verification's nonce: it is not fresh" in replayed.stdout
    genuine = sealroom_cli(
        "verify", writer.session_id, "--data-dir", str(data.root),
        "--witness-url", running_witness.url, env={},
    )  # fmt: skip
    assert genuine.code == 0, genuine.stdout


@pytest.fixture
def receipted(tmp_path: Path) -> tuple[FilesystemStore, str, list[TreeHead], WitnessIdentity]:
    """A session every head of which a witness received (in-process), and its receipts'
    tree heads."""
    identity = WitnessIdentity.load_or_create(tmp_path / "witness", name="test")
    first = Witness.open(f"sqlite:///{tmp_path / 'first.db'}", identity)
    store, signer = service_appliance(tmp_path / "box")
    signed = record(store, signer)
    heads = [
        Receipt.parse(send(first, head, signer).receipt or b"", location="r").tree_head
        for head in signed
    ]
    first.close()
    return store, signed[0].session_id, heads, identity


def test_an_answer_from_an_older_or_rewritten_log_is_refused(
    receipted: tuple[FilesystemStore, str, list[TreeHead], WitnessIdentity], tmp_path: Path
) -> None:
    store, session_id, heads, identity = receipted
    local = local_chain(store, session_id)
    # The witness's key answering from a log that holds less than the receipts were given
    # (a witness restored from an old backup, or its key in other hands).
    other = Witness.open(f"sqlite:///{tmp_path / 'other.db'}", identity)
    try:
        nonce = secrets.token_hex(32)
        with pytest.raises(TamperedError, match="the answer is older than the receipts"):
            check_witness_view(
                other.session_view(session_id, nonce), local, [identity.public_key], witness="w",
                nonce=nonce, receipt_heads=heads,
            )  # fmt: skip
        # A log of another history, grown past the receipts' size: not consistent with them.
        store2, signer2 = service_appliance(tmp_path / "box2")
        for head in record(store2, signer2, segments=3):
            send(other, head, signer2)
        nonce = secrets.token_hex(32)
        with pytest.raises(TamperedError, match="does not extend the one of 5"):
            check_witness_view(
                other.session_view(session_id, nonce), local, [identity.public_key], witness="w",
                nonce=nonce, receipt_heads=heads, consistency=other.consistency,
            )  # fmt: skip
        # Without a consistency proof at hand the size alone is not enough to refuse; the
        # receipts still name this log, and it has never heard of the session: tampered.
        with pytest.raises(TamperedError, match="never heard of this session"):
            check_witness_view(
                other.session_view(session_id, nonce), local, [identity.public_key], witness="w",
                nonce=nonce, receipt_heads=heads,
            )  # fmt: skip
    finally:
        other.close()


# -- findings 1 and 5: late heads, silences, sessions the witness never heard of -----------


@pytest.mark.slow
def test_heads_that_reached_the_witness_late_are_flagged_with_the_silence(
    tmp_path: Path, sealroom_cli: InProcessCli
) -> None:
    process = WitnessProcess(tmp_path / "witness-data")
    process.start()
    try:
        data = appliance(tmp_path / "box", process.url)
        link = WitnessLink.open(data)
        assert link is not None
        link.start()
        try:
            writer = write(data, link, 1, seal=False)
            assert link.flush(20) == 0  # link 0 and segment 0 reach the witness
            process.kill()  # the box is cut off from the witness
            for index in (1, 2):
                writer.inflight_path(index).write_bytes(os.urandom(2000))
                writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
            writer.stop("kết thúc")
            time.sleep(2.5)
            process.start()
            assert link.flush(60) == 0  # links 2-4 and the seal arrive after the outage
        finally:
            link.stop()
        verified = sealroom_cli(
            "verify", writer.session_id, "--late-after", "2", "--data-dir", str(data.root),
            env=appliance_env(process),
        )  # fmt: skip
    finally:
        process.stop()
    assert verified.code == 0, verified.stdout  # late is not tampered: it is said
    assert "LATE: links 2-4 and the seal reached the witness up to " in verified.stdout
    assert "for that window the witness proves only that they existed by then" in verified.stdout
    assert "LATE: the session was silent at the witness from " in verified.stdout
    prompt = sealroom_cli(
        "verify", writer.session_id, "--data-dir", str(data.root), "--no-witness", env={}
    )
    assert "LATE" not in prompt.stdout  # within the default tolerance (2 x 1 s + 30 s)


def test_a_session_the_witness_never_heard_of_is_said_prominently(
    running_witness: WitnessProcess, tmp_path: Path, sealroom_cli: InProcessCli
) -> None:
    # The backdated forgery: a session made later, with earlier times, never sent.
    data, session_id = unwitnessed(tmp_path / "box", running_witness.url)
    verified = sealroom_cli(
        "verify", session_id, "--data-dir", str(data.root),
        "--witness-key", str(running_witness.key_file), env=appliance_env(running_witness),
    )  # fmt: skip
    assert verified.code == 0, verified.stdout
    lines = verified.stdout.splitlines()
    assert lines[1].strip() == (
        f"WARNING: the witness {running_witness.url} has never heard of this session: nothing "
        "outside this box vouches that it was recorded, or when"
    )
    assert "the same as the session" not in verified.stdout
