"""The rules of a session's chain (section 4), on ChainState directly and through the writer.

A refused link leaves the chain as it was; a refused change to a live session raises
SessionStateError and writes nothing at all.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from evidence_store.canonical import canonical_json
from evidence_store.chain import ChainState, SessionState
from evidence_store.errors import TamperedError
from evidence_store.model import (
    GENESIS_PREV,
    Event,
    EventType,
    Link,
    SegmentRef,
    SignerInfo,
)
from evidence_store.session import SessionStateError, SessionWriter
from evidence_store.store import FilesystemStore
from evidence_store.verify import verify_session
from tests.support.evidence import (
    MEDIA,
    METADATA,
    PAUSE_REASON,
    RESUME_REASON,
    SEGMENT_US,
    STOP_REASON,
    DataDir,
    new_data_dir,
    seal_next,
    segment_media,
)

SESSION_ID = "s-20261122T235911Z-1a2b3c4d"
TIME = "2026-11-22T23:59:11.123456Z"
SIGNER = SignerInfo(algorithm="ed25519", public_key_sha256="ab" * 32)
CAMERA = "camera-1"


# -- ChainState --------------------------------------------------------------------------------


def make_link(
    chain: ChainState,
    *,
    event: Event | None = None,
    segment: SegmentRef | None = None,
    seq: int | None = None,
    prev: str | None = None,
    session: str = SESSION_ID,
    time: str = TIME,
) -> tuple[Link, bytes]:
    link = Link(
        session=session,
        seq=chain.length if seq is None else seq,
        prev=chain.head if prev is None else prev,
        time=time,
        kind="segment" if segment else "event",
        segment=segment,
        event=event,
    )
    return link, canonical_json(link.to_document())


def apply_event(
    chain: ChainState, kind: EventType, *, reason: str | None = None, device: str | None = None
) -> None:
    chain.apply(*make_link(chain, event=Event(type=kind, reason=reason, device=device)))


def next_segment(
    chain: ChainState, *, index: int | None = None, start_us: int | None = None
) -> SegmentRef:
    index = len(chain.segments) if index is None else index
    return SegmentRef(
        index=index,
        name=f"{index:06d}.mp4",
        sha256=hashlib.sha256(str(index).encode()).hexdigest(),
        size=1000 + index,
        start_us=chain.next_segment_start_us if start_us is None else start_us,
        duration_us=SEGMENT_US,
    )


def apply_segment(chain: ChainState, **fields: int) -> None:
    chain.apply(*make_link(chain, segment=next_segment(chain, **fields)))


@pytest.fixture
def chain() -> ChainState:
    """A chain that has started and holds one segment: recording."""
    chain = ChainState(SESSION_ID)
    chain.apply(
        *make_link(
            chain,
            event=Event(
                type=EventType.SESSION_STARTED, metadata=METADATA, media=MEDIA, signer=SIGNER
            ),
        )
    )
    apply_segment(chain)
    assert chain.state is SessionState.RECORDING
    return chain


def refused(chain: ChainState, change: Callable[[ChainState], None], match: str) -> TamperedError:
    """Apply ``change``, expect it refused, and check the chain did not move."""
    before = (chain.length, chain.head, chain.state, list(chain.segments), list(chain.pauses))
    with pytest.raises(TamperedError, match=match) as caught:
        change(chain)
    assert (chain.length, chain.head, chain.state, chain.segments, chain.pauses) == before
    return caught.value


def test_a_valid_chain_implies_its_manifest(chain: ChainState) -> None:
    apply_event(chain, EventType.PAUSED, reason=PAUSE_REASON)
    apply_event(chain, EventType.DEVICE_LOST, device=CAMERA, reason="mất tín hiệu")
    apply_event(chain, EventType.DEVICE_RESTORED, device=CAMERA)
    apply_event(chain, EventType.RESUMED, reason=RESUME_REASON)
    apply_segment(chain)
    apply_event(chain, EventType.STOPPED, reason=STOP_REASON)
    manifest = chain.manifest(head_signature=b"\x01" * 64, checksums_sha256="cd" * 32)
    assert manifest.chain.length == 8 and manifest.chain.head == chain.head
    assert manifest.duration_us == 2 * SEGMENT_US
    assert [p.reason for p in manifest.pauses] == [PAUSE_REASON]
    assert manifest.pauses[0].resume_reason == RESUME_REASON
    assert [(o.device, o.restored_at) for o in manifest.device_outages] == [(CAMERA, TIME)]
    assert manifest.stop_reason == STOP_REASON and not manifest.interrupted


def test_a_segment_while_paused_is_refused(chain: ChainState) -> None:
    apply_event(chain, EventType.PAUSED, reason=PAUSE_REASON)
    error = refused(chain, apply_segment, "segment while the session is paused")
    assert error.location == "chain/000003.json"


def test_resume_while_recording_is_refused(chain: ChainState) -> None:
    refused(
        chain,
        lambda c: apply_event(c, EventType.RESUMED, reason=RESUME_REASON),
        "resumed while the session is recording",
    )


def test_pause_while_paused_is_refused(chain: ChainState) -> None:
    apply_event(chain, EventType.PAUSED, reason=PAUSE_REASON)
    refused(
        chain,
        lambda c: apply_event(c, EventType.PAUSED, reason=PAUSE_REASON),
        "paused while the session is paused",
    )


def test_a_segment_index_gap_is_refused(chain: ChainState) -> None:
    refused(chain, lambda c: apply_segment(c, index=2), "segment index 2 where 1 was expected")


def test_a_gap_in_the_media_timeline_is_refused(chain: ChainState) -> None:
    refused(
        chain,
        lambda c: apply_segment(c, start_us=SEGMENT_US + 1),
        "segment start does not continue the timeline",
    )


@pytest.mark.parametrize("end", [EventType.STOPPED, EventType.INTERRUPTED])
def test_nothing_may_follow_the_end(chain: ChainState, end: EventType) -> None:
    apply_event(chain, end, reason=STOP_REASON)
    refused(chain, apply_segment, rf"link after the session ended \({end.value}\)")
    refused(
        chain,
        lambda c: apply_event(c, EventType.STOPPED, reason=STOP_REASON),
        "link after the session ended",
    )


def test_device_restored_without_being_lost_is_refused(chain: ChainState) -> None:
    refused(
        chain,
        lambda c: apply_event(c, EventType.DEVICE_RESTORED, device=CAMERA),
        f"device {CAMERA} restored but never lost",
    )


def test_a_device_lost_twice_is_refused(chain: ChainState) -> None:
    apply_event(chain, EventType.DEVICE_LOST, device=CAMERA, reason="mất tín hiệu")
    refused(
        chain,
        lambda c: apply_event(c, EventType.DEVICE_LOST, device=CAMERA, reason="mất tín hiệu"),
        f"device {CAMERA} lost twice",
    )


def test_the_chain_opens_with_exactly_one_session_started(chain: ChainState) -> None:
    again = Event(type=EventType.SESSION_STARTED, metadata=METADATA, media=MEDIA, signer=SIGNER)
    refused(chain, lambda c: c.apply(*make_link(c, event=again)), "exactly one session_started")
    empty = ChainState(SESSION_ID)
    refused(
        empty,
        lambda c: apply_event(c, EventType.PAUSED, reason=PAUSE_REASON),
        "must open with exactly one session_started",
    )


def test_a_link_of_another_session_is_refused(chain: ChainState) -> None:
    other = "s-20261122T235911Z-99999999"
    refused(
        chain,
        lambda c: c.apply(*make_link(c, segment=next_segment(c), session=other)),
        f"link belongs to session {other}",
    )


def test_a_wrong_prev_is_refused(chain: ChainState) -> None:
    refused(
        chain,
        lambda c: c.apply(*make_link(c, segment=next_segment(c), prev=GENESIS_PREV)),
        "prev does not match the hash of the link before it",
    )


def test_a_refusal_names_the_links_place_in_the_chain_not_its_claimed_seq(
    chain: ChainState,
) -> None:
    # The verifier reads chain/000002.json; a link inside claiming seq 5 must not send the
    # reader to chain/000005.json, which may be an intact file.
    error = refused(
        chain,
        lambda c: c.apply(*make_link(c, segment=next_segment(c), seq=5)),
        "link says seq 5 but is link 2",
    )
    assert error.location == "chain/000002.json"


def test_link_times_never_go_backwards(chain: ChainState) -> None:
    earlier = "2026-11-22T23:59:11.123455Z"  # one microsecond before the last link
    error = refused(
        chain,
        lambda c: c.apply(*make_link(c, segment=next_segment(c), time=earlier)),
        "before the previous link's 2026-11-22T23:59:11.123456Z: link times never go backwards",
    )
    assert error.location == "chain/000002.json"
    apply_segment(chain)  # the same time as the link before: allowed
    assert chain.length == 3


def test_an_interrupted_session_ends_at_its_cut_off_and_records_its_recovery(
    chain: ChainState,
) -> None:
    recovered = "2026-11-23T07:30:00.000000Z"  # the next morning
    chain.apply(
        *make_link(
            chain,
            event=Event(type=EventType.INTERRUPTED, reason="mất điện", ended_at=TIME),
            time=recovered,
        )
    )
    manifest = chain.manifest(head_signature=b"\x01", checksums_sha256="cd" * 32)
    assert (manifest.ended_at, manifest.recovered_at) == (TIME, recovered)
    assert manifest.interrupted and manifest.to_document()["recovered_at"] == recovered


@pytest.mark.parametrize("cut_off", ["2026-11-22T23:59:11.123455Z", "2026-11-23T07:30:00.000001Z"])
def test_an_interruption_outside_the_session_and_its_recovery_is_refused(
    chain: ChainState, cut_off: str
) -> None:
    event = Event(type=EventType.INTERRUPTED, reason="mất điện", ended_at=cut_off)
    refused(
        chain,
        lambda c: c.apply(*make_link(c, event=event, time="2026-11-23T07:30:00.000000Z")),
        "outside the session's start",
    )


def test_a_stopped_session_has_no_recovery_time(chain: ChainState) -> None:
    apply_event(chain, EventType.STOPPED, reason=STOP_REASON)
    manifest = chain.manifest(head_signature=b"\x01", checksums_sha256="cd" * 32)
    assert manifest.recovered_at is None and "recovered_at" not in manifest.to_document()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": EventType.PAUSED, "reason": "x", "device": CAMERA}, "carries no device"),
        ({"type": EventType.DEVICE_RESTORED, "device": CAMERA, "reason": "x"}, "no reason"),
        ({"type": EventType.STOPPED, "reason": "x", "ended_at": TIME}, "carries no ended_at"),
        ({"type": EventType.DEVICE_LOST, "device": CAMERA}, "needs reason"),
    ],
)
def test_an_event_carries_exactly_its_types_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Event.model_validate(fields)


def test_only_an_ended_chain_can_be_sealed(chain: ChainState) -> None:
    with pytest.raises(ValueError, match="only a stopped or interrupted session"):
        chain.manifest(head_signature=b"\x01", checksums_sha256="cd" * 32)


# -- SessionWriter: a refused change writes nothing --------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return segment_media(tmp_path_factory)


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return new_data_dir(tmp_path / "data")


@pytest.fixture
def writer(data: DataDir, media: list[Path]) -> SessionWriter:
    """A live session, recording, with one sealed segment."""
    writer = SessionWriter.start(data.store(), data.signer(), METADATA, MEDIA)
    seal_next(writer, media[0])
    return writer


def snapshot(store: FilesystemStore) -> dict[str, bytes]:
    return {key: store.read_bytes(key) for key in store.list_keys("sessions/")}


def stage(writer: SessionWriter, media: Path, index: int) -> Path:
    """Put a finished segment where the encoder leaves it, without sealing it."""
    path = writer.inflight_path(index)
    shutil.copyfile(media, path)
    return path


def assert_refused_and_nothing_written(
    writer: SessionWriter, change: Callable[[], object], match: str
) -> None:
    before, head, length = snapshot(writer.store), writer.chain.head, writer.chain.length
    with pytest.raises(SessionStateError, match=match):
        change()
    assert snapshot(writer.store) == before
    assert (writer.chain.head, writer.chain.length) == (head, length)


def test_the_writer_refuses_resume_while_recording(writer: SessionWriter) -> None:
    assert_refused_and_nothing_written(
        writer,
        lambda: writer.resume(RESUME_REASON),
        "refused: resumed while the session is recording",
    )


def test_the_writer_refuses_a_segment_while_paused(
    writer: SessionWriter, media: list[Path]
) -> None:
    writer.pause(PAUSE_REASON)
    staged = stage(writer, media[1], 1)
    assert_refused_and_nothing_written(
        writer,
        lambda: writer.seal_segment(1, start_us=SEGMENT_US, duration_us=SEGMENT_US),
        "segment while the session is paused",
    )
    assert staged.exists()  # not adopted: the encoder's file is still there to seal later


def test_the_writer_refuses_a_segment_index_gap(writer: SessionWriter, media: list[Path]) -> None:
    stage(writer, media[2], 2)
    assert_refused_and_nothing_written(
        writer,
        lambda: writer.seal_segment(2, start_us=SEGMENT_US, duration_us=SEGMENT_US),
        "segment index 2 where 1 was expected",
    )


def test_the_writer_refuses_a_device_restored_that_was_never_lost(writer: SessionWriter) -> None:
    assert_refused_and_nothing_written(
        writer, lambda: writer.device_restored(CAMERA), "restored but never lost"
    )


AFTER_STOP: dict[str, Callable[[SessionWriter], object]] = {
    "pause": lambda w: w.pause(PAUSE_REASON),
    "segment": lambda w: w.seal_segment(1, start_us=SEGMENT_US, duration_us=SEGMENT_US),
    "stop": lambda w: w.stop("bấm dừng lần hai"),
    "interrupt": lambda w: w.interrupt("mất điện"),
    "device_lost": lambda w: w.device_lost(CAMERA, "mất tín hiệu"),
}


@pytest.mark.parametrize("change", AFTER_STOP.values(), ids=AFTER_STOP.keys())
def test_the_writer_refuses_anything_after_stop(
    writer: SessionWriter,
    data: DataDir,
    media: list[Path],
    change: Callable[[SessionWriter], object],
) -> None:
    # A second stop (a double press, a retry after a timeout) must not touch sealed evidence.
    writer.stop(STOP_REASON)
    stage(writer, media[1], 1)
    assert_refused_and_nothing_written(
        writer, lambda: change(writer), r"refused: .*(session is stopped|session ended)"
    )
    verify_session(data.store(), writer.session_id, data.trust())


def test_a_writer_goes_on_after_a_refusal_and_the_session_verifies(
    writer: SessionWriter, data: DataDir, media: list[Path]
) -> None:
    with pytest.raises(SessionStateError):
        writer.resume(RESUME_REASON)
    writer.device_lost(CAMERA, "mất tín hiệu")
    writer.pause(PAUSE_REASON)
    with pytest.raises(SessionStateError):
        writer.pause(PAUSE_REASON)
    writer.device_restored(CAMERA)
    writer.resume(RESUME_REASON)
    seal_next(writer, media[1])
    manifest = writer.stop(STOP_REASON)
    assert len(manifest.device_outages) == 1 and len(manifest.pauses) == 1
    result = verify_session(data.store(), writer.session_id, data.trust())
    assert (result.chain_length, result.segments) == (8, 2)
