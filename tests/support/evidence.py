"""Shared helpers for the evidence tests: real media, real sessions, and the attacker's tools.

A plain module, not a conftest: test modules define their own fixtures on top of these
functions. Everything an attacker does here is written from docs/evidence-format.md alone (its
own canonical JSON, its own SHA256SUMS), so that the tests check the spec, not the writer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_store import WallClock, layout, utc_now
from evidence_store.custody import CustodyLog
from evidence_store.model import MediaInfo, PresentPerson, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.signing import (
    DeviceSigner,
    TrustStore,
    ensure_device_identity,
    issue_certificate,
)
from evidence_store.store import FilesystemStore
from evidence_store.verify import VerifiedSession, verify_session

DEVICE_NAME = "phong-hoi-cung-1"
SEGMENT_US = 1_000_000
MEDIA = MediaInfo(width=160, height=120, fps=15, sample_rate=48000, channels=1, segment_seconds=1)
METADATA = SessionMetadata(
    case_number="VKS-123/2026/HS-ĐT",
    room="Phòng hỏi cung số 1",
    unit="Cơ quan Cảnh sát điều tra Công an TP. Hồ Chí Minh",
    accused=["Nguyễn Văn Án", "Trần Thị Bích Ngọc"],
    investigators=["Lê Hoàng Phúc", "Phạm Quỳnh Hương"],
    others_present=[
        PresentPerson(name="Đặng Thu Hà", role="luật sư"),
        PresentPerson(name="Võ Minh Đức", role="người phiên dịch"),
    ],
    timezone="Asia/Ho_Chi_Minh",
)
OTHER_METADATA = SessionMetadata(
    case_number="VKS-456/2026/HS-ĐT",
    room="Phòng hỏi cung số 1",
    accused=["Hoàng Thị Ế"],
    investigators=["Lê Hoàng Phúc"],
)
PAUSE_REASON = "nghỉ giải lao — luật sư yêu cầu"
RESUME_REASON = "tiếp tục"
STOP_REASON = "kết thúc hỏi cung"

# The typical session recorded by record_session: which link holds what.
LINK_START, LINK_SEG0, LINK_SEG1, LINK_PAUSE = 0, 1, 2, 3
LINK_RESUME, LINK_SEG2, LINK_SEG3, LINK_STOP = 4, 5, 6, 7
CHAIN_LENGTH = 8
SEGMENTS = 4
SEALING_FILES = {"SHA256SUMS", "SHA256SUMS.sig", "manifest.json", "manifest.sig"}


# -- media -------------------------------------------------------------------------------------


def _ffmpeg_segment(target: Path, number: int) -> None:
    """One second of H.264 + AAC as fragmented MP4; ``number`` makes its bytes unique."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=1",
            "-f", "lavfi", "-i", f"sine=frequency={330 + 55 * number}:sample_rate=48000:duration=1",
            "-vf", f"hue=h={number * 37}", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-ac", "1",
            "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(target),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def segment_media(factory: pytest.TempPathFactory, count: int = 8) -> list[Path]:
    """``count`` distinct 1 s segments, generated once per test run and shared read-only."""
    return make_segment_media(factory.getbasetemp() / "segment-media", count)


def make_segment_media(directory: Path, count: int = 8) -> list[Path]:
    """``count`` distinct 1 s segments in ``directory`` (made once, then reused)."""
    files = [directory / f"{n:02d}.mp4" for n in range(count)]
    if all(f.exists() for f in files):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    for number, target in enumerate(files):
        if not target.exists():
            partial = target.with_suffix(".part")
            _ffmpeg_segment(partial, number)
            partial.rename(target)
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         str(files[0])],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert probed == ["h264", "aac"], probed
    assert len({hashlib.sha256(f.read_bytes()).digest() for f in files}) == count
    return files


# -- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataDir:
    """A data directory laid out like an installation's: evidence/, keys/, trust/."""

    root: Path

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    def store(self) -> FilesystemStore:
        return FilesystemStore.open(self.evidence, create=True)

    def signer(self) -> DeviceSigner:
        return ensure_device_identity(self.keys, self.trust_dir, device_name=DEVICE_NAME)

    def trust(self) -> TrustStore:
        return TrustStore.from_paths([self.trust_dir])

    def session_dir(self, session_id: str) -> Path:
        return self.evidence / layout.session_prefix(session_id).rstrip("/")

    def root_certificate(self) -> Path:
        return self.trust_dir / f"local-root-{DEVICE_NAME}.pem"


def new_data_dir(root: Path) -> DataDir:
    data = DataDir(root)
    data.store()
    data.signer()
    return data


def seal_next(writer: SessionWriter, media: Path) -> None:
    """Hand ``media`` to the writer as the next segment, as the encoder would."""
    index = len(writer.chain.segments)
    shutil.copyfile(media, writer.inflight_path(index))
    writer.seal_segment(index, start_us=index * SEGMENT_US, duration_us=SEGMENT_US)


def record_session(
    store: FilesystemStore,
    signer: DeviceSigner,
    media: list[Path],
    *,
    metadata: SessionMetadata = METADATA,
    clock: WallClock = utc_now,
) -> str:
    """The typical session: start, 2 segments, pause, resume, 2 segments, stop (8 links);
    ``clock`` is the device's."""
    writer = SessionWriter.start(store, signer, metadata, MEDIA, clock=clock)
    try:
        seal_next(writer, media[0])
        seal_next(writer, media[1])
        writer.pause(PAUSE_REASON)
        writer.resume(RESUME_REASON)
        seal_next(writer, media[2])
        seal_next(writer, media[3])
        writer.stop(STOP_REASON)
    finally:
        writer.close()
    return writer.session_id


@dataclass(frozen=True)
class Sessions:
    """Two sessions of one appliance (same device key): ``main`` and ``other``."""

    data: DataDir
    main: str
    other: str

    def session_dir(self, session_id: str | None = None) -> Path:
        return self.data.session_dir(session_id or self.main)

    def verify(
        self, session_id: str | None = None, trust: TrustStore | None = None
    ) -> VerifiedSession:
        return verify_session(
            self.data.store(), session_id or self.main, trust or self.data.trust()
        )


def record_pristine(root: Path, media: list[Path]) -> Sessions:
    data = new_data_dir(root)
    store, signer = data.store(), data.signer()
    main = record_session(store, signer, media[:4])
    other = record_session(store, signer, media[4:8], metadata=OTHER_METADATA)
    return Sessions(data, main, other)


def attacker_copy(sessions: Sessions, destination: Path) -> Sessions:
    """A copy of the whole data directory whose files are writable, as an attacker makes it."""
    target = destination / "data"
    shutil.copytree(sessions.data.root, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return Sessions(DataDir(target), sessions.main, sessions.other)


# -- tampering ---------------------------------------------------------------------------------


def canonical(document: Any) -> bytes:
    """Canonical JSON exactly as section 3 of the format spec states it."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change a canonical JSON document and write it back canonically (no re-signing)."""
    document = json.loads(path.read_bytes())
    edit(document)
    path.write_bytes(canonical(document))


def link_path(session_dir: Path, seq: int) -> Path:
    return session_dir / "chain" / f"{seq:06d}.json"


def sig_path(session_dir: Path, seq: int) -> Path:
    return session_dir / "chain" / f"{seq:06d}.sig"


def segment_file(session_dir: Path, index: int) -> Path:
    return session_dir / "segments" / f"{index:06d}.mp4"


def remove_link(session_dir: Path, seq: int) -> None:
    link_path(session_dir, seq).unlink()
    sig_path(session_dir, seq).unlink()


def session_files(session_dir: Path) -> list[str]:
    """Every file of a session, as session-relative POSIX paths in byte order."""
    names = [p.relative_to(session_dir).as_posix() for p in session_dir.rglob("*") if p.is_file()]
    return sorted(names, key=lambda name: name.encode())


# -- the re-signing attacker -------------------------------------------------------------------


@dataclass(frozen=True)
class Attacker:
    """A key of the attacker's own, its certificate, and the root the attacker would trust."""

    key: ed25519.Ed25519PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    root: x509.Certificate

    def trust(self) -> TrustStore:
        """The trust store the attacker hopes the court will use."""
        return TrustStore(roots=(self.root,))


def _common_name(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value)


def self_signed_attacker(genuine: x509.Certificate) -> Attacker:
    """A self-signed certificate with the genuine device's subject, valid for the session."""
    key = ed25519.Ed25519PrivateKey.generate()
    certificate = issue_certificate(
        subject=_common_name(genuine.subject),
        public_key=key.public_key(),
        issuer_key=key,
        issuer_name=None,
        ca=False,
        days=3650,
        not_before=datetime.now(UTC) - timedelta(days=2),
    )
    return Attacker(key, certificate, (), certificate)


def attacker_with_own_ca(genuine: x509.Certificate) -> Attacker:
    """A device certificate from the attacker's own CA, which is named like the genuine
    root and shipped in signer/chain.pem to look like a normal chain."""
    key = ed25519.Ed25519PrivateKey.generate()
    ca_key = ed25519.Ed25519PrivateKey.generate()
    start = datetime.now(UTC) - timedelta(days=2)
    ca = issue_certificate(
        subject=_common_name(genuine.issuer),
        public_key=ca_key.public_key(),
        issuer_key=ca_key,
        issuer_name=None,
        ca=True,
        days=3650,
        not_before=start,
    )
    certificate = issue_certificate(
        subject=_common_name(genuine.subject),
        public_key=key.public_key(),
        issuer_key=ca_key,
        issuer_name=ca.subject,
        ca=False,
        days=3650,
        not_before=start,
    )
    return Attacker(key, certificate, (ca,), ca)


def resign_session(
    session_dir: Path,
    attacker: Attacker,
    *,
    edit_link: Callable[[int, dict[str, Any]], None],
    edit_manifest: Callable[[dict[str, Any]], None],
) -> None:
    """Edit a sealed session and re-sign all of it consistently with the attacker's key.

    Every link is rewritten with recomputed ``prev`` and signature, link 0 names the
    attacker's key and certificate, SHA256SUMS is rebuilt, and the manifest is updated and
    re-signed. Only the trust roots can tell this session from a genuine one.
    """
    pem = serialization.Encoding.PEM
    public_pem = attacker.key.public_key().public_bytes(
        pem, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_der = attacker.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (session_dir / "signer" / "public_key.pem").write_bytes(public_pem)
    (session_dir / "signer" / "certificate.pem").write_bytes(attacker.certificate.public_bytes(pem))
    chain_file = session_dir / "signer" / "chain.pem"
    chain_file.unlink(missing_ok=True)
    if attacker.chain:
        chain_file.write_bytes(b"".join(c.public_bytes(pem) for c in attacker.chain))
    signer = {
        "algorithm": "ed25519",
        "public_key_sha256": sha256_hex(public_der),
        "certificate_sha256": sha256_hex(
            attacker.certificate.public_bytes(serialization.Encoding.DER)
        ),
    }

    def edit_with_signer(seq: int, link: dict[str, Any]) -> None:
        edit_link(seq, link)
        if seq == 0:
            link["event"]["signer"] = signer

    def manifest_with_signer(manifest: dict[str, Any]) -> None:
        edit_manifest(manifest)
        manifest["signer"] = signer

    reseal(
        session_dir,
        attacker.key.sign,
        edit_link=edit_with_signer,
        edit_manifest=manifest_with_signer,
    )


def reseal(
    session_dir: Path,
    sign: Callable[[bytes], bytes],
    *,
    edit_link: Callable[[int, dict[str, Any]], None] = lambda _seq, _link: None,
    edit_manifest: Callable[[dict[str, Any]], None] = lambda _manifest: None,
    manifest_body: Callable[[dict[str, Any]], bytes] = canonical,
    link_body: Callable[[int, dict[str, Any]], bytes] = lambda _seq, link: canonical(link),
) -> None:
    """Rewrite a session's chain and seal with ``sign`` (an insider with the device key, or an
    attacker with a key of their own), as the spec describes them.

    Every link is rewritten with its ``prev`` recomputed and signed again, SHA256SUMS is
    rebuilt from the files as they are, and the manifest gets the new chain values and
    checksum digest; ``edit_link`` and ``edit_manifest`` change the documents on the way,
    ``link_body`` and ``manifest_body`` give their bytes (canonical JSON unless told).
    """
    head, signature, length = "0" * 64, b"", 0
    while link_path(session_dir, length).exists():
        path = link_path(session_dir, length)
        link = json.loads(path.read_bytes())
        edit_link(length, link)
        link["prev"] = head
        body = link_body(length, link)
        signature = sign(body)
        path.write_bytes(body)
        sig_path(session_dir, length).write_bytes(signature)
        head, length = sha256_hex(body), length + 1

    listed = [name for name in session_files(session_dir) if name not in SEALING_FILES]
    checksums = "".join(
        f"{sha256_hex((session_dir / name).read_bytes())}  {name}\n" for name in listed
    ).encode()
    (session_dir / "SHA256SUMS").write_bytes(checksums)
    (session_dir / "SHA256SUMS.sig").write_bytes(sign(checksums))

    manifest = json.loads((session_dir / "manifest.json").read_bytes())
    manifest["chain"] = {
        "algorithm": "sha256",
        "length": length,
        "head": head,
        "head_signature": signature.hex(),
    }
    manifest["checksums_sha256"] = sha256_hex(checksums)
    edit_manifest(manifest)
    body = manifest_body(manifest)
    (session_dir / "manifest.json").write_bytes(body)
    (session_dir / "manifest.sig").write_bytes(sign(body))


# -- custody -----------------------------------------------------------------------------------


def custody_row_hash(row: dict[str, Any], prev: str) -> str:
    """A custody row's hash exactly as section 10 of the format spec states it: format 1
    writes an absent value as null, format 2 leaves it out."""
    document = {
        "v": row["v"],
        "seq": row["seq"],
        "at": row["at"],
        "actor": row["actor"],
        "role": row["role"],
        "action": row["action"],
        "session": row["session_id"],
        "detail": json.loads(row["detail"]),
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "prev": prev,
    }
    if row["v"] == 2:
        document = {key: value for key, value in document.items() if value is not None}
    return sha256_hex(canonical(document))


def append_custody_events(data_root: str, url: str, worker: int, count: int, barrier: Any) -> None:
    """Run in a child process: open the custody log and append ``count`` events."""
    data = DataDir(Path(data_root))
    log = CustodyLog.open(url, data.store(), data.signer())
    barrier.wait()
    for n in range(count):
        log.record(
            actor=f"Điều tra viên {worker}",
            role="investigator",
            action="viewed",
            detail={"worker": worker, "n": n},
        )
