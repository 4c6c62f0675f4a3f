"""``sealroom doctor``: each problem gets a clear line and a severity, the exit status says
whether any is serious, and ``--fix`` repairs what can be repaired. The problems are made
for real: a zero-filled custody database, a corrupted SQLite file, a bucket without Object
Lock, an open filer port, expired certificates, weak secrets, a disk too small."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from evidence_store.doctor import (
    check_certificates,
    ntp_synchronised_from_timedatectl,
    synchronised_from_chronyc,
)
from evidence_store.installation import DataDir, Severity
from tests.support.cli import RecordedSession
from tests.support.s3 import S3Target, new_bucket


def doctor(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, config: str | None = None
) -> tuple[int, dict[str, object]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    command = [sys.executable, "-m", "sealroom"]
    if config is not None:
        path = data_dir.parent / "sealroom.toml"
        path.write_text(config)
        command += ["--config", str(path)]
    result = subprocess.run(
        [*command, "doctor", "--json", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def found(report: dict[str, object], check: str) -> list[dict[str, object]]:
    return [p for p in report["problems"] if p["check"] == check]  # type: ignore[attr-defined,index]


@pytest.fixture
def installation(recorded_session: RecordedSession, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(recorded_session.data_dir, copy)
    return copy


def test_a_damaged_custody_log_is_serious_and_fix_repairs_it(installation: Path) -> None:
    database = installation / "custody.db"
    database.write_bytes(bytes(database.stat().st_size))  # zero-filled
    status, report = doctor(installation)
    assert status == 1 and report["serious"] is True
    (custody,) = found(report, "custody")
    assert custody["severity"] == "serious" and custody["fixable"] is True
    assert "cannot be read" in str(custody["message"])
    (sqlite,) = found(report, "databases")
    assert "custody.db fails SQLite's integrity check" in str(sqlite["message"])

    status, fixed = doctor(installation, "--fix")
    assert any("custody log repaired" in line for line in fixed["fixed"])  # type: ignore[attr-defined]
    assert found(fixed, "custody") == [] and found(fixed, "databases") == []
    assert status == 0


def test_the_text_names_each_problem_and_the_exit_status_says_how_serious(
    installation: Path,
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    index = installation / "session-index.db"
    index.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))  # a header, then noise
    result = subprocess.run(
        [sys.executable, "-m", "sealroom", "doctor", "--data-dir", str(installation)],
        capture_output=True,
        text=True,
        env=clean,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "serious: databases: session-index.db fails SQLite's integrity check" in result.stdout
    assert "info: bucket: no object store configured" in result.stdout


def test_a_bucket_without_object_lock_and_an_open_filer_port_are_serious(
    s3_target: S3Target, installation: Path
) -> None:
    unlocked = new_bucket(s3_target, object_lock=False)
    filer = int(s3_target.endpoint.rsplit(":", 1)[1]) + 3  # the test server's filer
    config = f"[evidence.operations]\nfiler_ports = [{filer}]\n"
    status, report = doctor(installation, env=s3_target.env(unlocked), config=config)
    assert status == 1
    (bucket,) = found(report, "bucket")
    assert bucket["severity"] == "serious" and "without Object Lock" in str(bucket["message"])
    (port,) = found(report, "filer")
    assert port["severity"] == "serious" and f":{filer}" in str(port["message"])

    locked = new_bucket(s3_target)
    closed = "[evidence.operations]\nfiler_ports = [9]\n"  # nothing listens on port 9
    _, good = doctor(installation, env=s3_target.env(locked), config=closed)
    assert found(good, "bucket") == [] and found(good, "filer") == []


def _certificate(directory: Path, name: str, not_after: datetime) -> Path:
    key = ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=400))
        .not_valid_after(not_after)
        .sign(key, None)
    )
    path = directory / f"{name}.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_certificates_expired_or_expiring_within_a_month_are_named(tmp_path: Path) -> None:
    data = DataDir.resolve(tmp_path / "data")
    trust = data.root / "trust"
    trust.mkdir(parents=True)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    _certificate(trust, "old-root", now - timedelta(days=1))
    _certificate(trust, "soon-root", now + timedelta(days=10))
    _certificate(trust, "good-root", now + timedelta(days=300))
    problems = {p.message.split(" in ")[0]: p.severity for p in check_certificates(data, now=now)}
    assert problems == {"CN=old-root": Severity.SERIOUS, "CN=soon-root": Severity.WARNING}


def test_what_timedatectl_and_chronyc_say_is_read() -> None:
    assert ntp_synchronised_from_timedatectl("yes\n") is True
    assert ntp_synchronised_from_timedatectl("no\n") is False
    assert ntp_synchronised_from_timedatectl("Failed to connect to bus") is None
    tracking = (
        "Reference ID    : C0A80001 (192.168.0.1)\nStratum         : 3\n"
        "System time     : 0.000012 seconds fast of NTP time\nLeap status     : Normal\n"
    )
    assert synchronised_from_chronyc(tracking) is True
    unsynced = tracking.replace("Leap status     : Normal", "Leap status     : Not synchronised")
    assert synchronised_from_chronyc(unsynced) is False
    assert synchronised_from_chronyc("506 Cannot talk to daemon") is None


def test_weak_secrets_and_a_disk_too_small_for_the_longest_session(installation: Path) -> None:
    (installation / "console-secret").write_text("short")
    config = "[recorder]\nmax_session_seconds = 86400\nestimated_video_bitrate = 100000000\n"
    status, report = doctor(
        installation, env={"SEALROOM_RECORDER_TOKEN": "aaaaaaaaaaaaaaaa"}, config=config
    )
    assert status == 1
    (headroom,) = found(report, "headroom")
    assert headroom["severity"] == "serious" and "not enough disk space" in str(headroom["message"])
    (token,) = found(report, "recorder token")
    assert token["severity"] == "warning" and "weak" in str(token["message"])
    (secret,) = found(report, "console secret")
    assert secret["severity"] == "serious" and "5 bytes" in str(secret["message"])
