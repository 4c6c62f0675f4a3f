"""A real RFC 3161 time-stamp authority for the tests: ``openssl ts -reply`` behind a small HTTP
server on 127.0.0.1.

The authority has a root of its own and a signing certificate for time-stamping only
(``extendedKeyUsage = critical, timeStamping``), signs with SHA-256 and names its certificate
with a SHA-256 ESSCertIDv2; its configuration has no ``certs =`` line, so a reply carries the
signing certificate alone (rfc3161-client cannot read a reply that carries more). It can be
stopped and started again on the same port, as an authority that goes away and comes back.

Fixtures: ``tsa_authority`` (the keys and certificates, once per run) and ``tsa`` (a server,
running, per test).
"""

from __future__ import annotations

import http.server
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidence_store import WallClock, utc_now
from evidence_store.outbox import Outbox, OutboxSender, Route
from evidence_store.store import FilesystemStore
from evidence_store.timestamping import (
    TSA_OUTBOX,
    StampDelivery,
    Stamper,
    TokenVerifier,
    TsaClient,
)
from evidence_store.timestamping.delivery import StampedHook

CONFIG = """\
[tsa]
default_tsa = tsa_config

[tsa_config]
dir = {directory}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 3
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class TsaAuthority:
    """The authority's files: its root (what verifiers are given) and its signing key."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "root.pem"

    @property
    def config_file(self) -> Path:
        return self.directory / "tsa.cnf"

    @classmethod
    def create(cls, directory: Path, *, name: str = "Sealroom Test TSA") -> TsaAuthority:
        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"{name} Root")
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=2))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(root_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        signer = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(root_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=29))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(root_key, hashes.SHA256())
        )
        (directory / "root.pem").write_bytes(_pem(root))
        (directory / "tsa.pem").write_bytes(_pem(signer))
        (directory / "tsa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (directory / "serial").write_text("01\n")
        (directory / "tsa.cnf").write_text(CONFIG.format(directory=directory))
        return cls(directory)

    def reply(self, query: bytes) -> bytes:
        """Answer one DER TimeStampReq with openssl, as a real authority would."""
        with tempfile.TemporaryDirectory(dir=self.directory) as scratch:
            request, response = Path(scratch) / "q.tsq", Path(scratch) / "r.tsr"
            request.write_bytes(query)
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(self.config_file),
                 "-queryfile", str(request), "-out", str(response)],
                check=True, capture_output=True,
            )  # fmt: skip
            return response.read_bytes()


class TsaServer:
    """The authority on http://127.0.0.1:PORT/, which can be stopped and started again."""

    def __init__(self, authority: TsaAuthority) -> None:
        self.authority = authority
        self.port = 0
        self.requests = 0
        self._lock = threading.Lock()  # one openssl at a time: it keeps the serial in a file
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    @property
    def ca_file(self) -> Path:
        return self.authority.ca_file

    def start(self) -> None:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                with server._lock:
                    server.requests += 1
                    try:
                        answer = server.authority.reply(query)
                    except subprocess.CalledProcessError:
                        self.send_error(400)
                        return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop answering: connections to the port are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@pytest.fixture(scope="session")
def tsa_authority(tmp_path_factory: pytest.TempPathFactory) -> TsaAuthority:
    return TsaAuthority.create(tmp_path_factory.mktemp("tsa"))


@pytest.fixture
def tsa(tsa_authority: TsaAuthority) -> Iterator[TsaServer]:
    server = TsaServer(tsa_authority)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- helpers -----------------------------------------------------------------------------------


def openssl_ts_verify(
    data_file: Path, token_file: Path, ca_file: Path
) -> subprocess.CompletedProcess[str]:
    """The check anyone can run by hand: ``openssl ts -verify -data FILE -in X.tsr -CAfile CA``."""
    return subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(data_file), "-in", str(token_file),
         "-CAfile", str(ca_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def send_stamps(
    store: FilesystemStore,
    outbox_root: Path,
    server: TsaServer,
    *,
    clock: WallClock = utc_now,
    on_stamped: StampedHook | None = None,
) -> int:
    """One pass of the ``tsa`` outbox's sender, as a recorder's sender thread makes it;
    returns how many stamps were delivered."""
    delivery = StampDelivery(store, tsa_client(server), clock=clock, on_stamped=on_stamped)
    return OutboxSender([Route(Outbox(outbox_root, TSA_OUTBOX), delivery)]).drain_once()


def stamper(
    outbox_root: Path,
    *,
    interval_seconds: float = 300.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> Stamper:
    """The ``tsa`` outbox's stamper, as a recorder builds it."""
    return Stamper(
        Outbox(outbox_root, TSA_OUTBOX), interval_seconds=interval_seconds, monotonic=monotonic
    )


def tsa_client(server: TsaServer) -> TsaClient:
    return TsaClient(server.url, TokenVerifier.from_file(server.ca_file), timeout=5)
