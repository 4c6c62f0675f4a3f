"""The uploader's small state file: how far each session got, and multipart uploads in flight.

It only saves work. Everything it records can be re-derived from the spool and the bucket
(the uploader looks objects up before sending them), so losing the file — or a kill between
an upload and the write that records it — costs lookups, never evidence. It is replaced
atomically and names the bucket it is about: pointed at another bucket, the uploader starts
from nothing.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_store.bucket import MultipartProgress
from evidence_store.durable import PRIVATE, replace_atomically

VERSION = 1
SAVE_EVERY_SECONDS = 0.5


@dataclass
class SessionProgress:
    last_key: str | None = None  # the newest object confirmed, in the session's order
    done: bool = False  # sealed and every object confirmed in the bucket
    conflict: str | None = None  # a key the bucket holds with other bytes


class UploaderState:
    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self.sessions: dict[str, SessionProgress] = {}
        self.checkpoints_through = 0
        self.multipart: dict[str, dict[str, Any]] = {}
        self._saved_at = 0.0

    @classmethod
    def load(cls, path: Path, target: str) -> UploaderState:
        state = cls(path, target)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return state
        except (OSError, ValueError):
            return state  # unreadable: start over; the bucket will say what is there
        if document.get("v") != VERSION or document.get("target") != target:
            return state
        state.sessions = {
            sid: SessionProgress(
                last_key=entry.get("last_key"),
                done=bool(entry.get("done")),
                conflict=entry.get("conflict"),
            )
            for sid, entry in document.get("sessions", {}).items()
        }
        state.checkpoints_through = int(document.get("checkpoints_through", 0))
        state.multipart = dict(document.get("multipart", {}))
        return state

    def session(self, session_id: str) -> SessionProgress:
        return self.sessions.setdefault(session_id, SessionProgress())

    def forget(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def save_soon(self) -> None:
        """Save if the last save is older than half a second: the state only saves lookups,
        so a little lag costs a few HEADs after a kill, and saves a write per object."""
        if time.monotonic() - self._saved_at >= SAVE_EVERY_SECONDS:
            self.save()

    def save(self) -> None:
        self._saved_at = time.monotonic()
        document = {
            "v": VERSION,
            "target": self.target,
            "sessions": {
                sid: {k: v for k, v in p.__dict__.items() if v not in (None, False)}
                for sid, p in sorted(self.sessions.items())
            },
            "checkpoints_through": self.checkpoints_through,
            "multipart": self.multipart,
        }
        text = json.dumps(document, indent=1, sort_keys=True)
        replace_atomically(self.path, text.encode("utf-8"), mode=PRIVATE)

    # -- the multipart journal (evidence_store.bucket.multipart.MultipartJournal) -----------

    def load_upload(self, key: str) -> MultipartProgress | None:
        entry = self.multipart.get(key)
        if entry is None:
            return None
        with contextlib.suppress(KeyError, ValueError, TypeError):
            return MultipartProgress.from_json(entry)
        return None

    def save_upload(self, progress: MultipartProgress) -> None:
        self.multipart[progress.key] = progress.to_json()
        self.save()

    def clear_upload(self, key: str) -> None:
        if self.multipart.pop(key, None) is not None:
            self.save()


class StateJournal:
    """Adapts ``UploaderState`` to the ``MultipartJournal`` protocol."""

    def __init__(self, state: UploaderState) -> None:
        self.state = state

    def load(self, key: str) -> MultipartProgress | None:
        return self.state.load_upload(key)

    def save(self, progress: MultipartProgress) -> None:
        self.state.save_upload(progress)

    def clear(self, key: str) -> None:
        self.state.clear_upload(key)
