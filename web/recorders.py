"""How the console reaches a room's recorder: with that room's own token, and only once the
recorder has proven it is that room.

- **A credential per room.** Each room's bearer token is ``HMAC-SHA256(room key, room
  code)``: the console derives it when it needs it and stores none, and a room's appliance
  holds only its own (``sealroom room-credential ROOM``). A token that leaks opens one
  room, never every room. The room key is a secret of the installation, shared by the
  console replicas: ``$SEALROOM_ROOM_KEY``, ``[console] room_key_file``, else
  ``<data_dir>/room-key`` generated once (0600).
- **Identity before anything is sent.** A room's address is ``https://``: the recorder's
  certificate must chain to the installation's CA (``[console] recorder_ca_file``, default
  ``<data_dir>/ca/ca.pem``) and name the room (``sealroom ca room``), or the console sends
  nothing (``recorder.control.RecorderClient``). Pointing a room at a server of one's own,
  or at another room's appliance, yields no token and no "recording" on the terminal.
  ``http://`` is accepted on the loopback interface only (``sealroom run``'s own room); the
  administration pages register ``https://`` addresses alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

from evidence_store import PRIVATE, NameTaken, UsageError, write_once
from recorder.control import RecorderClient, RecorderIdentity, is_loopback
from web.settings import ConsoleSettings

ROOM_KEY_ENV = "SEALROOM_ROOM_KEY"
ROOM_KEY_FILE = "room-key"
TOKEN_LABEL = b"sealroom-recorder-token\0"
MIN_ROOM_KEY = 32
TIMEOUT_SECONDS = 5.0


def room_key(root: Path, settings: ConsoleSettings) -> bytes:
    """The installation's room key: from the environment or a file; generated once into the
    data directory when neither names one."""
    if from_env := os.environ.get(ROOM_KEY_ENV, "").strip():
        key = from_env.encode()
    else:
        path = settings.room_key_file or root / ROOM_KEY_FILE
        if settings.room_key_file is None and not path.exists():
            # Whole or absent, never half-written; a replica starting alongside may win.
            with suppress(NameTaken):
                write_once(path, secrets.token_urlsafe(48).encode(), mode=PRIVATE)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the room key {path}: {exc.strerror}") from exc
    if len(key) < MIN_ROOM_KEY:
        raise UsageError(f"the room key must be at least {MIN_ROOM_KEY} bytes (${ROOM_KEY_ENV})")
    return key


def room_token(key: bytes, room_code: str) -> str:
    """The bearer token of one room's recorder (and of that room alone)."""
    digest = hmac.new(key, TOKEN_LABEL + room_code.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_recorder_url(url: str, *, loopback_http: bool = False) -> str:
    """``url`` if it can be a room's recorder address: ``https://host:port`` (``http://`` on
    the loopback interface too, where ``loopback_http``); UsageError otherwise."""
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise UsageError(f"{url!r} is not a recorder address") from None
    plain_ok = loopback_http and parts.scheme == "http" and is_loopback(parts.hostname or "")
    if parts.scheme != "https" and not plain_ok:
        raise UsageError(
            "a recorder is reached over TLS: its address is https://host:port "
            "(its certificate from the installation's CA names the room)"
        )
    if not parts.hostname or parts.query or parts.fragment or parts.username:
        raise UsageError(f"{url!r} is not a recorder address (https://host:port)")
    return url


def recorder_ca(root: Path, settings: ConsoleSettings) -> Path:
    """The CA a recorder's certificate must chain to."""
    return settings.recorder_ca_file or root / "ca" / "ca.pem"


def recorder_client(root: Path, settings: ConsoleSettings, code: str, url: str) -> RecorderClient:
    """A client for room ``code``'s recorder at ``url``, with that room's token, that checks
    the recorder's identity before it sends anything."""
    identity = None
    if url.startswith("https://"):
        identity = RecorderIdentity(room=code, ca_file=recorder_ca(root, settings))
    token = room_token(room_key(root, settings), code)
    return RecorderClient(url, token, timeout=TIMEOUT_SECONDS, identity=identity)
