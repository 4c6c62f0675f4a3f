"""One summary of a session and one index of them.

What `sealroom sessions` lists, what the index holds and what the console shows are made by
one function from the store's files, read exactly as `sealroom verify` reads them: a link or a
manifest that verify refuses makes the session *damaged* everywhere, never something milder.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from evidence_store import layout
from evidence_store.bucket import RetentionPolicy
from evidence_store.canonical import canonical_json
from evidence_store.clips import clip_proof
from evidence_store.errors import TamperedError
from evidence_store.index import (
    SealState,
    SessionIndex,
    SessionSearch,
    list_sessions,
    read_links,
    read_manifest,
    reconcile,
    summarise,
)
from evidence_store.installation import DataDir
from evidence_store.model import GENESIS_PREV, Link, SegmentRef, SessionMetadata
from evidence_store.session import SessionWriter
from evidence_store.upload.spool import Spool
from evidence_store.verify import verify_session
from tests.support.cli import run_sealroom
from tests.support.console import MEDIA, record_session

SEGMENT = b"\x00\x00\x00\x18ftypisom" + bytes(2000)


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    installation = DataDir.resolve(tmp_path / "data")
    installation.store(create=True)
    installation.signer()
    return installation


def session_dir(data: DataDir, session_id: str) -> Path:
    return data.evidence / layout.session_prefix(session_id)


def rewrite(data: DataDir, session_id: str, relative: str, body: bytes) -> None:
    """Replace one file of a session and sign it with the device's own key (an insider)."""
    path = session_dir(data, session_id) / relative
    path.chmod(0o644)
    path.write_bytes(body)
    signature = path.with_suffix(".sig")
    signature.chmod(0o644)
    signature.write_bytes(data.signer().sign(body))


def spaced(body: bytes) -> bytes:
    """The same document, as JSON with the default separators: not canonical."""
    return json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False).encode()


def open_session(data: DataDir) -> SessionWriter:
    writer = SessionWriter.start(
        data.store(), data.signer(), SessionMetadata(case_number="VKS-9/2026", room="P2"), MEDIA
    )
    writer.inflight_path(0).write_bytes(SEGMENT)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    return writer


def spool(data: DataDir) -> Spool:
    policy = RetentionPolicy(data.settings.s3.retention)
    return Spool(data.store(), policy, quarantine_root=data.root / "quarantine")


# -- one summary -------------------------------------------------------------------------------


def test_a_sealed_session_is_summarised_from_its_manifest(data: DataDir) -> None:
    session_id = record_session(data, "hanoi", "VKS-1/2026", SEGMENT)
    manifest = read_manifest(data.store(), session_id)
    summary = summarise(data.store(), session_id)
    assert summary.state is SealState.SEALED and summary.problem is None
    assert summary.metadata == manifest.metadata and summary.unit == "hanoi"
    assert (summary.started_at, summary.ended_at) == (manifest.started_at, manifest.ended_at)
    assert (summary.duration_us, summary.segments) == (1_000_000, 1)
    assert summary.media_bytes == len(SEGMENT) and summary.head == manifest.chain.head


def test_an_open_session_is_summarised_from_its_first_link_and_its_files(data: DataDir) -> None:
    writer = open_session(data)
    try:
        summary = summarise(data.store(), writer.session_id)
        assert summary.state is SealState.OPEN and summary.ended_at is None
        assert summary.case_number == "VKS-9/2026" and summary.unit is None
        assert (summary.segments, summary.duration_us) == (1, 1_000_000)
        assert summary.head == writer.chain.head  # the hash of the newest link
    finally:
        writer.close()


def test_a_non_canonical_manifest_is_refused_by_every_reader(data: DataDir) -> None:
    session_id = record_session(data, "hanoi", "VKS-1/2026", SEGMENT)
    manifest = session_dir(data, session_id) / layout.MANIFEST
    rewrite(data, session_id, layout.MANIFEST, spaced(manifest.read_bytes()))
    store = data.store()
    for reader in (
        lambda: verify_session(store, session_id, data.trust()),
        lambda: read_manifest(store, session_id),
        lambda: clip_proof(store, session_id, data.trust(), 0, 500_000),
    ):
        with pytest.raises(TamperedError, match="not in canonical form") as refused:
            reader()
        assert refused.value.location == layout.MANIFEST
    summary = summarise(store, session_id)
    assert summary.state is SealState.DAMAGED
    assert summary.problem == "manifest.json: not in canonical form (bytes were edited)"
    assert summary.unit == "hanoi"  # still scoped by what link 0 says
    plan = spool(data).plan(session_id)
    assert not plan.sealed and plan.held is not None and "manifest.json" in plan.held
    listed = run_sealroom("sessions", "--json", data_dir=data.root)
    assert [row["state"] for row in json.loads(listed.stdout)] == ["damaged"]


def test_a_non_canonical_first_link_is_refused_by_every_reader(data: DataDir) -> None:
    writer = open_session(data)
    writer.close()
    first = session_dir(data, writer.session_id) / layout.link_name(0)
    rewrite(data, writer.session_id, layout.link_name(0), spaced(first.read_bytes()))
    store = data.store()
    with pytest.raises(TamperedError, match="not in canonical form") as refused:
        verify_session(store, writer.session_id, data.trust())
    assert refused.value.location == layout.link_name(0)
    with pytest.raises(TamperedError, match="not in canonical form"):
        SessionWriter.reopen(store, data.signer(), writer.session_id)
    assert read_links(store, writer.session_id) == []
    summary = summarise(store, writer.session_id)
    assert summary.state is SealState.DAMAGED and summary.metadata is None
    assert summary.problem is not None and summary.problem.startswith("chain/000000.json: ")
    assert "link 0" in (spool(data).plan(writer.session_id).held or "")


def test_an_unreadable_manifest_makes_the_session_damaged_not_open(data: DataDir) -> None:
    """The store listing called such a session open, the index called it damaged: the
    stricter wins."""
    session_id = record_session(data, "hanoi", "VKS-1/2026", SEGMENT)
    rewrite(data, session_id, layout.MANIFEST, b"{")
    summary = summarise(data.store(), session_id)
    assert summary.state is SealState.DAMAGED
    assert summary.problem is not None and summary.problem.startswith("manifest.json: not valid")
    assert summary.case_number == "VKS-1/2026" and summary.started_at is not None


def test_a_first_link_that_does_not_start_a_session_makes_it_damaged(data: DataDir) -> None:
    """Both summarisers used to stop on an assertion here."""
    writer = open_session(data)
    writer.close()
    segment = SegmentRef(
        index=0,
        name="000000.mp4",
        sha256=hashlib.sha256(SEGMENT).hexdigest(),
        size=len(SEGMENT),
        start_us=0,
        duration_us=1_000_000,
    )
    link = Link(
        session=writer.session_id,
        seq=0,
        prev=GENESIS_PREV,
        time="2026-11-22T23:59:11.000000Z",
        kind="segment",
        segment=segment,
    )
    rewrite(data, writer.session_id, layout.link_name(0), canonical_json(link.to_document()))
    summary = summarise(data.store(), writer.session_id)
    assert summary.state is SealState.DAMAGED and summary.metadata is None
    assert summary.problem == "chain/000000.json: the chain does not open with session_started"


def test_a_session_without_its_first_link_is_damaged_and_one_with_no_link_is_empty(
    data: DataDir,
) -> None:
    """A store listing called both empty, the bucket's index called both damaged, the console
    hid both: what the files say decides. An empty session has no row in the index."""
    sealed = record_session(data, "hanoi", "VKS-1/2026", SEGMENT)
    first = session_dir(data, sealed) / layout.link_name(0)
    first.chmod(0o644)
    first.unlink()
    cut_off = layout.new_session_id()
    data.store().put_bytes(layout.session_prefix(cut_off) + layout.PUBLIC_KEY, b"key")
    states = {s.session_id: s.state for s in list_sessions(data.store())}
    assert states == {sealed: SealState.DAMAGED, cut_off: SealState.EMPTY}
    index = SessionIndex.open(data.index_url())
    assert [s.session_id for s in index.rebuild(data.store())] == [sealed]
    index.close()


# -- one index ---------------------------------------------------------------------------------


def test_the_index_gives_back_the_summaries_the_store_gives(data: DataDir) -> None:
    record_session(data, "hanoi", "VKS-1/2026", SEGMENT)
    record_session(data, "danang", "VKS-2/2026", SEGMENT)
    writer = open_session(data)
    writer.close()
    index = SessionIndex.open(data.index_url())
    policy = RetentionPolicy(data.settings.s3.retention)
    written = index.rebuild(data.store(), policy)
    assert (
        index.all() == written == [summarise(data.store(), s.session_id, policy) for s in written]
    )
    assert [s.state for s in written].count(SealState.OPEN) == 1
    assert all(s.category and s.retain_until for s in written)
    assert index.get(writer.session_id) == summarise(data.store(), writer.session_id, policy)
    assert index.get(layout.new_session_id()) is None
    index.close()


def test_reconcile_adds_new_sessions_and_updates_unfinished_ones(data: DataDir) -> None:
    index = SessionIndex.open(data.index_url())
    sealed = record_session(data, "hanoi", "VKS-1/2026", SEGMENT, report=False)
    writer = open_session(data)
    first = reconcile(index, data.store(), None, batch=1)
    assert (first.listed, first.read, first.changed, first.batches) == (2, 2, 2, 2)
    again = reconcile(index, data.store(), None)
    assert (again.read, again.changed) == (1, 0)  # only the open session is read again
    writer.stop("kết thúc")
    assert reconcile(index, data.store(), None).changed == 1
    states = {s.session_id: s.state for s in index.all()}
    assert states == {sealed: SealState.SEALED, writer.session_id: SealState.SEALED}
    assert reconcile(index, data.store(), None).read == 0  # sealed rows are not read again
    index.close()


def test_search_scopes_by_unit_and_filters_by_text_and_date(data: DataDir) -> None:
    hanoi = record_session(data, "hanoi", "VKS-1/2026", SEGMENT)
    record_session(data, "danang", "VKS-2/2026", SEGMENT)
    writer = open_session(data)  # recorded without a unit
    writer.close()
    index = SessionIndex.open(data.index_url())
    reconcile(index, data.store(), None)

    def found(**criteria: Any) -> set[str]:
        page = index.search(SessionSearch(**criteria), page=1, per_page=10)
        return {s.session_id for s in page.items}

    assert found(units={"hanoi"}) == {hanoi}
    assert found(units={"hanoi", "supreme"}, unit_of_unassigned="supreme") == {
        hanoi,
        writer.session_id,
    }
    assert found(units={"hanoi"}, unit_of_unassigned="supreme") == {hanoi}
    assert len(found()) == 3
    assert found(case_number="VKS-1/") == {hanoi}
    assert found(accused="Văn A", units={"hanoi"}) == {hanoi}
    assert found(investigator="Trần Thị", room="Phòng") == found(units={"hanoi", "danang"})
    started = summarise(data.store(), hanoi).started_at
    assert started is not None
    assert len(found(date_from=started[:10], date_to=started[:10], timezone="UTC")) == 3
    assert found(date_to="2000-01-01") == set()
    first = index.search(SessionSearch(), page=1, per_page=2)
    second = index.search(SessionSearch(), page=2, per_page=2)
    assert (first.total, first.pages, first.has_next, second.has_prev) == (3, 2, True, True)
    assert len(first.items) == 2 and len(second.items) == 1 and not second.has_next
    index.close()


def test_opening_an_index_left_by_an_older_reindex_replaces_it(data: DataDir) -> None:
    """`sealroom reindex` used to keep an unversioned table of the same name."""
    path = data.root / "session-index.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE session_index (session_id VARCHAR(40) PRIMARY KEY, room TEXT)")
        old.execute("INSERT INTO session_index VALUES ('s-20260101T000000Z-00000000', 'P1')")
    old.close()
    session_id = record_session(data, "hanoi", "VKS-1/2026", SEGMENT, report=False)
    index = SessionIndex.open(data.index_url())
    assert index.all() == []
    assert [s.session_id for s in index.rebuild(data.store())] == [session_id]
    columns = {c["name"] for c in sqlalchemy.inspect(index.engine).get_columns("session_index")}
    assert {"unit", "head", "investigators", "segments", "state"} <= columns
    index.close()


def test_processes_opening_a_new_index_at_once_all_succeed(data: DataDir) -> None:
    url = data.index_url()
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            SessionIndex.open(url).close()
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert SessionIndex.open(url).all() == []
