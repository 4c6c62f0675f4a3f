"""The witness as it runs: ``sealroom witness serve`` on loopback (SQLite, and the test
PostgreSQL), appliances sending their heads through the outbox, ``sealroom verify`` asking
it, and ``sealroom witness verify`` checking its log between two tree heads."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from evidence_store import (
    MediaInfo,
    SessionMetadata,
    SessionWriter,
    TreeHead,
    layout,
    verify_session,
)
from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings
from evidence_store.witnessing import WitnessLink
from tests.support.cli import SMALL
from tests.support.s3 import run_sealroom_env
from tests.support.witness import (
    InProcessCli,
    WitnessProcess,
    appliance_env,
    free_port,
    submission,
)
from witness.identity import WitnessIdentity
from witness.schema import EntryRow, NodeRow, TreeHeadRow, TreeRow
from witness.tree import MerkleTree

MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="VKS-11/2026", room="Phòng 1")


def appliance(root: Path, url: str) -> DataDir:
    settings = EvidenceSettings(witness_url=url, witness_timeout_seconds=2.0)
    data = DataDir.resolve(root, settings)
    data.store(create=True)
    return data


def write(data: DataDir, link: WitnessLink, segments: int, *, seal: bool = True) -> SessionWriter:
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, on_head=link.hook)
    for index in range(segments):
        writer.inflight_path(index).write_bytes(os.urandom(4000))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    if seal:
        writer.stop("kết thúc")
    return writer


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[WitnessProcess]:
    process = WitnessProcess(tmp_path / "witness-data")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_recorded_session_is_witnessed_and_verifies_against_the_witness(
    database: str, tmp_path: Path, request: pytest.FixtureRequest, sealroom_cli: InProcessCli
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    if url is not None:  # a database of its own on the shared server
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE witness_e2e")
        engine.dispose()
        url = url.rsplit("/", 1)[0] + "/witness_e2e"
    process = WitnessProcess(tmp_path / "witness-data", database_url=url)
    process.start()
    try:
        kept = urllib.request.urlopen(f"{process.url}/sth", timeout=5).read()
        env = appliance_env(process)
        data_dir = tmp_path / "box"
        recorded = run_sealroom_env(
            "record", "--synthetic", "--room", "Phòng 1", "--case", "VKS-11/2026",
            "--duration", "3", *SMALL, "--json", "--data-dir", str(data_dir), env=env,
        )  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
        session_id = json.loads(recorded.stdout)["session_id"]
        session = data_dir / "evidence" / "sessions" / session_id
        links = len(list((session / "chain").glob("*.json")))
        receipts = sorted(p.name for p in (session / "witness").iterdir())
        assert receipts == [f"{n:06d}.json" for n in range(links)] + ["manifest.json"]
        assert "(trust on first use)" in process.log_text()  # the enrolment is logged
        verified = sealroom_cli(
            "verify", session_id, "--json", "--data-dir", str(data_dir), env=env
        )
        assert verified.code == 0, verified.stdout + verified.stderr
        outcome = json.loads(verified.stdout)
        assert outcome["witness"]["state"] == "witnessed"
        asked = outcome["witness_asked"]
        assert asked.pop("last_heard_at") >= outcome["ended_at"]  # the seal, heard after the end
        assert asked == {
            "url": process.url, "answered": True, "links": links, "sealed": True, "forks": 0,
            "never_heard": False, "silences": [],
        }  # fmt: skip
        witnessed = sealroom_cli(
            "custody", "log", "--action", "witnessed", "--json", "--data-dir", str(data_dir),
            env={},
        )  # fmt: skip
        assert [e["session_id"] for e in json.loads(witnessed.stdout)] == [session_id]
        # The log only grew since the head kept before the session.
        (tmp_path / "kept.json").write_bytes(kept)
        consistent = sealroom_cli(
            "witness", "verify", str(tmp_path / "kept.json"), "--url", process.url,
            "--witness-key", str(process.key_file), env={},
        )  # fmt: skip
        assert consistent.code == 0, consistent.stdout + consistent.stderr
        assert "CONSISTENT" in consistent.stdout
    finally:
        process.stop()


def test_the_witness_killed_mid_session_loses_nothing_and_the_lateness_is_recorded(
    witness: WitnessProcess, tmp_path: Path
) -> None:
    data = appliance(tmp_path / "box", witness.url)
    link = WitnessLink.open(data)
    assert link is not None
    link.start()
    try:
        writer = write(data, link, 1, seal=False)
        assert link.flush(20) == 0  # link 0 and segment 0 are witnessed
        witness.kill()
        down_at = time.monotonic()
        for index in (1, 2):
            writer.inflight_path(index).write_bytes(os.urandom(4000))
            writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
        writer.stop("kết thúc")
        assert link.outbox.backlog().items == 4  # links 2 to 4 and the seal, queued on disk
        time.sleep(max(0.0, 1.0 - (time.monotonic() - down_at)))  # down for a second at least
        witness.start()
        assert link.flush(60) == 0
    finally:
        link.stop()
    report = verify_session(data.store(), writer.session_id, data.trust()).witness
    assert report is not None and report.complete
    late = {item.name: item.seconds for item in report.lateness}
    # Signed while the witness was down, received after it came back: at least a second.
    assert all(
        late[name] >= 1.0 for name in ("chain/000002.json", "chain/000004.json", "manifest.json")
    )


def shorten(data: DataDir, session_id: str, *, receipts: bool = True) -> None:
    """Issue 11, finding 1, by hand: the last segment, its links and the seal (and, unless
    told not to, their receipts) removed with rm; the custody database and its checkpoints
    deleted too."""
    session = data.evidence / "sessions" / session_id
    for path in session.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    session.chmod(0o755)
    names = ["segments/000001.mp4", "chain/000002.json", "chain/000002.sig",
             "chain/000003.json", "chain/000003.sig", "SHA256SUMS", "SHA256SUMS.sig",
             "manifest.json", "manifest.sig"]  # fmt: skip
    if receipts:
        names += ["witness/000002.json", "witness/000003.json", "witness/manifest.json"]
    for name in names:
        (session / name).unlink()
    (data.root / "custody.db").unlink()
    shutil.rmtree(data.evidence / "custody")


@pytest.fixture
def witnessed(witness: WitnessProcess, tmp_path: Path) -> tuple[DataDir, str]:
    """A session of two segments, every head witnessed."""
    data = appliance(tmp_path / "box", witness.url)
    link = WitnessLink.open(data)
    assert link is not None
    link.start()
    try:
        session_id = write(data, link, 2).session_id
        assert link.flush(30) == 0
    finally:
        link.stop()
    data.custody(data.store(), data.signer()).record(
        actor="test", role="operator", action="record_sealed", session_id=session_id
    )
    return data, session_id


def test_a_shortened_and_resealed_session_is_caught_naming_the_witness_without_custody(
    witness: WitnessProcess, witnessed: tuple[DataDir, str], sealroom_cli: InProcessCli
) -> None:
    data, session_id = witnessed
    shorten(data, session_id)
    # The insider's box knows no witness: recovery re-seals what is left with the device key.
    resealed = sealroom_cli("recover", "--data-dir", str(data.root), env={})
    assert resealed.code == 0, resealed.stdout + resealed.stderr
    assert "INTERRUPTED and sealed, 1 segments" in resealed.stdout
    alone = sealroom_cli("verify", session_id, "--data-dir", str(data.root), env={})
    assert alone.code == 0, alone.stdout  # on its own, the box's session looks intact
    asked = sealroom_cli(
        "verify", session_id, "--data-dir", str(data.root), env=appliance_env(witness)
    )
    assert asked.code == 1, asked.stdout + asked.stderr
    assert f"TAMPERED — first failure: witness {witness.url}: " in asked.stdout
    assert "the witness holds 4 links of this session, the session has 3" in asked.stdout


def test_recovery_never_reseals_what_the_witness_holds_sealed(
    witness: WitnessProcess, witnessed: tuple[DataDir, str], sealroom_cli: InProcessCli
) -> None:
    data, session_id = witnessed
    shorten(data, session_id)
    refused = sealroom_cli(
        "recover", "--json", "--data-dir", str(data.root), env=appliance_env(witness)
    )
    assert refused.code == 1, refused.stdout + refused.stderr
    [entry] = json.loads(refused.stdout)["refused"]
    assert entry["session_id"] == session_id
    assert f"the witness {witness.url} holds its seal (2 segments" in entry["reason"]
    assert not (data.evidence / "sessions" / session_id / "manifest.json").exists()
    alarms = data.custody(data.store(), data.signer()).entries(action="alarm")
    assert [(a.session_id, a.detail["kind"]) for a in alarms] == [(session_id, "reseal_refused")]


def test_a_submission_with_a_wrong_signature_is_refused(
    witness: WitnessProcess, tmp_path: Path
) -> None:
    data = appliance(tmp_path / "box", witness.url)
    heads: list[object] = []
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, on_head=heads.append)
    writer.close()
    document = submission(heads[0], data.signer())  # type: ignore[arg-type]
    document["signature"] = base64.b64encode(bytes(64)).decode()
    request = urllib.request.Request(
        f"{witness.url}/submit",
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    assert json.loads(refused.value.read())["error"]["code"] == "signature_refused"
    sth = TreeHead.parse(urllib.request.urlopen(f"{witness.url}/sth").read(), location="sth")
    assert sth.tree_size == 0  # nothing was appended


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        lines = answer.read().decode().splitlines()
    return {
        name: float(value)
        for name, _, value in (line.rpartition(" ") for line in lines)
        if name.startswith("sealroom_witness_")
    }


@pytest.mark.slow
def test_witness_serve_has_metrics_on_loopback(tmp_path: Path) -> None:
    witness = WitnessProcess(tmp_path / "witness-data", metrics_port=free_port())
    witness.start()
    try:
        assert witness.metrics_port is not None
        before = scrape(witness.metrics_port)
        assert before["sealroom_witness_log_size"] == 0
        data = appliance(tmp_path / "box", witness.url)
        link = WitnessLink.open(data)
        assert link is not None
        link.start()
        try:
            write(data, link, 1)
            assert link.flush(30) == 0
        finally:
            link.stop()
        after = scrape(witness.metrics_port)
        sth = TreeHead.parse(urllib.request.urlopen(f"{witness.url}/sth").read(), location="sth")
    finally:
        witness.stop()
    assert after["sealroom_witness_log_size"] == sth.tree_size > 0  # every head it took
    assert 0 <= after["sealroom_witness_tree_head_age_seconds"] < 3600
    assert after["sealroom_witness_alarms_total"] == 0
    assert "metrics on http://127.0.0.1:" in witness.log_text()  # loopback unless configured


def test_consistency_between_two_tree_heads_and_a_rewritten_log(
    witness: WitnessProcess,
    witnessed: tuple[DataDir, str],
    tmp_path: Path,
    sealroom_cli: InProcessCli,
) -> None:
    data, _ = witnessed
    kept = tmp_path / "kept.json"
    kept.write_bytes(urllib.request.urlopen(f"{witness.url}/sth/2").read())
    newest = tmp_path / "newest.json"
    newest.write_bytes(urllib.request.urlopen(f"{witness.url}/sth").read())

    def witness_verify(*files: Path) -> int:
        done = sealroom_cli(
            "witness", "verify", *map(str, files), "--url", witness.url,
            "--witness-key", str(witness.key_file), env={},
        )  # fmt: skip
        return done.code

    assert witness_verify(kept, newest) == 0
    assert witness_verify(kept) == 0
    forged = json.loads(kept.read_text())
    forged["root_hash"] = "ab" * 32
    (tmp_path / "forged.json").write_text(json.dumps(forged, sort_keys=True, separators=(",", ":")))
    assert witness_verify(tmp_path / "forged.json") == 1  # its signature does not verify
    # The witness's operator rewrites entry 0, rebuilds the tree and re-signs the newest head
    # with the witness's own key: every head is well signed, and the log is not the same.
    witness.stop()
    rewrite_first_entry(witness.data_dir)
    witness.start()
    assert witness_verify(kept) == 1
    done = sealroom_cli(
        "witness", "verify", str(kept), "--url", witness.url, "--witness-key",
        str(witness.key_file), env={},
    )  # fmt: skip
    assert "NOT CONSISTENT" in done.stdout and "root" in done.stdout
    assert data.root.is_dir()


def rewrite_first_entry(data_dir: Path) -> None:
    engine = create_engine(f"sqlite:///{data_dir / 'witness.db'}")
    tree = MerkleTree(WitnessIdentity.load_or_create(data_dir, name="test"))
    with Session(engine) as session, session.begin():
        entries = [
            bytes(e) for e in session.scalars(select(EntryRow.entry).order_by(EntryRow.leaf_index))
        ]
        entries[0] = entries[0].replace(b'"received_at":"', b'"received_at":"1')
        size = len(entries)
        for table in (NodeRow, EntryRow):
            session.execute(delete(table))
        session.execute(delete(TreeHeadRow).where(TreeHeadRow.tree_size == size))
        tree_row = session.get(TreeRow, 1)
        assert tree_row is not None
        tree_row.size = 0
        session.flush()
        for entry in entries:
            tree.append(session, entry, session_id="s-20260101T000000Z-00000000", at="x")
        tree.sign_head(session, size, "2026-12-07T00:00:00.000000Z")
    engine.dispose()


class BlackHole:
    """A TCP server that accepts connections and never answers: a hung witness."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


def test_a_witness_that_never_answers_never_stops_a_recording(tmp_path: Path) -> None:
    hole = BlackHole()
    try:
        data = appliance(tmp_path / "box", hole.url)
        link = WitnessLink.open(data)
        assert link is not None
        link.start()
        try:
            writer = write(data, link, 3)
        finally:
            link.stop(timeout=0.1)
        assert link.outbox.backlog().items >= 5 - 1  # queued (one may be in flight)
        verified = verify_session(data.store(), writer.session_id, data.trust())
        assert verified.witness is not None and verified.witness.not_yet_witnessed
        assert verified.segments == 3
    finally:
        hole.close()


def test_receipts_left_behind_show_the_shortening_even_offline(
    witnessed: tuple[DataDir, str], sealroom_cli: InProcessCli
) -> None:
    data, session_id = witnessed
    shorten(data, session_id, receipts=False)  # the attacker forgets the receipts
    resealed = sealroom_cli("recover", "--data-dir", str(data.root), env={})
    assert resealed.code == 1  # the seal's receipt is still on the box: refused
    (data.evidence / layout.session_prefix(session_id) / layout.SEAL_RECEIPT).unlink()
    assert sealroom_cli("recover", "--data-dir", str(data.root), env={}).code == 0
    verified = sealroom_cli("verify", session_id, "--data-dir", str(data.root), env={})
    assert verified.code == 1
    # Link 2 is now the "interrupted" event: not the segment link the witness received.
    assert "witness/000002.json: chain/000002.json is not the one the witness received" in (
        verified.stdout
    )
    assert "replaced after it was witnessed" in verified.stdout


def test_receipts_need_a_trusted_witness_key(
    witnessed: tuple[DataDir, str], sealroom_cli: InProcessCli
) -> None:
    data, session_id = witnessed
    shutil.rmtree(data.witness_trust)  # the pinned key
    verified = sealroom_cli("verify", session_id, "--data-dir", str(data.root), env={})
    assert verified.code == 1
    assert "UNTRUSTED" in verified.stdout and "not a trusted witness key" in verified.stdout
