"""Where each object of a session lives. One session is one key prefix, in every store.

sessions/<id>/chain/000000.json     link 0 (canonical JSON)
sessions/<id>/chain/000000.sig      device signature over the link's bytes (= the head)
sessions/<id>/segments/000000.mp4   media segment 0
sessions/<id>/segments/cam1/000000.mp4  segment 0 of track cam1 (passthrough sessions)
sessions/<id>/signer/public_key.pem SubjectPublicKeyInfo of the device key
sessions/<id>/signer/certificate.pem  leaf certificate, when the key has one
sessions/<id>/signer/chain.pem      intermediate certificates, when there are any
sessions/<id>/SHA256SUMS            ``sha256sum -c`` list of every file above
sessions/<id>/SHA256SUMS.sig        device signature over SHA256SUMS
sessions/<id>/manifest.json         the sealed manifest (canonical JSON)
sessions/<id>/manifest.sig          device signature over manifest.json
sessions/<id>/witness/000000.json   the off-box witness's receipt for link 0 (added when it
                                    answers, so after the seal too; never in SHA256SUMS)
sessions/<id>/witness/manifest.json the witness's receipt for the seal
sessions/<id>/chain/000000.tsr      an RFC 3161 time-stamp token over the link beside it, and
sessions/<id>/manifest.tsr          over the manifest, when stamped (``evidence_store.tokens``)
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from evidence_store.errors import UsageError
from evidence_store.timefmt import utc_now

SESSIONS = "sessions"
SESSION_ID_RE = re.compile(r"^s-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")

PUBLIC_KEY = "signer/public_key.pem"
CERTIFICATE = "signer/certificate.pem"
CERT_CHAIN = "signer/chain.pem"
CHECKSUMS = "SHA256SUMS"
CHECKSUMS_SIG = "SHA256SUMS.sig"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
WITNESS_DIR = "witness/"
SEAL_RECEIPT = "witness/manifest.json"


def new_session_id(now: datetime | None = None) -> str:
    """A sortable, unguessable id: ``s-20261122T235911Z-1a2b3c4d``."""
    moment = now or utc_now()
    return f"s-{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def check_session_id(session_id: str) -> str:
    """Reject anything that is not a session id, so it can never name another path."""
    if not SESSION_ID_RE.fullmatch(session_id):
        raise UsageError(f"not a session id: {session_id!r} (expected s-YYYYMMDDTHHMMSSZ-xxxxxxxx)")
    return session_id


def session_prefix(session_id: str) -> str:
    return f"{SESSIONS}/{check_session_id(session_id)}/"


def link_name(seq: int) -> str:
    return f"chain/{seq:06d}.json"


def link_sig_name(seq: int) -> str:
    return f"chain/{seq:06d}.sig"


def segment_name(index: int) -> str:
    return f"{index:06d}.mp4"


def segment_path(index: int, track: str | None = None) -> str:
    """``segments/NNNNNN.mp4``, or ``segments/<track>/NNNNNN.mp4`` for a track's segment."""
    if track is None:
        return f"segments/{segment_name(index)}"
    return f"segments/{track}/{segment_name(index)}"


def receipt_name(seq: int) -> str:
    """The witness's receipt for link ``seq``."""
    return f"witness/{seq:06d}.json"


def shown_name(name: str) -> str:
    """A file name as every message prints it: control characters (a line break that would
    make one name read as two) and the backslash escaped, as the hand procedure escapes them."""
    special = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return "".join(
        special.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
        for c in name
    )


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def first_control_name(relative: str) -> str | None:
    """The path up to its first part whose name holds a control character, if any."""
    parts = relative.split("/")
    for end, part in enumerate(parts, 1):
        if CONTROL.search(part):
            return "/".join(parts[:end])
    return None
