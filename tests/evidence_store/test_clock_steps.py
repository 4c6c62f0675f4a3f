"""Link times never go backwards, even when the wall clock does: a session recorded while
NTP steps the clock back an hour is written in time order, and verifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidence_store.session import SessionWriter
from evidence_store.verify import verify_session
from tests.support.evidence import (
    MEDIA,
    METADATA,
    DataDir,
    link_path,
    new_data_dir,
    seal_next,
    segment_media,
)


class SteppedClock:
    """A wall clock that moves a second a reading, and can be stepped like NTP steps it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)  # after the device certificate's start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def step(self, by: timedelta) -> None:
        self.now += by


def link_times(session_dir: Path, count: int) -> list[str]:
    return [json.loads(link_path(session_dir, seq).read_bytes())["time"] for seq in range(count)]


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return new_data_dir(tmp_path / "data")


def test_a_clock_stepped_back_an_hour_mid_session_leaves_times_in_order(
    data: DataDir, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clock = SteppedClock()
    media = segment_media(tmp_path_factory)
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, clock=clock)
    seal_next(writer, media[0])
    seal_next(writer, media[1])
    clock.step(-timedelta(hours=1))  # NTP finds the clock an hour fast
    seal_next(writer, media[2])
    writer.pause("nghỉ giải lao")
    clock.step(timedelta(hours=1))  # and the clock passes the last link's time again
    writer.resume("tiếp tục")
    seal_next(writer, media[3])
    writer.stop("kết thúc")
    times = link_times(writer.path, 8)
    assert times == sorted(times)
    held = times[2]  # the last link before the step
    assert times[3] == times[4] == held  # the links after it keep its time
    assert times[5] > held  # until the clock passes it again
    assert verify_session(data.store(), writer.session_id, data.trust()).chain_length == 8


def test_a_clock_stepped_forward_moves_the_times_forward(
    data: DataDir, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clock = SteppedClock()
    media = segment_media(tmp_path_factory)
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA, clock=clock)
    seal_next(writer, media[0])
    clock.step(timedelta(minutes=10))
    seal_next(writer, media[1])
    writer.stop("kết thúc")
    times = link_times(writer.path, 4)
    assert times == sorted(times) and len(set(times)) == 4
    assert verify_session(data.store(), writer.session_id, data.trust()).chain_length == 4
