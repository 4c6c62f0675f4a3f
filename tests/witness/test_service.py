"""The witness's rules, on its own database (SQLite; the PostgreSQL run is in test_serve): what
extends a session's chain is accepted with a receipt, a resubmission gets the same receipt,
a gap asks for what it lacks, anything else is a fork kept as evidence, and devices are
enrolled on first use and held to their key."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence_store import (
    DeviceSigner,
    FilesystemStore,
    MediaInfo,
    Receipt,
    SessionMetadata,
    SessionView,
    SessionWriter,
    SignedHead,
    TreeHead,
    TrustStore,
    check_receipt,
    merkle,
)
from evidence_store.signing import ensure_device_identity, issue_certificate
from tests.support.tsa import TsaServer
from tests.support.witness import submission
from witness.identity import WitnessIdentity
from witness.schema import AlarmRow, DeviceRow, EntryRow, ForkRow
from witness.service import Witness
from witness.stamping import TreeHeadStamper
from witness.submissions import BadSubmission, SignatureRefused, read_submission

MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(case_number="VKS-1/2026", room="Phòng 1")


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    identity = WitnessIdentity.load_or_create(tmp_path / "witness", name="test")
    opened = Witness.open(f"sqlite:///{tmp_path / 'witness.db'}", identity)
    yield opened
    opened.close()


def appliance(root: Path, name: str = "phong-1") -> tuple[FilesystemStore, DeviceSigner]:
    store = FilesystemStore.open(root / "evidence", create=True)
    return store, ensure_device_identity(root / "keys", root / "trust", device_name=name)


def record(store: FilesystemStore, signer: DeviceSigner, segments: int = 2) -> list[SignedHead]:
    """A session: start, ``segments`` segments, stop and seal; every signed head, in order."""
    heads: list[SignedHead] = []
    writer = SessionWriter.start(store, signer, METADATA, MEDIA, on_head=heads.append)
    for index in range(segments):
        writer.inflight_path(index).write_bytes(os.urandom(2000))
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
    writer.stop("kết thúc")
    return heads


def shorten_and_reseal(
    store: FilesystemStore, signer: DeviceSigner, session_id: str, copy: Path
) -> list[SignedHead]:
    """Issue 11, finding 1, on a copy of the store: keep links 0 and 1 (segment 0), remove
    the rest and the seal, and let the device key seal what is left as interrupted."""
    shutil.copytree(store.root, copy)
    session = copy / "sessions" / session_id
    for path in session.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    for name in [
        "segments/000001.mp4",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "manifest.json",
        "manifest.sig",
        *[f"chain/{n:06d}.{e}" for n in (2, 3) for e in ("json", "sig")],
    ]:
        (session / name).unlink()  # fmt: skip
    heads: list[SignedHead] = []
    writer = SessionWriter.reopen(FilesystemStore(copy), signer, session_id, on_head=heads.append)
    writer.interrupt("the recorder stopped without ending the session")
    return heads


def send(witness: Witness, head: SignedHead, signer: DeviceSigner, name: str = "phong-1"):
    return witness.submit(read_submission(submission(head, signer, name)))


def keys(witness: Witness) -> list[ed25519.Ed25519PublicKey]:
    return [witness.identity.public_key]


def view(witness: Witness, session_id: str) -> SessionView:
    return SessionView.parse(witness.session_view(session_id), location="view")


def test_every_head_is_accepted_with_a_receipt_that_proves_it(
    witness: Witness, tmp_path: Path
) -> None:
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    assert [h.kind for h in heads] == ["link"] * 4 + ["seal"]
    for head in heads:
        outcome = send(witness, head, signer)
        assert outcome.status == "accepted", outcome.reason
        assert outcome.receipt is not None
        receipt = Receipt.parse(outcome.receipt, location="receipt")
        check_receipt(receipt, keys(witness), location="receipt")
        assert receipt.entry.seq == head.seq and not receipt.entry.fork
    seen = view(witness, heads[0].session_id)
    assert (seen.links, seen.segments, seen.forks) == (4, 2, [])
    assert seen.seal is not None and seen.seal.segments == 2 and seen.seal.chain_length == 4
    # Every tree head it issued is consistent with the newest.
    newest = TreeHead.parse(witness.tree_head() or b"", location="sth")
    assert newest.tree_size == 5
    for size in range(1, 5):
        older = TreeHead.parse(witness.tree_head(size) or b"", location="sth")
        merkle.verify_consistency(
            size,
            5,
            bytes.fromhex(older.root_hash),
            bytes.fromhex(newest.root_hash),
            witness.consistency(size, 5),
        )


def test_a_resubmitted_head_gets_the_same_receipt_and_adds_nothing(
    witness: Witness, tmp_path: Path
) -> None:
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    first = [send(witness, head, signer) for head in heads]
    again = [send(witness, head, signer) for head in heads]
    assert [o.status for o in again] == ["held"] * 5
    assert [o.receipt for o in again] == [o.receipt for o in first]
    with Session(witness.engine) as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 5


def test_a_gap_asks_for_the_seq_it_lacks_and_writes_nothing(
    witness: Witness, tmp_path: Path
) -> None:
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    assert (
        send(witness, heads[2], signer).status,
        send(witness, heads[2], signer).expected_seq,
    ) == ("gap", 0)
    send(witness, heads[0], signer)
    gap = send(witness, heads[4], signer)  # the seal, with links 1 to 3 missing
    assert (gap.status, gap.expected_seq) == ("gap", 1)
    with Session(witness.engine) as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 1


def test_a_shortened_and_resealed_session_is_a_fork_kept_as_evidence(
    witness: Witness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 11, finding 1: the same session, cut after its first segment and sealed again
    as interrupted, with the real device key."""
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    for head in heads:
        send(witness, head, signer)
    # The attacker's copy of the box: the last segment, its links and the seal removed
    # with plain rm, then the session recovered (re-sealed as interrupted) with the device key.
    forged_heads = shorten_and_reseal(store, signer, heads[0].session_id, tmp_path / "copy")
    assert [h.kind for h in forged_heads] == ["link", "seal"]
    with caplog.at_level(logging.ERROR, logger="sealroom.witness"):
        link = send(witness, forged_heads[0], signer)
        seal = send(witness, forged_heads[1], signer)
    assert link.status == "fork" and "another link 2" in link.reason
    assert seal.status == "fork" and "second seal" in seal.reason
    assert "ALARM: fork in session" in caplog.text
    seen = view(witness, heads[0].session_id)
    assert (seen.links, seen.segments) == (4, 2)  # the session's state is the first chain
    assert seen.seal is not None and seen.seal.segments == 2
    assert [f.kind for f in seen.forks] == ["link", "seal"]
    fork_receipt = Receipt.parse(link.receipt or b"", location="fork")
    assert fork_receipt.entry.fork  # appended to the log, marked
    check_receipt(fork_receipt, keys(witness), location="fork")
    with Session(witness.engine) as session:
        kept = session.scalars(select(ForkRow).order_by(ForkRow.id)).all()
        assert [bytes(k.data) for k in kept] == [h.data for h in forged_heads]
        assert {a.kind for a in session.scalars(select(AlarmRow))} == {"fork"}


def test_a_second_different_seal_is_refused_as_a_fork(witness: Witness, tmp_path: Path) -> None:
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    for head in heads:
        send(witness, head, signer)
    seal = heads[-1]
    other = seal.data.replace(b"k\xe1\xba\xbft th\xc3\xbac", b"k\xe1\xba\xbft th\xc3\xbaC")
    assert other != seal.data
    resealed = SignedHead(seal.session_id, "seal", None, other, signer.sign(other))
    outcome = send(witness, resealed, signer)
    assert outcome.status == "fork"
    assert view(witness, seal.session_id).seal is not None


def test_first_contact_enrols_the_device_by_tofu_and_its_name_stays_with_its_key(
    witness: Witness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    with caplog.at_level(logging.WARNING, logger="sealroom.witness"):
        send(witness, heads[0], signer)
    assert "(trust on first use)" in caplog.text
    with Session(witness.engine) as session:
        [device] = session.scalars(select(DeviceRow)).all()
    assert (device.name, device.enrolled_by) == ("phong-1", "tofu")
    # Another key claiming the same device name (a certificate whose CN is phong-1).
    impostor_store, impostor = appliance(tmp_path / "impostor", name="phong-1")
    refused = send(witness, record(impostor_store, impostor)[0], impostor)
    assert refused.status == "refused" and "enrolled with key" in refused.reason
    with Session(witness.engine) as session:
        assert session.scalar(select(func.count()).select_from(DeviceRow)) == 1
        assert [a.kind for a in session.scalars(select(AlarmRow))] == ["enrolment_refused"]


def test_a_device_whose_certificate_chains_to_a_configured_ca_is_enrolled_by_it(
    tmp_path: Path,
) -> None:
    ca_key = ed25519.Ed25519PrivateKey.generate()
    ca = issue_certificate(
        subject="Procuracy CA", public_key=ca_key.public_key(), issuer_key=ca_key,
        issuer_name=None, ca=True, days=365,
    )  # fmt: skip
    device_key = ed25519.Ed25519PrivateKey.generate()
    certificate = issue_certificate(
        subject="phong-2", public_key=device_key.public_key(), issuer_key=ca_key,
        issuer_name=ca.subject, ca=False, days=365,
    )  # fmt: skip
    signer = DeviceSigner(device_key, certificate)
    identity = WitnessIdentity.load_or_create(tmp_path / "witness", name="test")
    witness = Witness.open(f"sqlite:///{tmp_path / 'w.db'}", identity, TrustStore(roots=(ca,)))
    try:
        store = FilesystemStore.open(tmp_path / "evidence", create=True)
        assert send(witness, record(store, signer)[0], signer, "ignored").status == "accepted"
        with Session(witness.engine) as session:
            [device] = session.scalars(select(DeviceRow)).all()
        assert (device.name, device.enrolled_by) == ("phong-2", "ca")
    finally:
        witness.close()


def test_a_wrong_signature_is_refused_before_anything_is_written(
    witness: Witness, tmp_path: Path
) -> None:
    store, signer = appliance(tmp_path / "box")
    head = record(store, signer)[0]
    other_store, other = appliance(tmp_path / "other", name="phong-9")
    document = submission(head, other)  # signed by the box, presented as the other device's
    with pytest.raises(SignatureRefused, match="not the device key"):
        read_submission(document)
    tampered = SignedHead(head.session_id, "link", 0, head.data + b" ", head.signature)
    with pytest.raises(SignatureRefused):  # the bytes changed after they were signed
        read_submission(submission(tampered, signer))
    junk = b'{"not":"a link"}'
    with pytest.raises(BadSubmission, match="malformed link"):  # signed, but no link
        read_submission(
            submission(SignedHead(head.session_id, "link", 0, junk, signer.sign(junk)), signer)
        )
    with Session(witness.engine) as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 0
        assert session.scalar(select(func.count()).select_from(DeviceRow)) == 0
    _ = other_store


def test_a_session_belongs_to_the_device_that_started_it(witness: Witness, tmp_path: Path) -> None:
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    send(witness, heads[0], signer)
    _, other = appliance(tmp_path / "other", name="phong-9")
    data = heads[1].data
    stolen = SignedHead(heads[1].session_id, "link", 1, data, other.sign(data))
    outcome = send(witness, stolen, other, "phong-9")
    assert outcome.status == "refused" and "belongs to device key" in outcome.reason


def test_tree_heads_are_time_stamped_by_the_tsa(
    witness: Witness, tmp_path: Path, tsa: TsaServer
) -> None:
    """The newest tree head is stamped when none is, and again only after ``every``; the
    token stamps the tree head's exact bytes (a real ``openssl ts`` authority)."""
    from datetime import timedelta

    from evidence_store.timestamping import TokenVerifier, TsaClient

    verifier = TokenVerifier.from_file(tsa.ca_file)
    stamper = TreeHeadStamper(
        lambda: Session(witness.engine),
        TsaClient(tsa.url, verifier).stamp,
        every=timedelta(hours=1),
    )
    store, signer = appliance(tmp_path / "box")
    heads = record(store, signer)
    send(witness, heads[0], signer)
    assert stamper.stamp_due() == 1
    token = witness.stamp_of(1)
    assert token is not None
    verifier(witness.tree_head(1) or b"", token, location="sth 1")  # raises if it does not stamp it
    send(witness, heads[1], signer)
    assert stamper.stamp_due() is None  # stamped less than an hour ago
    assert witness.stamp_of(2) is None
