"""What scrubbing has done, on disk (``<data_dir>/scrub/state.json``), so a pass cut off (a
kill, a reboot, ``SIGTERM``) resumes after the last session it finished, and the last
result of every session that failed stays known until it verifies again.

Sessions are taken in the order of their ids (which begin with their start time), store by
store, so "after the last one finished" is a cursor: sessions that appear meanwhile come
later in the same order and are reached in the same pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_store.durable import PRIVATE, replace_atomically
from evidence_store.installation import DataDir

VERSION = 1
STATE_FILE = Path("scrub") / "state.json"


@dataclass
class ScrubState:
    """Where the current pass stands, when passes ended, and what failed."""

    path: Path
    pass_started: str | None = None  # the pass in progress (None: none)
    cursor: dict[str, str] = field(default_factory=dict)  # store -> last session done
    last_pass_started: str | None = None
    last_pass_end: str | None = None
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)  # "store:session" ->
    bytes_verified: int = 0  # in the pass in progress
    sessions_verified: int = 0

    @classmethod
    def load(cls, data: DataDir) -> ScrubState | None:
        """The saved state, or None when nothing was ever scrubbed here (or it is unreadable:
        a new pass then starts from the beginning, which costs time, never a check)."""
        path = data.root / STATE_FILE
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("v") != VERSION:
            return None
        return cls(
            path=path,
            pass_started=document.get("pass_started"),
            cursor=dict(document.get("cursor") or {}),
            last_pass_started=document.get("last_pass_started"),
            last_pass_end=document.get("last_pass_end"),
            failures=dict(document.get("failures") or {}),
            bytes_verified=int(document.get("bytes_verified") or 0),
            sessions_verified=int(document.get("sessions_verified") or 0),
        )

    @classmethod
    def load_or_new(cls, data: DataDir) -> ScrubState:
        return cls.load(data) or cls(path=data.root / STATE_FILE)

    def save(self) -> None:
        document = {
            "v": VERSION,
            "pass_started": self.pass_started,
            "cursor": self.cursor,
            "last_pass_started": self.last_pass_started,
            "last_pass_end": self.last_pass_end,
            "failures": self.failures,
            "bytes_verified": self.bytes_verified,
            "sessions_verified": self.sessions_verified,
        }
        text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False)
        replace_atomically(self.path, text.encode("utf-8"), mode=PRIVATE)
