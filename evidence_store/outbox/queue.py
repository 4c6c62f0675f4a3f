"""A durable queue on disk for what must leave the box: one folder per destination, one file
per item, written atomically, delivered in order, removed once delivered.

Putting an item costs a small file write and never touches the network, so a recorder can
put from its sealing path and never wait for a witness, a time-stamp authority or a catalog
that is slow or down. Items survive a kill or a power cut (file and folder are fsynced) and
are sent when any sender next runs.

An item the destination refuses for good (it is malformed, or the destination says it will
never accept it) is moved to ``refused/`` with the reason beside it, for a person to look at:
it is never silently dropped, and it no longer blocks the items behind it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_store.durable import PRIVATE, fsync_directory, write_once
from evidence_store.errors import UsageError
from evidence_store.timefmt import format_utc, parse_utc, utc_now

DESTINATION_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
ITEM_RE = re.compile(r"^\d{20}-[0-9a-f]{8}\.json$")
REFUSED = "refused"
LOCK = ".lock"
STALE_TEMPORARY_SECONDS = 60.0


@dataclass(frozen=True)
class OutboxItem:
    """One thing to deliver: what it is (``kind``), when it was queued, and its payload."""

    path: Path
    kind: str
    queued_at: str
    payload: dict[str, Any]

    @property
    def id(self) -> str:
        return self.path.stem

    def age_seconds(self) -> float:
        return max(0.0, (utc_now() - parse_utc(self.queued_at)).total_seconds())


@dataclass(frozen=True)
class OutboxBacklog:
    """How much waits to leave: items, bytes, and how old the oldest is."""

    destination: str
    items: int
    bytes: int
    oldest_seconds: float | None
    refused: int


class Outbox:
    """The queue of one destination, in ``<root>/<destination>/``."""

    def __init__(self, root: Path, destination: str) -> None:
        if not DESTINATION_RE.fullmatch(destination):
            raise UsageError(f"not an outbox name: {destination!r}")
        self.destination = destination
        self.folder = root / destination

    def put(self, kind: str, payload: Mapping[str, Any]) -> OutboxItem:
        """Queue an item durably. Raises ``OSError`` when the disk cannot take it (a full
        disk): the caller decides whether that may stop anything (for a recorder, it may not)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        queued_at = format_utc(utc_now())
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.json"
        document = {"kind": kind, "queued_at": queued_at, "payload": dict(payload)}
        data = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        write_once(self.folder / name, data, mode=PRIVATE)  # whole, fsynced, or not at all
        return OutboxItem(self.folder / name, kind, queued_at, dict(payload))

    def pending(self, limit: int | None = None) -> list[OutboxItem]:
        """The items waiting, oldest first. A file that cannot be read is refused on the spot."""
        items: list[OutboxItem] = []
        for path in self._names():
            if limit is not None and len(items) >= limit:
                break
            try:
                document = json.loads(path.read_bytes())
                item = OutboxItem(
                    path, str(document["kind"]), str(document["queued_at"]), document["payload"]
                )
            except FileNotFoundError:
                continue  # delivered by another sender meanwhile
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self._move_to_refused(path, f"unreadable outbox item: {exc}")
                continue
            items.append(item)
        return items

    def delivered(self, item: OutboxItem) -> None:
        item.path.unlink(missing_ok=True)

    def refuse(self, item: OutboxItem, reason: str) -> None:
        """Set an item aside for good, with the reason, so it no longer blocks the queue."""
        self._move_to_refused(item.path, reason)

    def refused(self) -> list[tuple[str, str]]:
        """Items set aside: (item id, reason)."""
        folder = self.folder / REFUSED
        if not folder.is_dir():
            return []
        return [
            (path.stem, path.with_suffix(".reason").read_text(encoding="utf-8", errors="replace"))
            for path in sorted(folder.glob("*.json"))
            if path.with_suffix(".reason").exists()
        ]

    def backlog(self) -> OutboxBacklog:
        names = self._names()
        sizes = 0
        for path in names:
            with contextlib.suppress(FileNotFoundError):
                sizes += path.stat().st_size
        oldest = None
        if names:
            queued_ns = int(names[0].name.split("-", 1)[0])
            oldest = max(0.0, (time.time_ns() - queued_ns) / 1e9)
        refused_folder = self.folder / REFUSED
        refused = len(list(refused_folder.glob("*.json"))) if refused_folder.is_dir() else 0
        return OutboxBacklog(self.destination, len(names), sizes, oldest, refused)

    @contextlib.contextmanager
    def draining(self) -> Iterator[bool]:
        """Hold the right to send this queue's items; yields False if another process holds
        it (two senders would only send twice: harmless, but wasted)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.folder / LOCK).open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                self._sweep_temporaries()
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _sweep_temporaries(self) -> None:
        """Remove what a put killed mid-write left (never an item: items are renamed into
        place whole). Only old ones: a put in another process may be writing one now."""
        cutoff = time.time() - STALE_TEMPORARY_SECONDS
        for temp in self.folder.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()

    def _names(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if ITEM_RE.fullmatch(p.name))

    def _move_to_refused(self, path: Path, reason: str) -> None:
        folder = self.folder / REFUSED
        folder.mkdir(exist_ok=True, mode=0o700)
        target = folder / path.name
        target.with_suffix(".reason").write_text(reason + "\n", encoding="utf-8")
        with contextlib.suppress(FileNotFoundError):
            path.rename(target)
        fsync_directory(folder)
        fsync_directory(self.folder)
