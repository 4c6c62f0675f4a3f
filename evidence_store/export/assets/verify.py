#!/usr/bin/env python3
"""Standalone verifier for a sealroom export package.

Usage:  python verify.py [PACKAGE_DIR] [--root ROOT.pem] [--expect-root FINGERPRINT]
                        [--tsa-root TSA.pem] [--expect-tsa FINGERPRINT] [--skip-time-stamps]
                        [--witness-key W.pem] [--expect-witness FINGERPRINT]
                        [--expect-exporter FINGERPRINT]

Needs only the Python standard library (3.9 or newer) and the ``cryptography`` package.
It implements the rules of the sealroom evidence format, version 1 (docs/evidence-format.md,
repeated in README.en.md), without any other sealroom code, so that it can be read and
checked on its own:

  1. the signer's certificate chains to the trust root and was valid when the session began;
  2. every chain link is signed, canonical, well formed, and names the hash of the one before;
  3. every segment present has the size and SHA-256 its link sealed;
  4. nothing else is in the session directory;
  5. the signed manifest is exactly what the chain implies, and SHA256SUMS is signed and lists
     exactly the session's files;
  6. for a clip: the clip's chain values are the chain's, its segments are exactly those its
     span covers, every one of them is here, and NOT-INCLUDED.txt lists exactly the others;
  7. the custody excerpt is well formed: this session's events in order, each saying who did
     what, when and in which role, and nothing the privacy policy keeps at the office;
  8. every file of the package, whatever its name or directory, is as it was exported
     (PACKAGE-SHA256SUMS), and the package holds exactly one session.
  9. every time-stamp token (``.tsr``, RFC 3161) beside a link or the manifest stamps exactly
     that file, chains to the time-stamp authority's root (tsa-ca.pem, or --tsa-root), and
     is not older than the token of an earlier file; the signer's certificate is checked at
     the authority's time for the session's start. Tokens need the ``rfc3161-client``
     package: without it they are NOT checked, and the result says so (exit status 2),
     unless --skip-time-stamps asks to verify the rest alone.
 10. every receipt of the off-box witness (witness/NNNNNN.json, witness/manifest.json) names
     the exact bytes of a head the session holds, is in the witness's Merkle tree (RFC 9162
     inclusion proof) under a tree head signed by the witness key (witness/*.pem, or
     --witness-key); a session without receipts is reported "not yet witnessed".

Two signatures, two statements. The room device's signature (the chain, the manifest) proves
the recording: every segment is byte for byte what the device sealed. The exporting
installation's signature (PACKAGE-SHA256SUMS.sig, with its certificate in exporter/, chaining
to the same trust root) proves the selection: which segments the package holds, a clip's span,
the custody excerpt as the issuing office recorded it, and these documents. It is checked
first, so nothing the exporter wrote is believed before its signature verifies.

It stops at the first failure and says which file failed and why.
Exit status: 0 intact, 1 not intact, 2 usage error (bad arguments, no sessions/ directory)
or time-stamp tokens that could not be checked.

The trust root shipped in the package proves nothing by itself: anyone can make a root and
sign a forgery with it. Compare the root's fingerprint printed below with the one published by
the procuracy, or pass that fingerprint with --expect-root (or their root file with --root).
The same holds for every other key the package carries: the witness's key (receipts signed by
a key of the forger's making prove nothing; --expect-witness or --witness-key), the
time-stamp authority's root (--expect-tsa or --tsa-root) and the exporter's key
(--expect-exporter). A wrong pin is NOT INTACT; without one, the result says what was taken
from the package on trust, and never cites the receipts as proof.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
except ImportError:  # pragma: no cover - depends on the reader's machine
    print("verify.py needs the 'cryptography' package: pip install cryptography", file=sys.stderr)
    sys.exit(2)

ZERO_HASH = "0" * 64
MAX_CHAIN_DEPTH = 6
SESSION_ID = re.compile(r"s-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Files written when a session is sealed; SHA256SUMS lists every other file.
SEALING_FILES = ("SHA256SUMS", "SHA256SUMS.sig", "manifest.json", "manifest.sig")
PACKAGE_SUMS = "PACKAGE-SHA256SUMS"
PACKAGE_SIG = "PACKAGE-SHA256SUMS.sig"
TRUST_ROOT = "trust-root.pem"
EXPORTER_KEY = "exporter/public_key.pem"
EXPORTER_CERT = "exporter/certificate.pem"
EXPORTER_CHAIN = "exporter/chain.pem"
CLIP_PROOF = "clip.json"
NOT_INCLUDED = "NOT-INCLUDED.txt"
CUSTODY = "custody.json"
UNPINNED = (
    "holds only if the trust root fingerprint printed above is the procuracy's published one "
    "(pin it with --expect-root)"
)

WITNESS_UNPINNED = (
    "WARNING: these receipts are signed by a key the package itself carries. Whoever",
    "altered the package could have made that key and these receipts. They prove nothing",
    "until the key's fingerprint above is compared with the one the witness's operator",
    "publishes (or passed with --expect-witness, or the key given with --witness-key).",
)
TSA_UNPINNED = (
    "WARNING: the authority's root is the one the package carries (tsa-ca.pem): tokens",
    "signed under a root of the forger's making would pass. Compare its fingerprint above",
    "with the one the authority publishes (or pass it with --expect-tsa, or --tsa-root).",
)


class Failure(Exception):
    """The first thing that did not verify: which file, and why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class UsageProblem(Exception):
    """Not a package, or bad arguments (exit status 2)."""


def say(text: str = "") -> None:
    print(text, flush=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def shown(name: str) -> str:
    """A file name as messages print it: control characters (a line break would make one
    name read as two) and the backslash escaped, as the hand procedure escapes them."""
    special = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return "".join(
        special.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
        for c in name
    )


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def only_files_and_directories(directory: Path, where: Callable[[str], str]) -> None:
    """Before step 1 (format section 8): no name with a control character, and nothing but
    regular files and directories (``where`` names an entry as messages print it). Entries
    are looked at with lstat: a symbolic link is never followed, out of the package or to a
    file that would pass for a sealed one."""
    entries: dict[str, int] = {}
    for parent, subdirectories, files in os.walk(directory):
        for name in subdirectories + files:
            path = Path(parent, name)
            entries[path.relative_to(directory).as_posix()] = path.lstat().st_mode
    for relative in sorted(entries):
        parts = relative.split("/")
        for end, part in enumerate(parts, 1):
            if CONTROL.search(part):
                raise Failure(
                    where("/".join(parts[:end])),
                    "a name with a line break or another control character is never part of "
                    "a session or package",
                )
    for relative, mode in sorted(entries.items()):
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            what = (
                "a symbolic link"
                if stat.S_ISLNK(mode)
                else "a named pipe (FIFO)"
                if stat.S_ISFIFO(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "a device"
            )
            raise Failure(
                where(relative),
                f"{what}, not a regular file: only files and directories are evidence, and a "
                "link is never followed",
            )


def hex_of(fingerprint_text: str) -> str:
    """A fingerprint as given (AB:CD:..., abcd..., with or without colons): lower-case hex."""
    return re.sub(r"[^0-9a-f]", "", fingerprint_text.lower())


def fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint as openssl prints it (AB:CD:...)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)  # noqa: UP017


def clock(us: int) -> str:
    """Microseconds on the media timeline as H:MM:SS.mmm."""
    seconds, micro = divmod(us, 1_000_000)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micro // 1000:03d}"


# -- 1. canonical JSON (format section 3) ------------------------------------------------------


def canonical(document: Any) -> bytes:
    """The one byte form: sorted keys, no whitespace, UTF-8 as itself, no floats."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return False


def load_canonical(data: bytes, where: str) -> dict[str, Any]:
    """Parse bytes that must already be canonical JSON; anything else is tampering."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Failure(where, f"not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise Failure(where, "not a JSON object")
    if has_float(document):
        raise Failure(where, "floating-point numbers are not allowed in canonical JSON")
    if canonical(document) != data:
        raise Failure(where, "not in canonical form (bytes were edited)")
    return document


# -- 2. signatures (format section 5) ----------------------------------------------------------


def load_public_key(data: bytes, where: str) -> Any:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise Failure(where, "not a PEM public key") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise Failure(where, "unsupported signing key type (expected Ed25519 or ECDSA P-256)")


def key_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def algorithm_of(key: Any) -> str:
    return "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "ecdsa-p256-sha256"


def check_signature(key: Any, signature: bytes, message: bytes, where: str) -> None:
    """Ed25519: raw 64 bytes over the message. ECDSA P-256: DER, over SHA-256 of it."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise Failure(where, "signature does not verify: the signed bytes were altered") from exc


# -- 3. the signer and the trust root (format section 8, step 3) -------------------------------


def load_certificates(data: bytes, where: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, in order."""
    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, flags=re.DOTALL
    )
    if not blocks:
        raise Failure(where, "unreadable certificate (no PEM certificate in the file)")
    try:
        return [x509.load_pem_x509_certificate(block) for block in blocks]
    except ValueError as exc:
        raise Failure(where, f"unreadable certificate ({exc})") from exc


def extension(cert: x509.Certificate, kind: Any) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def not_before(cert: x509.Certificate) -> datetime:
    if hasattr(cert, "not_valid_before_utc"):  # cryptography 42 and newer
        return cert.not_valid_before_utc
    return cert.not_valid_before.replace(tzinfo=timezone.utc)  # noqa: UP017 (Python 3.9)


def not_after(cert: x509.Certificate) -> datetime:
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=timezone.utc)  # noqa: UP017


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` is named as the issuer and its key made the signature on ``cert``."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            algorithm = cert.signature_hash_algorithm
            if algorithm is None:
                return False
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            algorithm = cert.signature_hash_algorithm
            if algorithm is None:
                return False
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def check_path(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    root: x509.Certificate,
    at: datetime,
    where: str,
) -> None:
    """The leaf allows signatures and chains, each certificate valid at ``at``, to ``root``."""
    usage = extension(leaf, x509.KeyUsage)
    if usage is not None and not usage.digital_signature:
        raise Failure(where, "certificate does not allow digital signatures")
    root_print = root.fingerprint(hashes.SHA256())
    current = leaf
    for _ in range(MAX_CHAIN_DEPTH):
        if not not_before(current) <= at <= not_after(current):
            raise Failure(
                where,
                f"certificate {current.subject.rfc4514_string()!r} was not valid at "
                f"{at.isoformat()}",
            )
        if current.fingerprint(hashes.SHA256()) == root_print:
            return
        candidates = [c for c in [root, *intermediates] if c != current]
        issuer = next((c for c in candidates if issued_by(current, c)), None)
        if issuer is None:
            raise Failure(
                where,
                f"certificate {current.subject.rfc4514_string()!r} does not chain to a "
                "trusted root (the trust root given to this verifier)",
            )
        constraints = extension(issuer, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise Failure(where, f"issuer {issuer.subject.rfc4514_string()!r} is not a CA")
        current = issuer
    raise Failure(where, "certificate chain is too long")


class TrustRoot:
    """The root the verifier trusts: a CA certificate, or a pinned public key."""

    def __init__(self, path: Path, label: str) -> None:
        if not path.is_file():
            raise UsageProblem(f"no trust root at {path}")
        data = path.read_bytes()
        self.label = label
        self.certificate: x509.Certificate | None = None
        self.key_sha256: str | None = None
        if b"CERTIFICATE-----" in data:
            certificates = load_certificates(data, label)
            if len(certificates) != 1:
                raise Failure(label, "expected exactly one root certificate")
            self.certificate = certificates[0]
            der = self.certificate.public_bytes(serialization.Encoding.DER)
            self.subject = self.certificate.subject.rfc4514_string()
        elif b"PUBLIC KEY-----" in data:
            der = key_der(load_public_key(data, label))
            self.key_sha256 = sha256_hex(der)
            self.subject = "pinned public key"
        else:
            raise Failure(label, "neither a PEM certificate nor a PEM public key")
        self.fingerprint = fingerprint(der)


# -- 4. the chain's rules (format section 4) ---------------------------------------------------

# A link's fields (format section 4): required, then optional. Every field that has a value is
# written, defaults too, so "required" here is about the bytes, not about meaning.
Fields = tuple[set[str], set[str]]  # required, optional
LINK_FIELDS: Fields = ({"v", "session", "seq", "prev", "time", "kind"}, {"segment", "event"})
SEGMENT_FIELDS: Fields = (
    {"index", "name", "sha256", "size", "start_us", "duration_us"},
    {"track"},  # a passthrough session's segments (format section 15)
)
METADATA_FIELDS: Fields = (
    {"case_number", "room", "accused", "investigators", "others_present", "timezone"},
    {"unit"},
)
MEDIA_FIELDS: Fields = (
    {
        "container",
        "video_codec",
        "audio_codec",
        "width",
        "height",
        "fps",
        "sample_rate",
        "channels",
        "segment_seconds",
    },
    set(),
)
TRACKED_MEDIA_FIELDS: Fields = (
    {"mode", "container", "audio_codec", "sample_rate", "channels", "segment_seconds", "tracks"},
    set(),
)
TRACK_FIELDS: Fields = ({"id", "kind", "device"}, set())
SIGNER_FIELDS: Fields = ({"algorithm", "public_key_sha256"}, {"certificate_sha256"})
PERSON_FIELDS: Fields = ({"name", "role"}, set())
# Each event type's fields besides "type": required, optional.
EVENT_FIELDS: dict[str, Fields] = {
    "session_started": ({"metadata", "media", "signer"}, set()),
    "paused": ({"reason"}, set()),
    "resumed": ({"reason"}, set()),
    "device_lost": ({"device", "reason"}, set()),
    "device_restored": ({"device"}, set()),
    "interrupted": ({"reason"}, {"ended_at"}),
    "stopped": ({"reason"}, set()),
    "clock_skew": ({"reason"}, set()),  # the time-stamp authority's time disagreed
    # Passthrough sessions (format section 15).
    "clock_corrected": ({"device", "reason"}, set()),
    "note": ({"reason"}, {"device"}),
    "device_stats": ({"stats"}, set()),
}
MEDIA_LIMITS = {
    "width": 7680,
    "height": 4320,
    "fps": 120,
    "sample_rate": 192000,
    "channels": 8,
    "segment_seconds": 60,
}
NAME_LIMIT, TEXT_LIMIT = 200, 2000  # characters: names of people, rooms, devices; reasons
# Unicode White_Space: no text value begins or ends with one of these.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)


COUNT_LIMIT = 10**18  # whole numbers in links stay below it (format section 3)


TRACK_ID = re.compile(r"^[a-z][a-z0-9]{0,15}$")
STATS_COUNTS = (
    "frames_received",
    "frames_dropped",
    "frames_filled",
    "silence_filled_samples",
    "samples_cut",
    "samples_resampled",
    "clock_corrections",
    "join_wait_us",
)


def segment_path(segment: dict[str, Any]) -> str:
    """Where a sealed segment lives in its session: under its track, if it has one."""
    track = segment.get("track")
    if track is None:
        return f"segments/{segment['name']}"
    return f"segments/{track}/{segment['name']}"


def check_stats_form(stats: Any) -> None:
    """device_stats: one entry per device, every count a whole number."""
    if not isinstance(stats, list):
        raise ValueError("stats must be a list")
    allowed = {"device", "kind", "track", "seal_latency", *STATS_COUNTS}
    for entry in stats:
        if not isinstance(entry, dict) or not set(entry) <= allowed:
            raise ValueError("device stats entry is malformed")
        if not is_text(entry.get("device"), NAME_LIMIT):
            raise ValueError(f"a device is named in 1 to {NAME_LIMIT} characters")
        if entry.get("kind") not in ("camera", "microphone"):
            raise ValueError("device stats kind must be camera or microphone")
        if not all(is_count(entry.get(name)) for name in STATS_COUNTS):
            raise ValueError("device stats counts must be whole numbers")
        if "track" in entry and not TRACK_ID.fullmatch(str(entry["track"])):
            raise ValueError("device stats name a malformed track")
        latency = entry.get("seal_latency", {})
        if not isinstance(latency, dict) or not all(is_count(v) for v in latency.values()):
            raise ValueError("seal latency must be whole microseconds")


def is_count(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value < COUNT_LIMIT


def is_text(value: Any, limit: int) -> bool:
    """Non-empty, at most ``limit`` characters, not beginning or ending with white space."""
    return isinstance(value, str) and 0 < len(value) <= limit and value.strip(WHITESPACE) == value


def is_time(value: Any) -> bool:
    """A UTC timestamp of the stored form that names a real calendar time."""
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and SHA256_HEX.fullmatch(value) is not None


def check_fields(value: Any, fields: Fields, what: str) -> dict[str, Any]:
    """``value`` is an object with all the required fields and no others but the optional."""
    required, optional = fields
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not an object")
    if missing := sorted(required - set(value)):
        raise ValueError(f"{what} needs {', '.join(missing)}")
    if extra := sorted(set(value) - required - optional):
        raise ValueError(f"{what} carries no {', '.join(extra)}")
    return value


def check_segment_form(segment: Any) -> None:
    check_fields(segment, SEGMENT_FIELDS, "segment")
    counts = [("index", 0), ("size", 1), ("start_us", 0), ("duration_us", 1)]
    if not all(is_count(segment[name], low) for name, low in counts):
        raise ValueError("segment index, size, start and duration must be whole numbers")
    if not is_sha256(segment["sha256"]):
        raise ValueError("segment sha256 is not a SHA-256")
    if segment["name"] != f"{segment['index']:06d}.mp4":
        raise ValueError(f"segment {segment['index']} must be named {segment['index']:06d}.mp4")
    if "track" in segment and not TRACK_ID.fullmatch(str(segment["track"])):
        raise ValueError("segment track is not a track id")


def check_metadata_form(metadata: Any) -> None:
    check_fields(metadata, METADATA_FIELDS, "metadata")
    names = [metadata["case_number"], metadata["room"], metadata["timezone"]]
    if "unit" in metadata:
        names.append(metadata["unit"])
    for field in ("accused", "investigators", "others_present"):
        if not isinstance(metadata[field], list):
            raise ValueError(f"metadata {field} is not a list")
    names += metadata["accused"] + metadata["investigators"]
    for person in metadata["others_present"]:
        check_fields(person, PERSON_FIELDS, "a person present")
        names += [person["name"], person["role"]]
    if not all(is_text(name, NAME_LIMIT) for name in names):
        raise ValueError(
            f"metadata names are 1 to {NAME_LIMIT} characters, without white space around them"
        )


def check_media_form(media: Any) -> None:
    if isinstance(media, dict) and "mode" in media:
        check_tracked_media_form(media)
        return
    check_fields(media, MEDIA_FIELDS, "media")
    codecs = (media["container"], media["video_codec"], media["audio_codec"])
    if codecs != ("mp4", "h264", "aac"):
        raise ValueError("media must be mp4 with h264 and aac")
    for field, limit in MEDIA_LIMITS.items():
        if not is_count(media[field], 1) or media[field] > limit:
            raise ValueError(f"media {field} must be a whole number from 1 to {limit}")


def check_tracked_media_form(media: Any) -> None:
    """A passthrough session's media: its tracks (format section 15)."""
    check_fields(media, TRACKED_MEDIA_FIELDS, "media")
    if (media["mode"], media["container"], media["audio_codec"]) != ("passthrough", "mp4", "aac"):
        raise ValueError("passthrough media must be mp4 with aac sound")
    for field in ("sample_rate", "channels", "segment_seconds"):
        limit = MEDIA_LIMITS[field]
        if not is_count(media[field], 1) or media[field] > limit:
            raise ValueError(f"media {field} must be a whole number from 1 to {limit}")
    tracks = media["tracks"]
    if not isinstance(tracks, list) or not 1 <= len(tracks) <= 32:
        raise ValueError("media tracks are a list of 1 to 32")
    for track in tracks:
        check_fields(track, TRACK_FIELDS, "a track")
        if not TRACK_ID.fullmatch(str(track["id"])) or track["kind"] not in ("camera", "sound"):
            raise ValueError("a track has an id and a kind (camera or sound)")
        if not is_text(track["device"], NAME_LIMIT):
            raise ValueError(f"a device is named in 1 to {NAME_LIMIT} characters")
    if len({t["id"] for t in tracks}) != len(tracks):
        raise ValueError("track ids must be distinct")
    if len({t["device"] for t in tracks}) != len(tracks):
        raise ValueError("each track has its own device")


def check_signer_form(signer: Any) -> None:
    check_fields(signer, SIGNER_FIELDS, "signer")
    if signer["algorithm"] not in ("ed25519", "ecdsa-p256-sha256"):
        raise ValueError("signer algorithm must be ed25519 or ecdsa-p256-sha256")
    digests = [signer["public_key_sha256"], signer.get("certificate_sha256", "0" * 64)]
    if not all(is_sha256(digest) for digest in digests):
        raise ValueError("signer digests must be SHA-256")


def check_event_form(event: Any) -> None:
    if not isinstance(event, dict):
        raise ValueError("event is not an object")
    if event.get("type") not in EVENT_FIELDS:
        raise ValueError(f"unknown event type {event.get('type')!r}")
    kind = event["type"]
    required, optional = EVENT_FIELDS[kind]
    check_fields(event, ({"type"} | required, optional), f"a {kind} event")
    if "reason" in event and not is_text(event["reason"], TEXT_LIMIT):
        raise ValueError(f"a reason is 1 to {TEXT_LIMIT} characters, without white space around it")
    if "device" in event and not is_text(event["device"], NAME_LIMIT):
        raise ValueError(f"a device is named in 1 to {NAME_LIMIT} characters")
    if "ended_at" in event and not is_time(event["ended_at"]):
        raise ValueError("ended_at is not a UTC timestamp")
    if kind == "device_stats":
        check_stats_form(event["stats"])
    if kind == "session_started":
        check_metadata_form(event["metadata"])
        check_media_form(event["media"])
        check_signer_form(event["signer"])


def check_link_form(link: dict[str, Any], where: str) -> None:
    """A link is exactly one of the shapes format section 4 describes, every value in its
    exact form (the sealroom verifier's model, written out)."""
    try:
        check_fields(link, LINK_FIELDS, "link")
        if link["v"] != 1 or isinstance(link["v"], bool):
            raise ValueError(f"format version {link['v']!r} is not 1")
        if not isinstance(link["session"], str) or not SESSION_ID.fullmatch(link["session"]):
            raise ValueError("session is not a session id")
        if not is_count(link["seq"]):
            raise ValueError("seq is not a number")
        if not is_sha256(link["prev"]):
            raise ValueError("prev is not a SHA-256")
        if not is_time(link["time"]):
            raise ValueError("time is not a UTC timestamp")
        kind = link["kind"]
        if kind not in ("segment", "event") or set(link) & {"segment", "event"} != {kind}:
            raise ValueError("a link carries exactly the payload its kind names")
        if kind == "segment":
            check_segment_form(link["segment"])
        else:
            check_event_form(link["event"])
    except ValueError as exc:
        raise Failure(where, f"malformed link: {exc}") from exc


class Chain:
    """Replays the links in order; ``apply`` enforces the chain's rules (format section 4)."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.head = ZERO_HASH
        self.length = 0
        self.state = "new"  # new, recording, paused, stopped, interrupted
        self.start_event: dict[str, Any] = {}
        self.started_at = ""
        self.ended_at = ""
        self.recovered_at = ""  # an interrupted session's recovery, when it records its end
        self.end_reason = ""
        self.last_time = ""  # the newest link's time: no link may be earlier
        self.segments: list[dict[str, Any]] = []
        self.pauses: list[dict[str, Any]] = []
        self.outages: list[dict[str, Any]] = []
        self.lost: set[str] = set()
        # Passthrough sessions: each track's segments, clock corrections per device, notes,
        # and the last device stats.
        self.tracks: dict[str, list[dict[str, Any]]] = {}
        self.corrections: dict[str, int] = {}
        self.notes: list[dict[str, Any]] = []
        self.stats: list[dict[str, Any]] | None = None

    @property
    def ended(self) -> bool:
        return self.state in ("stopped", "interrupted")

    @property
    def track_ids(self) -> list[str] | None:
        """The session's tracks, or None for a session of one composite picture."""
        media = self.start_event.get("media", {})
        if not isinstance(media, dict) or media.get("mode") != "passthrough":
            return None
        return [str(t.get("id")) for t in media.get("tracks", []) if isinstance(t, dict)]

    @property
    def duration_us(self) -> int:
        if self.track_ids is not None:
            return max((s["start_us"] + s["duration_us"] for s in self.segments), default=0)
        last = self.segments[-1] if self.segments else None
        return last["start_us"] + last["duration_us"] if last else 0

    def apply(self, link: dict[str, Any], body: bytes, where: str) -> None:
        if link["session"] != self.session_id:
            raise Failure(
                where, f"link belongs to session {link['session']}, not {self.session_id}"
            )
        if link["seq"] != self.length:
            raise Failure(
                where, f"link says seq {link['seq']} but is link {self.length} of the chain"
            )
        if link["prev"] != self.head:
            raise Failure(
                where,
                "prev does not match the hash of the link before it: the chain is broken "
                "(a link was removed, inserted, reordered or edited)",
            )
        if self.ended:
            raise Failure(where, f"link after the session ended ({self.state})")
        # Fixed-width UTC timestamps: text order is time order.
        if link["time"] < self.last_time:
            raise Failure(
                where,
                f"link time {link['time']} is before the previous link's {self.last_time}: "
                "link times never go backwards",
            )
        if link["kind"] == "segment":
            self.apply_segment(link["segment"], where)
        else:
            self.apply_event(link["event"], link["time"], where)
        self.head = sha256_hex(body)
        self.length += 1
        self.last_time = link["time"]

    def apply_segment(self, segment: dict[str, Any], where: str) -> None:
        if self.state != "recording":
            raise Failure(where, f"segment while the session is {self.state}")
        tracks = self.track_ids
        if tracks is not None:
            self.apply_track_segment(tracks, segment, where)
            return
        if "track" in segment:
            raise Failure(
                where, "segment names a track, but the session records one composite picture"
            )
        if segment["index"] != len(self.segments):
            raise Failure(
                where, f"segment index {segment['index']} where {len(self.segments)} was expected"
            )
        if segment["start_us"] != self.duration_us:
            raise Failure(where, "segment start does not continue the timeline")
        self.segments.append(segment)

    def apply_track_segment(self, tracks: list[str], segment: dict[str, Any], where: str) -> None:
        """A track's segments are numbered from 0 and never overlap; gaps are allowed."""
        track = segment.get("track")
        if track not in tracks:
            raise Failure(
                where,
                f"segment of unknown track {track!r} (the session's tracks are "
                f"{', '.join(tracks)})",
            )
        earlier = self.tracks.setdefault(track, [])
        if segment["index"] != len(earlier):
            raise Failure(
                where,
                f"segment index {segment['index']} of track {track} where {len(earlier)} "
                "was expected",
            )
        end = earlier[-1]["start_us"] + earlier[-1]["duration_us"] if earlier else 0
        if earlier and segment["start_us"] < end:
            raise Failure(
                where, f"segment starts before the end of track {track}'s previous segment"
            )
        earlier.append(segment)
        self.segments.append(segment)

    def apply_event(self, event: dict[str, Any], time: str, where: str) -> None:
        kind = event["type"]
        if (kind == "session_started") != (self.state == "new"):
            raise Failure(where, "the chain must open with exactly one session_started")
        if kind == "session_started":
            self.start_event, self.started_at, self.state = event, time, "recording"
        elif kind == "paused":
            self.require("recording", kind, where)
            self.pauses.append({"paused_at": time, "reason": event["reason"]})
            self.state = "paused"
        elif kind == "resumed":
            self.require("paused", kind, where)
            self.pauses[-1].update(resumed_at=time, resume_reason=event["reason"])
            self.state = "recording"
        elif kind == "device_lost":
            if event["device"] in self.lost:
                raise Failure(where, f"device {event['device']} lost twice")
            self.lost.add(event["device"])
            self.outages.append(
                {"device": event["device"], "lost_at": time, "reason": event["reason"]}
            )
        elif kind == "clock_skew":
            pass  # a mark on the record (format section 13): it changes nothing else
        elif kind == "device_restored":
            if event["device"] not in self.lost:
                raise Failure(where, f"device {event['device']} restored but never lost")
            self.lost.discard(event["device"])
            for outage in reversed(self.outages):
                if outage["device"] == event["device"]:
                    outage["restored_at"] = time
                    break
        elif kind == "clock_corrected":
            self.corrections[event["device"]] = self.corrections.get(event["device"], 0) + 1
        elif kind == "note":
            note = {"at": time, "reason": event["reason"]}
            if "device" in event:
                note["device"] = event["device"]
            self.notes.append(note)
        elif kind == "device_stats":
            self.check_stats(event["stats"], where)
            self.stats = event["stats"]
        elif kind == "interrupted" and "ended_at" in event:
            # Cut off at ended_at (its last sealed media); recovered at the link's time.
            if not self.started_at <= event["ended_at"] <= time:
                raise Failure(
                    where,
                    f"interrupted at {event['ended_at']}, outside the session's start "
                    f"{self.started_at} and its recovery {time}",
                )
            self.ended_at, self.recovered_at = event["ended_at"], time
            self.end_reason, self.state = event["reason"], kind
        else:  # stopped, or interrupted as recorded before the cut-off time was
            self.ended_at, self.end_reason, self.state = time, event["reason"], kind

    def check_stats(self, stats: list[dict[str, Any]], where: str) -> None:
        """Each device once; the clock corrections counted under a device's name are those
        the chain records for it (a camera and a microphone may share a name)."""
        devices = [(entry["kind"], entry["device"]) for entry in stats]
        if len(set(devices)) != len(devices):
            raise Failure(where, "device stats name a device twice")
        tracks = self.track_ids or []
        for entry in stats:
            if "track" in entry and entry["track"] not in tracks:
                raise Failure(
                    where,
                    f"device stats of {entry['device']} name unknown track {entry['track']!r}",
                )
        for device in sorted({e["device"] for e in stats} | set(self.corrections)):
            counted = sum(e["clock_corrections"] for e in stats if e["device"] == device)
            chained = self.corrections.get(device, 0)
            if counted != chained:
                raise Failure(
                    where,
                    f"device stats count {counted} clock corrections of {device}, the chain "
                    f"records {chained}",
                )

    def gaps(self) -> list[dict[str, Any]]:
        """Each track's stretches without segments: before its first, and between two."""
        found = []
        for track in self.track_ids or []:
            end = 0
            for segment in self.tracks.get(track, []):
                if segment["start_us"] > end:
                    found.append({"track": track, "from_us": end, "to_us": segment["start_us"]})
                end = segment["start_us"] + segment["duration_us"]
        return found

    def require(self, state: str, kind: str, where: str) -> None:
        if self.state != state:
            raise Failure(where, f"{kind} while the session is {self.state}")

    def manifest(self, head_signature: bytes, checksums_sha256: str) -> dict[str, Any]:
        """The manifest this chain implies (format section 6)."""
        derived: dict[str, Any] = {}
        if self.stats is not None:
            derived["devices"] = self.stats
        if self.notes:
            derived["notes"] = self.notes
        if self.track_ids is not None:
            derived["gaps"] = self.gaps()
        if self.recovered_at:
            derived["recovered_at"] = self.recovered_at
        return {
            **derived,
            "v": 1,
            "type": "sealroom.manifest",
            "session": self.session_id,
            "metadata": self.start_event["metadata"],
            "media": self.start_event["media"],
            "signer": self.start_event["signer"],
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "stop_reason": self.end_reason,
            "interrupted": self.state == "interrupted",
            "pauses": self.pauses,
            "device_outages": self.outages,
            "segments": self.segments,
            "duration_us": self.duration_us,
            "chain": {
                "algorithm": "sha256",
                "length": self.length,
                "head": self.head,
                "head_signature": head_signature.hex(),
            },
            "checksums_sha256": checksums_sha256,
        }


def first_difference(stored: Any, expected: Any, path: str = "") -> str:
    if isinstance(stored, dict) and isinstance(expected, dict):
        for key in sorted(set(stored) | set(expected)):
            if stored.get(key) != expected.get(key):
                return first_difference(stored.get(key), expected.get(key), f"{path}.{key}")
    if isinstance(stored, list) and isinstance(expected, list) and len(stored) == len(expected):
        for i in range(len(stored)):
            if stored[i] != expected[i]:
                return first_difference(stored[i], expected[i], f"{path}[{i}]")
    return path.lstrip(".") or "(whole document)"


# -- 5. the session directory ------------------------------------------------------------------


class Session:
    """Verifies one session directory of the package, as format section 8 orders it."""

    def __init__(
        self,
        package: Path,
        directory: Path,
        root: TrustRoot,
        clip: Clip | None,
        stamps: TimeStamps | None = None,
        witness: WitnessKeys | None = None,
    ):
        self.stamps = stamps
        self.witness = witness
        self.package = package
        self.dir = directory
        self.session_id = directory.name
        self.root = root
        self.clip = clip
        self.digests: dict[str, str] = {}  # session-relative path -> SHA-256 of what is here
        self.files = sorted(
            p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()
        )
        self.absent: list[dict[str, Any]] = []  # segments outside the clip, not included

    @property
    def sealed(self) -> bool:
        return "manifest.json" in self.files

    def where(self, relative: str) -> str:
        """A path as the reader finds it in the package."""
        return shown((self.dir / relative).relative_to(self.package).as_posix())

    def read(self, relative: str) -> bytes:
        if relative not in self.files:
            raise Failure(self.where(relative), "missing")
        data = (self.dir / relative).read_bytes()
        self.digests[relative] = sha256_hex(data)
        return data

    def run(self) -> dict[str, Any]:
        only_files_and_directories(self.dir, self.where)
        key = load_public_key(
            self.read("signer/public_key.pem"), self.where("signer/public_key.pem")
        )
        certificate, intermediates = self.certificates()
        last_signature = b""
        signer = ""
        chain = Chain(self.session_id)
        while f"chain/{chain.length:06d}.json" in self.files:
            seq = chain.length
            name, sig_name = f"chain/{seq:06d}.json", f"chain/{seq:06d}.sig"
            body = self.read(name)
            if sig_name not in self.files:
                if f"chain/{seq + 1:06d}.json" not in self.files and not self.sealed:
                    raise Failure(
                        self.where(name),
                        "the last link was never signed (cut off while sealing): not sealed",
                    )
                raise Failure(self.where(sig_name), "signature missing")
            last_signature = self.read(sig_name)
            check_signature(key, last_signature, body, self.where(name))
            link = load_canonical(body, self.where(name))
            check_link_form(link, self.where(name))
            chain.apply(link, body, self.where(name))
            if seq == 0:
                started = self.stamps.start_time(self, body, link["time"]) if self.stamps else None
                signer = self.check_signer(
                    chain, key, certificate, intermediates, started or link["time"]
                )
            if link["kind"] == "segment":
                self.check_segment(link["segment"])
        if chain.length == 0:
            raise Failure(
                self.where("chain/000000.json"),
                f"missing: the session's first link is gone, while {len(self.files)} other "
                "file(s) of the session remain",
            )
        self.no_strays(chain)
        witnessed = check_receipts(self, chain, self.witness)  # section 5b
        manifest = self.check_manifest(key, chain, last_signature)
        return {
            "signer": signer,
            "certificate": certificate,
            "algorithm": algorithm_of(key),
            "manifest": manifest,
            "chain_length": chain.length,
            "head": chain.head,
            "segments": chain.segments,
            "witness": witnessed,
        }

    def certificates(self) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
        certificate = None
        if "signer/certificate.pem" in self.files:
            where = self.where("signer/certificate.pem")
            found = load_certificates(self.read("signer/certificate.pem"), where)
            if len(found) != 1:
                raise Failure(where, "expected exactly one certificate")
            certificate = found[0]
        intermediates: list[x509.Certificate] = []
        if "signer/chain.pem" in self.files:
            data = self.read("signer/chain.pem")
            intermediates = load_certificates(data, self.where("signer/chain.pem"))
        return certificate, intermediates

    def check_signer(
        self,
        chain: Chain,
        key: Any,
        certificate: x509.Certificate | None,
        intermediates: list[x509.Certificate],
        started: str,
    ) -> str:
        """Link 0 binds the key and certificate; the signer must be anchored in the root."""
        claimed = chain.start_event["signer"]
        if sha256_hex(key_der(key)) != claimed["public_key_sha256"]:
            raise Failure(
                self.where("signer/public_key.pem"),
                "public key is not the one the session started with",
            )
        where_cert = self.where("signer/certificate.pem")
        if certificate is None:
            if claimed.get("certificate_sha256") is not None:
                raise Failure(
                    where_cert, "the session started with a certificate that is now missing"
                )
            if self.root.key_sha256 != sha256_hex(key_der(key)):
                raise Failure(
                    self.where("signer/public_key.pem"),
                    "the signing key has no certificate and is not the trusted key",
                )
            return f"pinned public key sha256:{self.root.key_sha256}"
        der = certificate.public_bytes(serialization.Encoding.DER)
        if sha256_hex(der) != claimed.get("certificate_sha256"):
            raise Failure(where_cert, "certificate is not the one the session started with")
        if key_der(certificate.public_key()) != key_der(key):
            raise Failure(where_cert, "certificate does not match the signing key")
        if self.root.certificate is None:
            raise Failure(
                where_cert, "the trust root is a public key, but the signer has a certificate"
            )
        check_path(
            certificate, intermediates, self.root.certificate, parse_time(started), where_cert
        )
        return certificate.subject.rfc4514_string()

    def check_segment(self, segment: dict[str, Any]) -> None:
        relative = segment_path(segment)
        if relative not in self.files:
            # Left out on purpose only if the signed clip's span does not reach it.
            if self.clip is not None and not self.clip.covers(segment):
                self.absent.append(segment)
                self.digests[relative] = segment["sha256"]
                return
            raise Failure(self.where(relative), "segment missing (deleted or renamed)")
        size, digest = sha256_file(self.dir / relative)
        if size != segment["size"]:
            state = "truncated" if size < segment["size"] else "extended"
            raise Failure(
                self.where(relative),
                f"segment is {size} bytes, the chain sealed {segment['size']} ({state})",
            )
        if digest != segment["sha256"]:
            raise Failure(
                self.where(relative),
                "segment content does not match its sealed SHA-256 (altered or replaced)",
            )
        self.digests[relative] = digest

    def no_strays(self, chain: Chain) -> None:
        expected = set(self.digests) | set(SEALING_FILES)
        expected |= {f"chain/{seq:06d}.sig" for seq in range(chain.length)}
        expected |= token_names(chain.length)  # checked last (TimeStamps)
        for relative in self.files:
            if relative not in expected and not relative.startswith(WITNESS_DIR):  # see 5b
                raise Failure(
                    self.where(relative),
                    "object is not part of the sealed chain (added, duplicated or spliced in, "
                    "or left over after a link before it was removed)",
                )

    def check_manifest(self, key: Any, chain: Chain, last_signature: bytes) -> dict[str, Any]:
        where = self.where("manifest.json")
        if "manifest.json" not in self.files:
            raise Failure(
                where,
                f"not sealed: the chain is intact up to link {chain.length - 1} but has no "
                "manifest (the recording was cut off, or its end was removed)",
            )
        body = self.read("manifest.json")
        if "manifest.sig" not in self.files:
            raise Failure(self.where("manifest.sig"), "missing")
        check_signature(key, self.read("manifest.sig"), body, where)
        stored = load_canonical(body, where)
        if stored.get("v") != 1 or stored.get("type") != "sealroom.manifest":
            raise Failure(where, "not a version 1 sealroom manifest")
        sealed: dict[str, Any] = stored["chain"] if isinstance(stored.get("chain"), dict) else {}
        if not chain.ended:
            raise Failure(
                where,
                f"the manifest seals {sealed.get('length')} links but the chain has only "
                f"{chain.length} and does not end: links were removed (head rolled back)",
            )
        checksums = self.check_checksums(key)
        expected = chain.manifest(last_signature, sha256_hex(checksums))
        if sealed.get("length") != chain.length or sealed.get("head") != chain.head:
            raise Failure(
                where,
                f"the manifest seals {sealed.get('length')} links with head "
                f"{str(sealed.get('head'))[:16]}…, the chain has {chain.length} with head "
                f"{chain.head[:16]}…: links were removed or replaced (head rolled back)",
            )
        if canonical(stored) != canonical(expected):
            field = first_difference(stored, expected)
            raise Failure(where, f"manifest field {field!r} does not match the chain")
        return stored

    def check_checksums(self, key: Any) -> bytes:
        where = self.where("SHA256SUMS")
        body = self.read("SHA256SUMS")
        if "SHA256SUMS.sig" not in self.files:
            raise Failure(self.where("SHA256SUMS.sig"), "missing")
        check_signature(key, self.read("SHA256SUMS.sig"), body, where)
        listed = {k: v for k, v in self.digests.items() if k not in SEALING_FILES}
        text = "".join(f"{listed[path]}  {path}\n" for path in sorted(listed, key=str.encode))
        if body != text.encode("utf-8"):
            raise Failure(where, "does not list exactly the session's files and their digests")
        return body


# -- 5b. the off-box witness's receipts (format section "Witness receipts") -------------------
#
# Each receipt witness/NNNNNN.json (link NNNNNN) or witness/manifest.json (the seal) says that
# the witness, a transparency log (RFC 9162), received exactly that head's bytes at
# received_at: its entry is a leaf of the witness's Merkle tree, the inclusion proof leads to
# the root of a tree head, and the witness key signs the tree head. A session may have none
# yet ("not yet witnessed"): that is reported, not a failure.

WITNESS_DIR = "witness/"
SEAL_RECEIPT = "witness/manifest.json"
WITNESS_KEYS = "witness"  # the package's folder of witness public keys (PEM)
ENTRY_FIELDS = {"v", "type", "session", "kind", "seq", "sha256", "device", "received_at", "fork"}
HEAD_FIELDS = {"v", "type", "log", "tree_size", "root_hash", "timestamp", "signature"}


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162, section 2.1.3.2, step by step."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


class WitnessKeys:
    """The witness keys believed: given with --witness-key, else those the package carries
    (whose fingerprints are printed, to compare with the ones the procuracy publishes)."""

    def __init__(self, package: Path, given: list[Path], pins: list[str] | None = None) -> None:
        files = [Path(f) for f in given] or sorted((package / WITNESS_KEYS).glob("*.pem"))
        self.given = bool(given)
        self.pinned = bool(pins)
        wanted = {hex_of(pin) for pin in pins or []}
        self.keys: dict[str, Any] = {}
        for file in files:
            data = file.read_bytes()
            if b"CERTIFICATE-----" in data:
                key = load_certificates(data, str(file))[0].public_key()
            else:
                key = load_public_key(data, str(file))
            # With a pin, a key whose fingerprint is not pinned is not believed: its receipts
            # fail as signed by a key that is not trusted.
            if not wanted or sha256_hex(key_der(key)) in wanted:
                self.keys[sha256_hex(key_der(key))] = key

    @property
    def independent(self) -> bool:
        """Whether the keys believed came from outside the package (given, or pinned)."""
        return self.given or self.pinned

    def origin(self) -> str:
        if self.given:
            return "given (--witness-key)"
        if self.pinned:
            return "carried by the package; matches --expect-witness"
        return "carried by the package, NOT pinned"


def check_receipt_form(receipt: dict[str, Any], where: str) -> None:
    entry, head = receipt.get("entry"), receipt.get("tree_head")
    if (
        set(receipt) != {"v", "type", "entry", "leaf_index", "inclusion", "tree_head"}
        or receipt["v"] != 1
        or receipt["type"] != "sealroom.witness-receipt"
        or not isinstance(entry, dict)
        or not isinstance(head, dict)
        or not is_count(receipt["leaf_index"])
        or not isinstance(receipt["inclusion"], list)
        or not all(isinstance(p, str) and SHA256_HEX.match(p) for p in receipt["inclusion"])
    ):
        raise Failure(where, "not a version 1 witness receipt")
    if (
        not set(entry) <= ENTRY_FIELDS
        or set(entry) < ENTRY_FIELDS - {"seq"}
        or entry["v"] != 1
        or entry["type"] != "sealroom.witness-entry"
        or entry["kind"] not in ("link", "seal")
        or ("seq" in entry) != (entry["kind"] == "link")
        or ("seq" in entry and not is_count(entry["seq"]))
        or not isinstance(entry["sha256"], str)
        or not SHA256_HEX.match(entry["sha256"])
        or not isinstance(entry["received_at"], str)
        or not TIMESTAMP.match(entry["received_at"])
        or not isinstance(entry["fork"], bool)
    ):
        raise Failure(where, "the receipt's entry is not a version 1 witness entry")
    if (
        set(head) != HEAD_FIELDS
        or head["v"] != 1
        or head["type"] != "sealroom.tree-head"
        or not is_count(head["tree_size"])
        or not all(isinstance(head[f], str) for f in ("log", "root_hash", "timestamp", "signature"))
        or not SHA256_HEX.match(head["root_hash"])
    ):
        raise Failure(where, "the receipt's tree head is not a version 1 signed tree head")


def check_receipts(session: Session, chain: Chain, witness: WitnessKeys | None) -> dict[str, Any]:
    """Every receipt of the session, in name order; the first that does not hold fails."""
    trusted = witness.keys if witness is not None else {}
    names = sorted(f for f in session.files if f.startswith(WITNESS_DIR))
    witnessed: list[int] = []
    lateness: dict[str, float] = {}
    logs: set[str] = set()
    seal_witnessed = False
    for name in names:
        where = session.where(name)
        if name == SEAL_RECEIPT:
            seq, head_name = None, "manifest.json"
        else:
            stem = name[len(WITNESS_DIR) :].removesuffix(".json")
            if not (len(stem) == 6 and stem.isdigit() and name == f"witness/{stem}.json"):
                raise Failure(
                    where,
                    "object is not part of the session (the witness folder holds only receipts)",
                )
            seq, head_name = int(stem), f"chain/{stem}.json"
        receipt = load_canonical((session.dir / name).read_bytes(), where)
        check_receipt_form(receipt, where)
        entry, head = receipt["entry"], receipt["tree_head"]
        if entry["session"] != session.session_id:
            raise Failure(where, f"a receipt for session {entry['session']}")
        if entry["fork"]:
            raise Failure(where, "a fork the witness refused is not a receipt")
        if entry["kind"] != ("seal" if seq is None else "link") or entry.get("seq") != seq:
            raise Failure(where, "the receipt is for another head than its name says")
        if head_name not in session.files:
            what = "the seal" if seq is None else f"link {seq}"
            raise Failure(
                where,
                f"the witness holds {what} of this session, which is gone: "
                "it was removed after it was witnessed",
            )
        body = (session.dir / head_name).read_bytes()
        if sha256_hex(body) != entry["sha256"]:
            raise Failure(
                where,
                f"{head_name} is not the one the witness received at "
                f"{entry['received_at']}: it was replaced after it was witnessed",
            )
        key = trusted.get(head["log"])
        if key is None:
            raise Failure(
                where,
                f"signed by witness key sha256:{head['log']}, which is not a "
                "trusted witness key (give it with --witness-key)",
            )
        signed = canonical({k: v for k, v in head.items() if k != "signature"})
        try:
            signature = bytes.fromhex(head["signature"])
        except ValueError as exc:
            raise Failure(where, "the tree head's signature is not hex") from exc
        check_signature(key, signature, signed, where)
        proof = [bytes.fromhex(p) for p in receipt["inclusion"]]
        if not verify_inclusion(
            receipt["leaf_index"],
            head["tree_size"],
            leaf_hash(canonical(entry)),
            proof,
            bytes.fromhex(head["root_hash"]),
        ):
            raise Failure(where, "the entry is not in the witness's signed tree")
        logs.add(head["log"])
        signed_at = json.loads(body)["ended_at" if seq is None else "time"]
        lateness[head_name] = (
            parse_time(entry["received_at"]) - parse_time(signed_at)
        ).total_seconds()
        if seq is None:
            seal_witnessed = True
        else:
            witnessed.append(seq)
    return {
        "links": len(witnessed),
        "of": chain.length,
        "seal": seal_witnessed,
        "lateness": lateness,
        "logs": sorted(logs),
    }


def report_witness(
    found: dict[str, Any], witness: WitnessKeys, report: Callable[[str], None]
) -> None:
    if not found["links"] and not found["seal"]:
        report("Witness:        NOT YET WITNESSED: no receipt from the off-box witness (reported,")
        report("  not a sign of tampering: the witness may have been unreachable)")
        return
    seal = " and the seal" if found["seal"] else ""
    report(f"Witness:        {found['links']} of {found['of']} links{seal} have receipts")
    late = max(found["lateness"].values())
    report(f"  each in the witness's signed log; received at most {late:.1f} s after signing")
    for log in found["logs"]:
        fingerprint = ":".join(log[i : i + 2].upper() for i in range(0, len(log), 2))
        report(f"  witness key SHA-256 {fingerprint} ({witness.origin()})")
    if not witness.independent:
        for line in WITNESS_UNPINNED:
            report(f"  {line}")


# -- 6. the package's signature: what the exporting installation vouches for -------------------


def parse_listing(body: bytes) -> dict[str, str]:
    """PACKAGE-SHA256SUMS as ``sha256sum`` writes it: file -> SHA-256."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Failure(PACKAGE_SUMS, "not UTF-8 text") from exc
    listing: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, separator, name = line.partition("  ")
        if not separator or not SHA256_HEX.match(digest) or not name or name in listing:
            raise Failure(PACKAGE_SUMS, f"line {number} is not '<sha256>  <file>'")
        listing[name] = digest
    return listing


class Exporter:
    """PACKAGE-SHA256SUMS, signed by the installation that exported the package.

    The exporter's certificate must chain to the trust root the device's chains to, so the
    one fingerprint the reader compares anchors both. Nothing the exporter wrote (clip.json,
    NOT-INCLUDED.txt, custody.json, the READMEs, the player) is believed until the
    signature verifies and the file's digest is the one the exporter signed.
    """

    def __init__(self, package: Path) -> None:
        self.package = package
        self.body = self.require(PACKAGE_SUMS, "missing: the package has no list of its files")
        signature = self.require(
            PACKAGE_SIG,
            "missing: the package is not signed by the installation that exported it, so "
            "nothing it says about itself (clip, custody, files) can be trusted",
        )
        key_data = self.require(EXPORTER_KEY, "missing: the exporter's key checks " + PACKAGE_SIG)
        self.key = load_public_key(key_data, EXPORTER_KEY)
        self.algorithm = algorithm_of(self.key)
        check_signature(self.key, signature, self.body, PACKAGE_SUMS)
        self.listing = parse_listing(self.body)
        self.subject = ""

    def require(self, name: str, reason: str) -> bytes:
        path = self.package / name
        if not path.is_file():
            raise Failure(name, reason)
        return path.read_bytes()

    def check_pin(self, pin: str | None, report: Callable[[str], None]) -> None:
        """With --expect-exporter: the exporter's key is the one whose fingerprint is given."""
        key_sha = sha256_hex(key_der(self.key))
        report(f"  exporter key SHA-256 {fingerprint(key_der(self.key))}")
        if pin is None:
            return
        if key_sha != hex_of(pin):
            raise Failure(
                EXPORTER_KEY,
                "the exporter's key is not the one whose fingerprint you expect "
                "(--expect-exporter)",
            )
        report("  matches the fingerprint you gave (--expect-exporter)")

    def anchor(self, root: TrustRoot, exported_at: str) -> None:
        """The exporter's key is certified under ``root`` (or is the pinned root key)."""
        if root.certificate is None:
            if sha256_hex(key_der(self.key)) != root.key_sha256:
                raise Failure(EXPORTER_KEY, "the exporter's key is not the trusted key")
            self.subject = f"pinned public key sha256:{root.key_sha256}"
            return
        found = load_certificates(self.require(EXPORTER_CERT, "missing"), EXPORTER_CERT)
        if len(found) != 1:
            raise Failure(EXPORTER_CERT, "expected exactly one certificate")
        certificate = found[0]
        if key_der(certificate.public_key()) != key_der(self.key):
            raise Failure(EXPORTER_CERT, "certificate does not match the exporter's key")
        intermediates: list[x509.Certificate] = []
        if (self.package / EXPORTER_CHAIN).is_file():
            intermediates = load_certificates(self.require(EXPORTER_CHAIN, ""), EXPORTER_CHAIN)
        check_path(
            certificate, intermediates, root.certificate, parse_time(exported_at), EXPORTER_CERT
        )
        self.subject = certificate.subject.rfc4514_string()

    def statement(self, name: str) -> bytes | None:
        """A file the exporter wrote, exactly as signed; None when the package has none."""
        path = self.package / name
        listed = self.listing.get(name)
        if not path.is_file():
            if listed is not None:
                raise Failure(name, "file was removed from the package after it was exported")
            return None
        if listed is None:
            raise Failure(name, "file was added to the package after it was exported")
        data = path.read_bytes()
        if sha256_hex(data) != listed:
            raise Failure(name, "file changed since the package was exported")
        return data


# -- 7. the clip -------------------------------------------------------------------------------


class Clip:
    """clip.json: a span of the session, the segments it covers, and the chain values."""

    def __init__(self, data: bytes) -> None:
        self.where = CLIP_PROOF
        try:
            self.doc = json.loads(data.decode("utf-8"))
            self.start_us = int(self.doc["start_us"])
            self.end_us = int(self.doc["end_us"])
            self.segments = list(self.doc["segments"])
            self.link_hashes = [str(h) for h in self.doc["link_hashes"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Failure(self.where, f"malformed clip proof ({exc})") from exc
        if self.doc.get("type") != "sealroom.clip-proof" or self.doc.get("v") != 1:
            raise Failure(self.where, "not a version 1 sealroom clip proof")

    def covers(self, segment: dict[str, Any]) -> bool:
        """Whether the span touches the sealed segment: only the span decides what may be
        left out, never the list of segments the proof claims."""
        start: int = segment["start_us"]
        end: int = start + segment["duration_us"]
        return start < self.end_us and end > self.start_us

    def check(self, session: Session, result: dict[str, Any]) -> None:
        """The clip's claims against the verified chain and manifest."""
        links = result["chain_length"]
        computed = [
            sha256_hex((session.dir / f"chain/{seq:06d}.json").read_bytes()) for seq in range(links)
        ]
        if self.doc.get("session") != session.session_id:
            raise Failure(self.where, f"the clip is of session {self.doc.get('session')}")
        for seq, value in enumerate(computed):
            if seq >= len(self.link_hashes) or self.link_hashes[seq] != value:
                raise Failure(
                    self.where, f"chain value {seq} is not the hash of chain/{seq:06d}.json"
                )
        if len(self.link_hashes) != len(computed):
            raise Failure(
                self.where,
                f"the clip holds {len(self.link_hashes)} chain values; the chain has {links} links",
            )
        if self.doc.get("head_hash") != result["head"] or self.doc.get("head_seq") != links - 1:
            raise Failure(self.where, "the clip's head is not the signed head")
        manifest_bytes = (session.dir / "manifest.json").read_bytes()
        if self.doc.get("manifest_sha256") != sha256_hex(manifest_bytes):
            raise Failure(self.where, "the clip was not made from this manifest")
        if not 0 <= self.start_us < self.end_us <= result["manifest"]["duration_us"]:
            raise Failure(self.where, "the clip's span is outside the recording")
        covered = [s for s in result["segments"] if self.covers(s)]
        fields = ("index", "name", "sha256", "size", "start_us", "duration_us", "track")
        claimed = [{f: s.get(f) for f in fields} for s in self.segments]
        if claimed != [{f: s.get(f) for f in fields} for s in covered]:
            raise Failure(
                self.where, "the clip's segments are not the sealed segments its span covers"
            )

    def check_left_out(self, listed: bytes | None, segments: list[dict[str, Any]]) -> None:
        """NOT-INCLUDED.txt names exactly the sealed segments outside the span."""
        expected = [segment_path(s) for s in segments if not self.covers(s)]
        if listed is None:
            raise Failure(NOT_INCLUDED, "missing: a clip lists the sealed segments it leaves out")
        if listed.decode("utf-8", "replace").split() != expected:
            raise Failure(
                NOT_INCLUDED,
                "does not list exactly the sealed segments outside the clip's span "
                f"(expected {', '.join(expected) or 'none'})",
            )


# -- 8. the custody excerpt (format section 10) ------------------------------------------------

CUSTODY_FIELDS = ("seq", "at", "actor", "role", "action", "session", "detail")
# Kept at the issuing office, never in a package: where people were, what they used, and
# what they wrote for themselves.
CUSTODY_WITHHELD = ("ip", "user_agent", "note", "reason")


class Custody:
    """custody.json: who did what to this session, when and in which role, as the exporting
    office's log had it, without IP addresses, browsers, private notes or other units' rows.

    It is the exporter's signed statement (checked first, with the package's signature).
    Each entry's ``seq`` is its row in the office's log, which the office checks against its
    signed checkpoints (``sealroom custody verify``); the rows' hashes stay there, because
    they cover the fields withheld for privacy.
    """

    def __init__(self, data: bytes | None, session_id: str) -> None:
        if data is None:
            raise Failure(CUSTODY, "missing: the package's custody excerpt")
        try:
            excerpt = json.loads(data.decode("utf-8"))
            self.entries = list(excerpt["entries"])
            self.taken_at = str(excerpt["taken_at"])
            session = excerpt.get("session")
            version = excerpt.get("v")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Failure(CUSTODY, f"malformed custody excerpt ({exc})") from exc
        if version != 2:
            raise Failure(CUSTODY, f"unknown custody excerpt version {version!r} (expected 2)")
        if session != session_id:
            raise Failure(CUSTODY, f"the excerpt is of session {session}, not {session_id}")
        if not is_time(self.taken_at):
            raise Failure(CUSTODY, "taken_at is not a UTC timestamp")
        self.session_id = session_id

    def check(self) -> None:
        previous = 0
        for entry in self.entries:
            if not isinstance(entry, dict) or sorted(entry) != sorted(CUSTODY_FIELDS):
                raise Failure(CUSTODY, f"malformed custody entry: fields {CUSTODY_FIELDS}")
            seq = entry["seq"]
            if not is_count(seq, 1):
                raise Failure(CUSTODY, f"custody entry {seq!r} has no row number")
            if seq <= previous:
                raise Failure(CUSTODY, f"custody entry {seq} is out of order")
            if entry["session"] != self.session_id:
                raise Failure(CUSTODY, f"custody entry {seq} is of another session")
            if not isinstance(entry["at"], str) or not TIMESTAMP.match(entry["at"]):
                raise Failure(CUSTODY, f"custody entry {seq}: 'at' is not a UTC timestamp")
            if entry["at"] > self.taken_at:
                raise Failure(CUSTODY, f"custody entry {seq} is later than the export")
            for name in ("actor", "role", "action"):
                if not isinstance(entry[name], str) or not entry[name]:
                    raise Failure(CUSTODY, f"custody entry {seq}: {name!r} is not text")
            detail = entry["detail"]
            if not isinstance(detail, dict):
                raise Failure(CUSTODY, f"custody entry {seq}: detail is not an object")
            withheld = sorted(set(detail) & set(CUSTODY_WITHHELD))
            if withheld:
                raise Failure(
                    CUSTODY,
                    f"custody entry {seq} carries {', '.join(withheld)}, which the issuing "
                    "office keeps to itself",
                )
            previous = seq


# -- 9. the package's own files ----------------------------------------------------------------


def check_package_files(package: Path, listing: dict[str, str], known: dict[str, str]) -> int:
    """The files here are exactly those the exporter signed. ``known`` holds digests computed
    already (the segments), so the media is read once."""
    # Every file counts, whatever its name or directory (even __pycache__): anything the
    # exporter did not sign was put there by someone else. Only files and directories.
    only_files_and_directories(package, shown)
    present = sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.relative_to(package).as_posix() not in (PACKAGE_SUMS, PACKAGE_SIG)
    )
    for name in present:
        if name not in listing:
            raise Failure(shown(name), "file was added to the package after it was exported")
        digest = known.get(name) or sha256_file(package / name)[1]
        if digest != listing[name]:
            raise Failure(shown(name), "file changed since the package was exported")
    for name in listing:
        if name not in present:
            raise Failure(shown(name), "file was removed from the package after it was exported")
    return len(present)


# -- 10. time-stamp tokens (format section "Time-stamp tokens") -------------------------------

TSA_ROOT = "tsa-ca.pem"
SHA256_OID = "2.16.840.1.101.3.4.2.1"


class TimeStampsNotChecked(UsageProblem):
    """The session has time-stamp tokens that this machine cannot check (exit status 2)."""


def token_names(links: int) -> set[str]:
    """Where tokens may sit: beside each link and beside the manifest."""
    return {f"chain/{seq:06d}.tsr" for seq in range(links)} | {"manifest.tsr"}


class TimeStamps:
    """RFC 3161 tokens beside the files they stamp. Checking one needs ``rfc3161-client``;
    without it (or without the authority's root) the tokens are reported as not checked."""

    def __init__(
        self, package: Path, root_file: Path | None, *, skip: bool, pin: str | None = None
    ) -> None:
        self.skip = skip
        self.given = root_file is not None
        self.pin = pin
        self.root_label = str(root_file or TSA_ROOT)
        self.root_file = root_file or package / TSA_ROOT
        self.times: dict[str, datetime] = {}  # token -> the authority's time
        self.unchecked: list[str] = []
        self.why_not = ""
        self.rfc3161: Any = None
        self.roots: list[x509.Certificate] = []
        try:
            import rfc3161_client
        except ImportError:
            self.why_not = (
                "checking them needs the rfc3161-client package (pip install rfc3161-client)"
            )
            return
        if not self.root_file.is_file():
            self.why_not = f"the time-stamp authority's root is missing ({self.root_label})"
            return
        self.rfc3161 = rfc3161_client
        self.roots = load_certificates(self.root_file.read_bytes(), self.root_label)
        self.check_pin()

    def check_pin(self) -> None:
        """With --expect-tsa: every root (self-signed) in the file is the pinned one."""
        if self.pin is None:
            return
        for certificate in self.roots:
            der = certificate.public_bytes(serialization.Encoding.DER)
            if certificate.subject == certificate.issuer and sha256_hex(der) != hex_of(self.pin):
                raise Failure(
                    self.root_label,
                    "the time-stamp authority's root is not the one whose fingerprint you "
                    "expect (--expect-tsa)",
                )

    @property
    def can_check(self) -> bool:
        return self.rfc3161 is not None

    def tsa_time(self, session: Session, relative: str, data: bytes) -> datetime:
        """Check the token beside ``relative`` against ``data``; the authority's time."""
        token = relative[: -len(".json")] + ".tsr"
        where = session.where(token)
        if token in self.times:
            return self.times[token]
        rfc = self.rfc3161
        try:
            response = rfc.decode_timestamp_response((session.dir / token).read_bytes())
        except ValueError as exc:
            raise Failure(where, f"not a time-stamp token ({exc})") from exc
        imprint = response.tst_info.message_imprint
        if imprint.hash_algorithm.dotted_string != SHA256_OID:
            raise Failure(where, "the token does not stamp a SHA-256")
        if imprint.message != hashlib.sha256(data).digest():
            raise Failure(where, "the token stamps other data, not the file beside it")
        builder = rfc.VerifierBuilder()
        for certificate in self.roots:
            if certificate.subject == certificate.issuer:
                builder = builder.add_root_certificate(certificate)
            else:
                builder = builder.add_intermediate_certificate(certificate)
        try:
            builder.build().verify_message(response, data)
        except (rfc.VerificationError, ValueError) as exc:
            raise Failure(
                where, f"the token does not verify against the time-stamp authority's root ({exc})"
            ) from exc
        when = response.tst_info.gen_time
        self.times[token] = when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # noqa: UP017
        return self.times[token]

    def start_time(self, session: Session, link0: bytes, device_time: str) -> str | None:
        """The authority's time for link 0, as the time to check the certificate at."""
        if not self.can_check or "chain/000000.tsr" not in session.files:
            return None
        when = self.tsa_time(session, "chain/000000.json", link0)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def check(
        self, session: Session, result: dict[str, Any], report: Callable[[str], None]
    ) -> None:
        """Every token, in the order the files were written; report each one's times."""
        stamped = []
        for seq in range(result["chain_length"]):
            name = f"chain/{seq:06d}.json"
            stamped.append((name, load_canonical(session.read(name), name)["time"]))
        stamped.append(("manifest.json", result["manifest"]["ended_at"]))
        present = [(n, t) for n, t in stamped if n[: -len(".json")] + ".tsr" in session.files]
        if not present:
            return
        if not self.can_check:
            self.unchecked = [n[: -len(".json")] + ".tsr" for n, _ in present]
            report(f"Time-stamps:    {len(present)} token(s) NOT checked: {self.why_not}")
            return
        root = self.roots[0]
        report(
            f"Time-stamps:    {len(present)} token(s), each checked against the authority's root"
        )
        report(f"  authority root: {self.root_label} ({root.subject.rfc4514_string()})")
        report("  (the authority's times are read to the second)")
        der = root.public_bytes(serialization.Encoding.DER)
        report(f"  SHA-256 fingerprint: {fingerprint(der)}")
        if self.pin is not None:
            report("  matches the fingerprint you gave (--expect-tsa)")
        elif not self.given:
            for line in TSA_UNPINNED:
                report(f"  {line}")
        previous: tuple[str, datetime] | None = None
        for name, device_time in present:
            when = self.tsa_time(session, name, session.read(name))
            if previous is not None and when < previous[1]:
                raise Failure(
                    session.where(name[: -len(".json")] + ".tsr"),
                    f"stamped at {when.isoformat()}, before {previous[0]} was stamped: a "
                    "token was moved or replaced",
                )
            previous = (name, when)
            late = (when - parse_time(device_time)).total_seconds()
            report(f"  {name}  stamped {when:%Y-%m-%d %H:%M:%S}Z  ({late:+.1f} s from the device)")
        if "chain/000000.tsr" in session.files:
            report("  the signer's certificate was checked at the authority's time for link 0")

    def conclude(self, report: Callable[[str], None]) -> None:
        """Tokens that could not be checked are not a pass: say so, unless asked to skip."""
        if not self.unchecked:
            return
        if self.skip:
            report(f"  {len(self.unchecked)} time-stamp token(s) NOT checked (--skip-time-stamps)")
            return
        raise TimeStampsNotChecked(
            f"everything else verified, but {len(self.unchecked)} time-stamp token(s) could "
            f"not be checked: {self.why_not} (or pass --skip-time-stamps)"
        )


# -- the report --------------------------------------------------------------------------------


def session_directories(package: Path) -> list[Path]:
    """The directories under sessions/. None at all: this is not a package (usage error)."""
    sessions = package / "sessions"
    found = sorted(p for p in sessions.iterdir() if p.is_dir()) if sessions.is_dir() else []
    if not found:
        raise UsageProblem(
            f"{package} is not a sealroom export package (expected a sessions/<id>/ directory)"
        )
    return found


def signed_session(package: Path, found: list[Path], listing: dict[str, str]) -> Path:
    """The one session whose files the exporter signed. Any other directory under sessions/
    (another session, or this one renamed) was put there after the export: not intact."""
    signed = {name.split("/")[1] for name in listing if re.match(r"sessions/[^/]+/.", name)}
    if len(signed) != 1 or not SESSION_ID.fullmatch(next(iter(signed))):
        raise Failure(PACKAGE_SUMS, "does not list the files of exactly one session")
    session_id = signed.pop()
    for directory in found:
        if directory.name != session_id:
            raise Failure(
                f"sessions/{directory.name}/",
                f"directory is not the exported session {session_id}: a package holds one "
                "session, and this one was added (or the session renamed) after the export",
            )
    return package / "sessions" / session_id


def verify(
    package: Path,
    root_file: Path | None,
    expect_root: str | None,
    report: Callable[[str], None] = say,
    *,
    tsa_root: Path | None = None,
    skip_time_stamps: bool = False,
    witness_keys: list[Path] | None = None,
    expect_witness: list[str] | None = None,
    expect_tsa: str | None = None,
    expect_exporter: str | None = None,
) -> dict[str, Any]:
    """Verify ``package``; raise Failure at the first thing that does not verify. Returns
    what the session's check found (signer, manifest, chain, segments)."""
    found = session_directories(package)
    # Before any file is read: a link could point out of the package, at a file that passes.
    only_files_and_directories(package, shown)
    root = TrustRoot(root_file or package / TRUST_ROOT, str(root_file or TRUST_ROOT))
    report(f"Package:        {package}")
    report(f"Trust root:     {root.label} ({root.subject})")
    report(f"  SHA-256 fingerprint: {root.fingerprint}")
    if expect_root:
        wanted = re.sub(r"[^0-9A-F]", "", expect_root.upper())
        if wanted != root.fingerprint.replace(":", ""):
            raise Failure(root.label, "the trust root is not the one whose fingerprint you expect")
        report("  matches the fingerprint you gave (--expect-root)")
    elif root_file:
        report("  the root you gave (--root), not the one the package carries")
    else:
        report("  Compare it with the fingerprint the procuracy publishes: a package can")
        report("  carry a root of anyone's making (or pass it with --expect-root).")
    # The exporter's signature first: clip.json, NOT-INCLUDED.txt and custody.json decide
    # what may be missing and what is reported, so they are read only as signed.
    exporter = Exporter(package)
    session_dir = signed_session(package, found, exporter.listing)
    custody = Custody(exporter.statement(CUSTODY), session_dir.name)
    exporter.anchor(root, custody.taken_at)
    report(f"Exporter:       {exporter.subject}  ({exporter.algorithm})")
    report(f"  signed {PACKAGE_SIG} at {custody.taken_at}; chains to the same trust root")
    exporter.check_pin(expect_exporter, report)
    clip_data = exporter.statement(CLIP_PROOF)
    clip = Clip(clip_data) if clip_data is not None else None
    not_included = exporter.statement(NOT_INCLUDED)
    stamps = TimeStamps(package, tsa_root, skip=skip_time_stamps, pin=expect_tsa)
    witness = WitnessKeys(package, witness_keys or [], expect_witness)
    session = Session(package, session_dir, root, clip, stamps, witness)
    result = session.run()
    manifest = result["manifest"]
    report(f"Signer:         {result['signer']}  ({result['algorithm']})")
    certificate = result["certificate"]
    if certificate is not None:
        report(
            f"  valid from {not_before(certificate):%Y-%m-%d %H:%M:%S}Z "
            f"to {not_after(certificate):%Y-%m-%d %H:%M:%S}Z; chains to the trust root"
        )
    report(f"Session:        {session.session_id}")
    report(f"  case number:  {manifest['metadata'].get('case_number')}")
    report(f"  started:      {manifest['started_at']}")
    recovered = manifest.get("recovered_at")
    report(
        f"  ended:        {manifest['ended_at']}"
        + ("  (interrupted" if manifest["interrupted"] else "")
        + (f"; recovered {recovered})" if recovered else ")" if manifest["interrupted"] else "")
    )
    report(f"  duration:     {clock(manifest['duration_us'])} (pauses excluded)")
    report(f"Chain:          {result['chain_length']} links, every one signed, unbroken")
    report(f"  head:         {result['head']}")
    report_witness(result["witness"], witness, report)
    report("Manifest:       signed, and exactly what the chain implies")
    report("SHA256SUMS:     signed, lists exactly the session's files")
    segments = result["segments"]
    included = [s for s in segments if s not in session.absent]
    report(f"Segments:       {len(included)} verified of {len(segments)} sealed")
    for segment in segments:
        state = "not included (outside the clip)" if segment in session.absent else "OK"
        start = clock(segment["start_us"])
        report(f"  {segment_path(segment)}  {start}  sha256 {segment['sha256']}  {state}")
    if clip is not None:
        clip.check(session, result)
        clip.check_left_out(not_included, segments)
        report(
            f"Clip:           {clock(clip.start_us)} to {clock(clip.end_us)} of the recording, "
            f"{len(clip.segments)} segment(s), chain values match the signed head"
        )
    elif not_included is not None:
        raise Failure(NOT_INCLUDED, "a whole-session package leaves nothing out")
    custody.check()
    count = len(custody.entries)
    report(f"Custody:        {count} entries of this session up to the export: who did what,")
    report("  when and in which role, in order. This is the issuing office's signed statement")
    report("  of its log (each seq is a row there), not a proof that nothing was left out.")
    known = {
        session.where(relative): digest
        for relative, digest in session.digests.items()
        if relative in session.files
    }
    files = check_package_files(package, exporter.listing, known)
    report(f"Package files:  {files} files, exactly as exported and signed ({PACKAGE_SUMS})")
    stamps.check(session, result, report)
    report("")
    report("What the signatures prove:")
    report(f"  the device's ({result['signer']}): the recording. Every segment")
    report("    listed OK is byte for byte what the room device sealed, in the sealed order.")
    selection = "these segments, the clip's span" if clip else "the whole recording"
    report(f"  the exporter's ({exporter.subject}): the selection. That")
    report(f"    installation issued this package with these files: {selection},")
    report("    and the custody excerpt as its office recorded it.")
    found = result["witness"]
    if found["links"] or found["seal"]:
        if witness.independent:
            report(f"  the witness's ({witness.origin()}): what it received, off the box, and")
            report("    when; a copy shortened and sealed again lacks the receipts it gave.")
        else:
            report("  the witness's receipts: NOTHING, until their key is pinned (see Witness)")
    result["witness_independent"] = witness.independent
    result["tsa_unpinned"] = bool(stamps.times) and not stamps.given and stamps.pin is None
    stamps.conclude(report)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify a sealroom export package. Exit 0 intact, 1 not intact, 2 usage."
    )
    parser.add_argument(
        "package",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="the package directory (default: the directory holding verify.py)",
    )
    parser.add_argument("--root", type=Path, help="a trust root obtained independently (PEM)")
    parser.add_argument(
        "--expect-root", metavar="SHA256", help="the published SHA-256 fingerprint of the root"
    )
    parser.add_argument(
        "--tsa-root", type=Path, help="a time-stamp authority's root obtained independently (PEM)"
    )
    parser.add_argument(
        "--witness-key",
        action="append",
        default=[],
        type=Path,
        help="the witness's public key (PEM), obtained independently; repeatable",
    )
    parser.add_argument(
        "--expect-witness",
        action="append",
        default=[],
        metavar="SHA256",
        help="the published SHA-256 fingerprint of the witness's key (its DER); repeatable",
    )
    parser.add_argument(
        "--expect-tsa",
        metavar="SHA256",
        help="the published SHA-256 fingerprint of the time-stamp authority's root",
    )
    parser.add_argument(
        "--expect-exporter",
        metavar="SHA256",
        help="the published SHA-256 fingerprint of the exporting installation's key (its DER)",
    )
    parser.add_argument(
        "--skip-time-stamps",
        action="store_true",
        help="verify everything else when the time-stamp tokens cannot be checked",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        return 2 if done.code else 0
    try:
        result = verify(
            args.package.resolve(),
            args.root,
            args.expect_root,
            tsa_root=args.tsa_root,
            skip_time_stamps=args.skip_time_stamps,
            witness_keys=args.witness_key,
            expect_witness=args.expect_witness,
            expect_tsa=args.expect_tsa,
            expect_exporter=args.expect_exporter,
        )
    except TimeStampsNotChecked as unchecked:
        say()
        say("RESULT: NOT CHECKED")
        say(f"  reason: {unchecked}")
        return 2
    except UsageProblem as problem:
        print(f"verify.py: {problem}", file=sys.stderr)
        return 2
    except Failure as failure:
        say()
        say("RESULT: NOT INTACT")
        say(f"  file:   {failure.where}")
        say(f"  reason: {failure.reason}")
        return 1
    say()
    say("RESULT: INTACT")
    if args.root is None and not args.expect_root:
        # Checked against the root the package itself carries: say so where the verdict is.
        say(f"  {UNPINNED}")
    if not result["witness_independent"] and (
        result["witness"]["links"] or result["witness"]["seal"]
    ):
        say("  The witness's receipts are not part of this result: their key came with the")
        say("  package (compare its fingerprint, or pass it with --expect-witness).")
    if result["tsa_unpinned"]:
        say("  The time-stamp tokens were checked against the authority's root the package")
        say("  carries (compare its fingerprint, or pass it with --expect-tsa).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
