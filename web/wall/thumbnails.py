"""The wall's live pictures: each recording room's preview, scaled down for its tile.

A room's recorder encodes a preview on request, and a wall may be open on many supervisors'
screens at once, each asking every few seconds. So the console asks each room at most once
per ``MAX_AGE`` whoever is watching: the first request after that fetches (the others for the
same room wait for it rather than asking too), and every viewer is served the same picture.
A failure is kept just as long, so a recorder that does not answer is not asked again by
every viewer either. The cache is per console process.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from evidence_store import SealroomError
from recorder.control import (
    RecorderAuthError,
    RecorderClient,
    RecorderClientError,
    RecorderUnreachableError,
)
from web.room_health import NoRecorderCredential

MAX_AGE = 1.0  # seconds: the most a room's recorder is asked for its picture
STATUS_TIMEOUT = 2.0  # seconds: one slow room must not hold up a tile
WIDTH = 320  # pixels: a tile's picture, whatever the camera's size
QUALITY = 75
LIVE_STATES = frozenset({"recording", "paused"})

# Why a room has no picture: a code, put in words in the console's language by the view.
NOT_RECORDING = "not_recording"
UNREACHABLE = "unreachable"
NO_CREDENTIAL = "no_credential"
NO_PICTURE = "no_picture"


@dataclass(frozen=True)
class Thumbnail:
    """A room's picture (``jpeg``), the recording it belongs to, or why there is none."""

    fetched_at: float
    jpeg: bytes | None = None
    session_id: str | None = None
    problem: str | None = None


def scaled(jpeg: bytes, width: int = WIDTH) -> bytes:
    """``jpeg`` no wider than ``width``, as a JPEG."""
    with Image.open(io.BytesIO(jpeg)) as opened:
        picture = opened.convert("RGB")
    if picture.width > width:
        picture = picture.resize((width, round(picture.height * width / picture.width)))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def fetch(client: RecorderClient) -> Thumbnail:
    """Ask a room's recorder for its state and, while it records, its picture."""
    now = time.monotonic()
    try:
        status = client.status()
        if status.state not in LIVE_STATES:
            return Thumbnail(now, problem=NOT_RECORDING)
        jpeg = client.preview_jpeg()
    except (RecorderUnreachableError, RecorderAuthError):  # incl. not the room it claims
        return Thumbnail(now, problem=UNREACHABLE)
    except SealroomError:  # it answered, without a picture: e.g. no frame encoded yet
        return Thumbnail(now, problem=NO_PICTURE)
    try:
        return Thumbnail(now, jpeg=scaled(jpeg), session_id=status.session_id)
    except OSError:  # Pillow: not a picture it can read
        return Thumbnail(now, problem=NO_PICTURE)


class ThumbnailCache:
    """Each room's last thumbnail, fetched again once it is older than ``max_age``."""

    def __init__(self, max_age: float = MAX_AGE) -> None:
        self.max_age = max_age
        self._entries: dict[str, Thumbnail] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetches = 0  # how often a recorder was asked (what the cache saves)

    def _fresh(self, code: str) -> Thumbnail | None:
        entry = self._entries.get(code)
        if entry is not None and time.monotonic() - entry.fetched_at < self.max_age:
            return entry
        return None

    def get(self, code: str, client: Callable[[], RecorderClient]) -> Thumbnail:
        """The room's thumbnail, asking its recorder (through ``client()``) only when the
        one kept is too old; concurrent requests for one room share one fetch."""
        if (entry := self._fresh(code)) is not None:
            return entry
        with self._guard:
            lock = self._locks.setdefault(code, threading.Lock())
        with lock:
            if (entry := self._fresh(code)) is not None:  # fetched while this one waited
                return entry
            self.fetches += 1
            try:
                entry = fetch(client())
            except NoRecorderCredential:
                entry = Thumbnail(time.monotonic(), problem=NO_CREDENTIAL)
            except RecorderClientError:  # e.g. an address that is not one
                entry = Thumbnail(time.monotonic(), problem=UNREACHABLE)
            self._entries[code] = entry
            return entry


class FirstViews:
    """Which viewings were already written to the custody log, kept in this process: a key
    is new once (atomically, so a burst of concurrent requests logs it once). The oldest
    keys are forgotten past ``kept``, and a restart forgets all: at worst a viewing is
    logged twice, never not at all."""

    def __init__(self, kept: int = 10_000) -> None:
        self.kept = kept
        self._seen: OrderedDict[tuple[object, ...], None] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: tuple[object, ...]) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self.kept:
                self._seen.popitem(last=False)
            return True
