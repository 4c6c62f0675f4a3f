"""What the session writer hands out, never waiting: every signed head to ``on_head`` (a hook
that fails stops nothing, and never keeps a head from another hook), and every time in a
link from the device's clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence_store import SignedHead, fan_out, layout
from evidence_store.session import SessionWriter
from evidence_store.verify import verify_session
from tests.support.evidence import (
    MEDIA,
    METADATA,
    STOP_REASON,
    new_data_dir,
    seal_next,
    segment_media,
)


def test_every_link_and_the_seal_reach_every_hook_even_past_a_failing_one(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    heard: list[SignedHead] = []

    def broken(_head: SignedHead) -> None:
        raise OSError("no space left on device")

    data = new_data_dir(tmp_path / "data")
    writer = SessionWriter.start(
        data.store(), data.signer(), METADATA, MEDIA, on_head=fan_out(broken, None, heard.append)
    )
    seal_next(writer, segment_media(tmp_path_factory)[0])
    writer.stop(STOP_REASON)
    assert [(h.kind, h.seq) for h in heard] == [
        ("link", 0),
        ("link", 1),
        ("link", 2),
        ("seal", None),
    ]
    for head in heard[:-1]:
        assert head.seq is not None
        assert head.data == (writer.path / layout.link_name(head.seq)).read_bytes()
        assert head.signature == (writer.path / layout.link_sig_name(head.seq)).read_bytes()
    assert heard[-1].data == (writer.path / layout.MANIFEST).read_bytes()
    verify_session(data.store(), writer.session_id, data.trust())
    assert fan_out(None, None) is None and fan_out(heard.append) == heard.append


def test_link_times_and_the_session_id_come_from_the_device_clock(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    device_time = datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)
    data = new_data_dir(tmp_path / "data")
    writer = SessionWriter.start(
        data.store(), data.signer(), METADATA, MEDIA, clock=lambda: device_time
    )
    seal_next(writer, segment_media(tmp_path_factory)[0])
    manifest = writer.stop(STOP_REASON)
    assert writer.session_id.startswith("s-20260301T083015Z-")
    times = {
        json.loads((writer.path / layout.link_name(seq)).read_bytes())["time"] for seq in range(3)
    }
    assert times == {"2026-03-01T08:30:15.250000Z"}
    assert manifest.started_at == manifest.ended_at == "2026-03-01T08:30:15.250000Z"
