"""The installation's certificate authority: TLS certificates for the console's front (nginx)
and for each room appliance's recorder control API.

    <ca_dir>/ca.key   the CA's private key (0600): keep it off the servers once rooms are issued
    <ca_dir>/ca.pem   the CA certificate: what the console and browsers trust

A room's certificate names the room itself, not only an address:
``URI:urn:sealroom:room:<code>`` in its subjectAltName. The console accepts a recorder only
when its certificate chains to this CA *and* names the room it is addressing, so pointing a
room at another machine (another room's appliance included) gets no connection at all.
Every private key is written once, whole, 0600; nothing is ever overwritten.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidence_store.durable import PRIVATE, NameTaken, write_once
from evidence_store.errors import UsageError

ROOM_URI_PREFIX = "urn:sealroom:room:"
CA_YEARS = 20
LEAF_DAYS = 825  # what browsers accept for a server certificate
PUBLIC = 0o644


@dataclass(frozen=True)
class Issued:
    """Where an issued certificate and its key were written."""

    certificate: Path
    key: Path


def room_uri(room_code: str) -> str:
    """The identity a room's certificate carries."""
    return ROOM_URI_PREFIX + quote(room_code, safe="")


def rooms_named(certificate: x509.Certificate) -> list[str]:
    """The room codes a certificate names (normally one, or none for a server's)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    uris = names.value.get_values_for_type(x509.UniformResourceIdentifier)
    return [unquote(u.removeprefix(ROOM_URI_PREFIX)) for u in uris if u.startswith(ROOM_URI_PREFIX)]


def _general_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if not host or any(c.isspace() or c in "/:@" for c in host):
                raise UsageError(f"{host!r} is neither a host name nor an IP address") from None
            names.append(x509.DNSName(host))
    return names


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_once(path, data, mode=mode)
    except NameTaken:
        raise UsageError(f"{path} exists already: nothing was overwritten") from None


class InstallationCA:
    """The CA in ``directory`` (``ca.key``, ``ca.pem``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def certificate_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def key_path(self) -> Path:
        return self.directory / "ca.key"

    def exists(self) -> bool:
        return self.certificate_path.exists()

    def create(self, name: str) -> Path:
        """Make the CA (refused if one is there already); returns its certificate's path."""
        if self.certificate_path.exists() or self.key_path.exists():
            raise UsageError(f"a CA exists already in {self.directory}: nothing was changed")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealroom"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name} installation CA"),
            ]
        )
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CA_YEARS))
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        _write_new(self.key_path, _key_pem(key), PRIVATE)
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        _write_new(self.certificate_path, pem, PUBLIC)
        return self.certificate_path

    def issue_server(self, hosts: list[str], out: Path, *, days: int = LEAF_DAYS) -> Issued:
        """A TLS server certificate for ``hosts`` (the console's front: nginx)."""
        if not hosts:
            raise UsageError("name at least one host name or address for the certificate")
        return self._issue(hosts[0], _general_names(hosts), out, days=days)

    def issue_room(
        self, room_code: str, hosts: list[str], out: Path, *, days: int = LEAF_DAYS
    ) -> Issued:
        """A certificate for a room appliance's recorder service: it names the room, and the
        addresses the appliance is reached at."""
        if not room_code.strip():
            raise UsageError("a room certificate needs the room's code")
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(room_uri(room_code))]
        return self._issue(f"room {room_code}", names + _general_names(hosts), out, days=days)

    def _issue(
        self, common_name: str, names: list[x509.GeneralName], out: Path, *, days: int
    ) -> Issued:
        if not 1 <= days <= LEAF_DAYS:
            raise UsageError(f"a certificate is valid for 1 to {LEAF_DAYS} days")
        ca_cert, ca_key = self._load()
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealroom"),
                        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                    ]
                )
            )
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key_path, cert_path = out.with_suffix(".key"), out.with_suffix(".pem")
        if key_path.exists() or cert_path.exists():
            raise UsageError(f"{cert_path} or {key_path} exists already: nothing was overwritten")
        _write_new(key_path, _key_pem(key), PRIVATE)
        _write_new(cert_path, certificate.public_bytes(serialization.Encoding.PEM), PUBLIC)
        return Issued(certificate=cert_path, key=key_path)

    def _load(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        try:
            certificate = x509.load_pem_x509_certificate(self.certificate_path.read_bytes())
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        except FileNotFoundError:
            raise UsageError(
                f"no CA in {self.directory}: create it first with `sealroom ca init`"
            ) from None
        except ValueError as exc:
            raise UsageError(f"the CA in {self.directory} cannot be read: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise UsageError(f"the CA key in {self.key_path} is not an ECDSA key")
        return certificate, key
