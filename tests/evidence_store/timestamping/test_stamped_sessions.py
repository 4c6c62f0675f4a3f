"""Sessions stamped by a real local authority: what is stamped, where each token sits, that
``openssl ts -verify`` and ``verify_session`` accept them, and that a token that is altered,
moved, out of order or beside nothing is TAMPERED; the certificate is checked at the
authority's time."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from evidence_store import (
    DeviceSigner,
    TamperedError,
    TrustStore,
    WallClock,
    layout,
    utc_now,
)
from evidence_store.errors import UntrustedSignerError
from evidence_store.export import ExportSpec, build_package
from evidence_store.outbox import Outbox
from evidence_store.session import SessionStateError, SessionWriter
from evidence_store.timestamping import TSA_OUTBOX, TokenVerifier
from evidence_store.verify import verify_session
from tests.support.evidence import (
    MEDIA,
    METADATA,
    PAUSE_REASON,
    RESUME_REASON,
    STOP_REASON,
    DataDir,
    new_data_dir,
    seal_next,
    segment_media,
)
from tests.support.exports import run_verify
from tests.support.tsa import TsaServer, openssl_ts_verify, send_stamps, stamper, tsa_client


class Ticks:
    """A monotonic clock the test moves: the stamper's "every interval" without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return segment_media(tmp_path_factory)


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return new_data_dir(tmp_path / "data")


def outbox_root(data: DataDir) -> Path:
    return data.root / "outbox"


def record(
    data: DataDir,
    media: list[Path],
    *,
    signer: DeviceSigner | None = None,
    clock: WallClock = utc_now,
) -> SessionWriter:
    """Start, two segments (the interval passes after the first), pause, resume, a segment,
    stop: 7 links; with the stamper's hook, link 0, link 2 and the seal are queued."""
    ticks = Ticks()
    stamps = stamper(outbox_root(data), interval_seconds=300, monotonic=ticks)
    session = SessionWriter.start(
        data.store(),
        signer or data.signer(),
        METADATA,
        MEDIA,
        on_head=stamps.on_head,
        clock=clock,
    )
    seal_next(session, media[0])  # link 1: within the interval, not stamped
    ticks.now = 301.0
    seal_next(session, media[1])  # link 2: the interval passed
    session.pause(PAUSE_REASON)
    session.resume(RESUME_REASON)
    seal_next(session, media[2])
    session.stop(STOP_REASON)
    return session


def verifier(tsa: TsaServer) -> TokenVerifier:
    return TokenVerifier.from_file(tsa.ca_file)


def test_start_a_head_per_interval_and_the_seal_are_stamped_and_openssl_checks_each(
    data: DataDir, media: list[Path], tsa: TsaServer
) -> None:
    session = record(data, media)
    assert send_stamps(data.store(), outbox_root(data), tsa) == 3
    tokens = sorted(p.relative_to(session.path).as_posix() for p in session.path.rglob("*.tsr"))
    assert tokens == ["chain/000000.tsr", "chain/000002.tsr", "manifest.tsr"]
    for token in tokens:
        stamped = session.path / token.replace(".tsr", ".json")
        checked = openssl_ts_verify(stamped, session.path / token, tsa.ca_file)
        assert checked.returncode == 0, (token, checked.stderr)
    verified = verify_session(data.store(), session.session_id, data.trust(), tokens=verifier(tsa))
    assert [s.name for s in verified.time_stamps] == [
        "chain/000000.json",
        "chain/000002.json",
        "manifest.json",
    ]
    assert verified.unchecked_time_stamps == 0
    times = [s.tsa_time for s in verified.time_stamps]
    assert times == sorted(times)
    # Without the authority's root, the tokens are counted, never called checked.
    unchecked = verify_session(data.store(), session.session_id, data.trust())
    assert unchecked.time_stamps == () and unchecked.unchecked_time_stamps == 3


def test_recording_queues_while_the_authority_is_down_and_stamps_arrive_later(
    data: DataDir, media: list[Path], tsa: TsaServer
) -> None:
    tsa.stop()
    session = record(data, media)  # every head signed and sealed without the authority
    assert send_stamps(data.store(), outbox_root(data), tsa) == 0
    backlog = Outbox(outbox_root(data), TSA_OUTBOX).backlog()
    assert backlog.items == 3 and backlog.refused == 0
    assert not list(session.path.rglob("*.tsr"))
    verify_session(data.store(), session.session_id, data.trust(), tokens=verifier(tsa))
    tsa.start()
    received = []
    assert send_stamps(data.store(), outbox_root(data), tsa, on_stamped=received.append) == 3
    assert Outbox(outbox_root(data), TSA_OUTBOX).backlog().items == 0
    # Each record tells when the head was written, when it was sent and when it was stamped.
    for stamp in received:
        assert stamp.sent_at >= datetime.fromisoformat(stamp.device_time.replace("Z", "+00:00"))
        assert stamp.waited_seconds >= 0
        assert stamp.skew_seconds(2.0) is None  # late, not wrong: the clock agrees
    verified = verify_session(data.store(), session.session_id, data.trust(), tokens=verifier(tsa))
    assert len(verified.time_stamps) == 3


def tamper_then_verify(data: DataDir, session: SessionWriter, tsa: TsaServer) -> TamperedError:
    with pytest.raises(TamperedError) as failure:
        verify_session(data.store(), session.session_id, data.trust(), tokens=verifier(tsa))
    return failure.value


def writable(path: Path) -> Path:
    path.chmod(0o644)
    return path


def test_an_altered_token_is_tampered(data: DataDir, media: list[Path], tsa: TsaServer) -> None:
    session = record(data, media)
    send_stamps(data.store(), outbox_root(data), tsa)
    token = writable(session.path / "chain" / "000002.tsr")
    raw = bytearray(token.read_bytes())
    raw[-40] ^= 0x01  # inside the signature
    token.write_bytes(bytes(raw))
    failure = tamper_then_verify(data, session, tsa)
    assert failure.location == "chain/000002.tsr"


def test_a_token_of_other_data_is_tampered(
    data: DataDir, media: list[Path], tsa: TsaServer
) -> None:
    session = record(data, media)
    send_stamps(data.store(), outbox_root(data), tsa)
    writable(session.path / "chain" / "000000.tsr").write_bytes(
        (session.path / "chain" / "000002.tsr").read_bytes()
    )
    failure = tamper_then_verify(data, session, tsa)
    assert failure.location == "chain/000000.tsr"
    assert "stamps other data" in failure.reason


def test_a_token_beside_no_stamped_file_is_tampered(
    data: DataDir, media: list[Path], tsa: TsaServer
) -> None:
    session = record(data, media)
    send_stamps(data.store(), outbox_root(data), tsa)
    shutil.copyfile(session.path / "manifest.tsr", session.path / "chain" / "000099.tsr")
    failure = tamper_then_verify(data, session, tsa)
    assert failure.location == "chain/000099.tsr"


def test_a_token_older_than_the_token_of_an_earlier_link_is_tampered(
    data: DataDir, media: list[Path], tsa: TsaServer
) -> None:
    session = record(data, media)
    store = data.store()
    key = layout.session_prefix(session.session_id) + layout.link_name(2)
    store.put_bytes(
        key.replace(".json", ".tsr"),
        tsa_client(tsa).stamp(store.read_bytes(key)),
    )
    time.sleep(1.1)  # the authority's time is read to the second
    send_stamps(store, outbox_root(data), tsa)  # link 0's token now comes after link 2's
    failure = tamper_then_verify(data, session, tsa)
    assert failure.location == "chain/000002.tsr"
    assert "before chain/000000.json was stamped" in failure.reason


def short_lived_signer(
    tmp_path: Path, *, valid_from: datetime, valid_until: datetime
) -> tuple[DeviceSigner, Path]:
    """A device key with a certificate valid only from ``valid_from`` to ``valid_until``,
    issued by a root of its own; returns the signer and the root's file."""
    root_key = ed25519.Ed25519PrivateKey.generate()
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test device root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from - timedelta(days=1))
        .not_valid_after(valid_from + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, None)
    )
    key = ed25519.Ed25519PrivateKey.generate()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired-device")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, None)
    )
    root_file = tmp_path / "device-root.pem"
    root_file.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return DeviceSigner(key, certificate), root_file


def test_a_certificate_expired_at_the_authoritys_time_fails_whatever_start_the_device_claims(
    data: DataDir, media: list[Path], tsa: TsaServer, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    signer, root_file = short_lived_signer(
        tmp_path, valid_from=now - timedelta(hours=3), valid_until=now - timedelta(hours=1)
    )

    def two_hours_ago() -> datetime:  # the device's clock, set back to when it was valid
        return datetime.now(UTC) - timedelta(hours=2)

    session = record(data, media, signer=signer, clock=two_hours_ago)
    trust = TrustStore.from_paths([root_file])
    # By the time the device claims, the certificate was valid: that is all it took before.
    verify_session(data.store(), session.session_id, trust)
    send_stamps(data.store(), outbox_root(data), tsa)
    with pytest.raises(UntrustedSignerError) as failure:
        verify_session(data.store(), session.session_id, trust, tokens=verifier(tsa))
    assert "was not valid at" in failure.value.reason
    assert "time-stamp authority's time" in failure.value.reason
    assert failure.value.exit_code == 1


def test_a_clock_mark_comes_while_recording_or_paused_and_every_verifier_accepts_it(
    data: DataDir, media: list[Path], tmp_path: Path
) -> None:
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA)
    writer.clock_skew("the device's clock is 3600.0 s behind the time-stamp authority's")
    writer.pause(PAUSE_REASON)
    writer.clock_skew("still behind")
    writer.resume(RESUME_REASON)
    seal_next(writer, media[0])
    writer.stop(STOP_REASON)
    with pytest.raises(SessionStateError):
        writer.clock_skew("after the end")
    verified = verify_session(data.store(), writer.session_id, data.trust())
    assert verified.clock_marks == (
        "chain/000001.json: the device's clock is 3600.0 s behind the time-stamp authority's",
        "chain/000003.json: still behind",
    )
    package = build_package(
        data.store(),
        ExportSpec(writer.session_id),
        data.trust(),
        tmp_path / "package",
        custody=[],
        exported_by="test",
        signer=data.signer(),
    ).path  # built only if the package's own verify.py accepts it
    assert run_verify(package).returncode == 0
