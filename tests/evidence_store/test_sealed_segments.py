"""A segment's sealed values, read from its signed link without verifying the whole session:
what the player checks the bytes against. The values are the link's; a link that is not the
device's (edited, unsigned, moved to another place of the chain) or a session whose signer
is not trusted gives none, and a failure names the first link that fails."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evidence_store import SealedSegments, TamperedError, TrustStore
from evidence_store.errors import UntrustedSignerError
from tests.support.evidence import (
    edit_json,
    link_path,
    new_data_dir,
    record_session,
    segment_media,
    sig_path,
)


@pytest.fixture
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return segment_media(tmp_path_factory, 4)


def test_each_segment_is_what_its_signed_link_seals(tmp_path: Path, media: list[Path]) -> None:
    data = new_data_dir(tmp_path)
    session_id = record_session(data.store(), data.signer(), media)  # 8 links, 4 segments
    sealed = SealedSegments(data.store(), session_id, data.trust())
    for index, path in enumerate(media):
        segment = sealed.segment(index)
        assert segment is not None and segment.index == index
        assert segment.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert segment.size == path.stat().st_size
    assert sealed.segment(4) is None  # the chain seals no fifth segment


def test_an_edited_link_gives_no_values_and_names_itself(tmp_path: Path, media: list[Path]) -> None:
    data = new_data_dir(tmp_path)
    session_id = record_session(data.store(), data.signer(), media)
    session_dir = data.session_dir(session_id)
    edit_json(link_path(session_dir, 5), lambda link: link["segment"].update(sha256="0" * 64))
    sealed = SealedSegments(data.store(), session_id, data.trust())
    assert sealed.segment(1) is not None  # sealed by links before the edited one
    with pytest.raises(TamperedError) as caught:
        sealed.segment(2)  # link 5 seals segment 2
    assert caught.value.location == "chain/000005.json"
    assert sealed.segment(0) is not None  # what was accepted stays accepted


def test_a_missing_signature_before_the_last_link_is_tampering(
    tmp_path: Path, media: list[Path]
) -> None:
    data = new_data_dir(tmp_path)
    session_id = record_session(data.store(), data.signer(), media)
    sig_path(data.session_dir(session_id), 2).unlink()
    with pytest.raises(TamperedError) as caught:
        SealedSegments(data.store(), session_id, data.trust()).segment(1)
    assert caught.value.location == "chain/000002.sig"


def test_an_untrusted_signer_gives_no_values(tmp_path: Path, media: list[Path]) -> None:
    data = new_data_dir(tmp_path)
    session_id = record_session(data.store(), data.signer(), media)
    with pytest.raises(UntrustedSignerError):
        SealedSegments(data.store(), session_id, TrustStore()).segment(0)
