"""A room's trusted time, against a real local authority: stamps are sent from their own thread,
an authority that goes away and comes back gets them late (and the record says how late), and a
device clock set wrong is an alarm and a mark in the session's chain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence_store import SessionWriter, WallClock, utc_now
from evidence_store.custody import CustodyEntry, CustodyLog
from evidence_store.installation import DataDir
from evidence_store.model import EventType, Link
from evidence_store.outbox import Backoff
from evidence_store.settings import EvidenceSettings, TimestampingSettings
from evidence_store.timestamping import TokenVerifier
from evidence_store.verify import verify_session
from recorder.trusted_time import TrustedTime
from tests.support.evidence import (
    MEDIA,
    METADATA,
    PAUSE_REASON,
    RESUME_REASON,
    STOP_REASON,
    seal_next,
    segment_media,
)
from tests.support.tsa import TsaServer

ACTOR, ROLE = "recorder:phong-1@test", "recorder"


@pytest.fixture
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return segment_media(tmp_path_factory)


@dataclass
class Room:
    data: DataDir
    custody: CustodyLog
    trusted: TrustedTime

    def entries(self, action: str) -> list[CustodyEntry]:
        return self.custody.entries(action=action)

    def wait_for(self, found: Callable[[], bool], what: str) -> None:
        """Wait (up to 20 s, on a loaded machine) for the sender thread to get somewhere."""
        deadline = time.monotonic() + 20
        while not found():
            if time.monotonic() > deadline:
                pytest.fail(f"never happened: {what} (sender: {self.trusted.status()})")
            time.sleep(0.05)

    def start(self, clock: WallClock = utc_now) -> SessionWriter:
        store = self.data.store(create=True)
        writer = SessionWriter.start(
            store, self.data.signer(), METADATA, MEDIA, on_head=self.trusted.on_head, clock=clock
        )
        self.trusted.watch(writer)
        return writer


def open_room(data_dir: Path, tsa: TsaServer, clock: WallClock = utc_now) -> Room:
    settings = EvidenceSettings(
        tsa_url=tsa.url,
        tsa_ca=tsa.ca_file,
        timestamping=TimestampingSettings(interval_seconds=3600, tolerance_seconds=2.0),
    )
    data = DataDir.resolve(data_dir, settings)
    store = data.store(create=True)
    custody = data.custody(store, data.signer())
    config = data.tsa()
    assert config is not None
    trusted = TrustedTime(
        data=data,
        store=store,
        config=config,
        custody=custody,
        actor=ACTOR,
        role=ROLE,
        clock=clock,
        backoff=Backoff(initial=0.05, maximum=0.2),
    )
    trusted.start()
    return Room(data, custody, trusted)


@pytest.fixture
def room(tmp_path: Path, tsa: TsaServer) -> Iterator[Room]:
    opened = open_room(tmp_path / "data", tsa)
    yield opened
    opened.trusted.stop()


def stamped(room: Room, name: str) -> list[CustodyEntry]:
    return [e for e in room.entries("time_stamped") if e.detail["file"] == name]


def test_an_authority_away_mid_session_stamps_late_and_the_record_says_how_late(
    room: Room, tsa: TsaServer, media: list[Path]
) -> None:
    writer = room.start()
    room.wait_for(lambda: bool(stamped(room, "chain/000000.json")), "link 0 stamped")
    tsa.stop()
    seal_next(writer, media[0])
    writer.pause(PAUSE_REASON)
    writer.resume(RESUME_REASON)
    seal_next(writer, media[1])
    writer.stop(STOP_REASON)  # sealed while the authority is away: nothing waited for it
    room.wait_for(lambda: room.trusted.status().failures > 0, "a send that fails")
    assert not (writer.path / "manifest.tsr").exists()
    assert room.trusted.outbox.backlog().items >= 1
    time.sleep(1.2)  # the authority stays away a while
    tsa.start()
    room.wait_for(lambda: bool(stamped(room, "manifest.json")), "the seal stamped")
    [seal] = stamped(room, "manifest.json")
    assert seal.detail["waited_ms"] >= 1000  # queued at the seal, sent when it came back
    for name in ("device_time", "sent_at", "tsa_time", "late_ms", "round_trip_ms"):
        assert name in seal.detail
    assert room.entries("alarm") == []  # late, not wrong: the clocks agree
    verified = verify_session(
        room.data.store(),
        writer.session_id,
        room.data.trust(),
        tokens=TokenVerifier.from_file(tsa.ca_file),
    )
    assert [s.name for s in verified.time_stamps] == ["chain/000000.json", "manifest.json"]


def test_a_device_clock_an_hour_behind_is_an_alarm_and_a_mark_in_the_chain(
    tmp_path: Path, tsa: TsaServer, media: list[Path]
) -> None:
    def an_hour_behind() -> datetime:
        return datetime.now(UTC) - timedelta(hours=1)

    room = open_room(tmp_path / "data", tsa, clock=an_hour_behind)
    try:
        writer = room.start(clock=an_hour_behind)
        room.wait_for(lambda: bool(room.entries("alarm")), "the clock alarm")
        [alarm] = room.entries("alarm")
        assert alarm.detail["kind"] == "clock_skew"
        assert "behind the time-stamp authority" in alarm.detail["reason"]
        assert alarm.session_id == writer.session_id
        [first] = stamped(room, "chain/000000.json")
        assert first.detail["tsa_time"] > first.detail["sent_at"]  # both are on the record
        room.wait_for(lambda: writer.chain.length == 2, "the mark in the chain")
        seal_next(writer, media[0])
        manifest = writer.stop(STOP_REASON)
    finally:
        room.trusted.stop()
    mark = Link.parse((writer.path / "chain" / "000001.json").read_bytes(), location="1")
    assert mark.event is not None and mark.event.type is EventType.CLOCK_SKEW
    assert mark.event.reason == alarm.detail["reason"]
    assert manifest.chain.length == 4  # start, the mark, a segment, stop: sealed with the rest
    # The certificate was issued minutes ago by the real clock: at the time the device
    # claims, it was not valid yet; at the authority's time, it was.
    tokens = TokenVerifier.from_file(tsa.ca_file)
    verified = verify_session(
        room.data.store(), writer.session_id, room.data.trust(), tokens=tokens
    )
    assert verified.time_stamps[0].late_seconds > 3500
