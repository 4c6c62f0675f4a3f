"""The custody journal: where custody events wait while the custody database cannot take them.

A damaged, truncated or missing custody database must never stop a recording (the evidence
is the truth; the log only says who touched it). Events that cannot go into the database are
appended here instead, one canonical JSON object per line, each flushed to disk before
``record`` returns, so none is lost. ``sealroom custody repair`` appends them to the rebuilt
log, in order, and sets the file aside.

Several processes of one installation may journal at once (the recorder service, the
uploader, a command): each line is written under an exclusive ``flock`` with ``O_APPEND``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_store.canonical import canonical_json
from evidence_store.durable import PRIVATE, fsync_directory
from evidence_store.timefmt import format_utc, utc_now

JOURNAL_NAME = "custody-journal.jsonl"


@dataclass(frozen=True)
class JournaledEvent:
    """A custody event as it was journaled: the event, when, and why not in the database."""

    at: str
    actor: str
    role: str
    action: str
    session_id: str | None
    detail: dict[str, Any]
    ip: str | None
    user_agent: str | None
    because: str

    def as_document(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "session": self.session_id,
            "detail": self.detail,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "because": self.because,
        }


class CustodyJournal:
    """The journal file of one installation (``<data_dir>/custody-journal.jsonl``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        session_id: str | None,
        detail: dict[str, Any],
        ip: str | None,
        user_agent: str | None,
        because: str,
    ) -> JournaledEvent:
        """Append one event and flush it to disk."""
        event = JournaledEvent(
            at=format_utc(utc_now()),
            actor=actor,
            role=role,
            action=action,
            session_id=session_id,
            detail=detail,
            ip=ip,
            user_agent=user_agent,
            because=because,
        )
        line = canonical_json(event.as_document()) + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        with self.locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        if created:
            fsync_directory(self.path.parent)
        return event

    def events(self) -> list[JournaledEvent]:
        """Every event journaled so far, oldest first; a torn last line (a kill in the middle
        of a write) is left out."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            try:
                document = json.loads(line)
                found.append(
                    JournaledEvent(
                        at=str(document["at"]),
                        actor=str(document["actor"]),
                        role=str(document["role"]),
                        action=str(document["action"]),
                        session_id=document.get("session"),
                        detail=dict(document.get("detail") or {}),
                        ip=document.get("ip"),
                        user_agent=document.get("user_agent"),
                        because=str(document.get("because", "")),
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue
        return found

    def set_aside(self, suffix: str) -> Path | None:
        """Rename the journal once its events are in the log (kept, never deleted); None if
        there was none."""
        if not self.path.exists():
            return None
        target = self.path.with_name(f"{self.path.stem}.{suffix}{self.path.suffix}")
        self.path.rename(target)
        fsync_directory(self.path.parent)
        return target

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal's lock: appends wait while a repair replays it. The lock is a
        sibling file, since a repair renames the journal itself."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, PRIVATE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
