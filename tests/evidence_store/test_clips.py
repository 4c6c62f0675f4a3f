"""Clip proofs: a span of a sealed session tied to its signed head, checked against the store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography import x509

from evidence_store.clips import ClipProof, clip_proof, verify_clip
from evidence_store.errors import TamperedError, UntrustedSignerError, UsageError
from evidence_store.session import SessionWriter
from evidence_store.signing import TrustStore
from tests.support.evidence import (
    CHAIN_LENGTH,
    LINK_PAUSE,
    LINK_SEG1,
    LINK_SEG2,
    MEDIA,
    METADATA,
    SEGMENT_US,
    SEGMENTS,
    Sessions,
    attacker_copy,
    edit_json,
    flip_byte,
    link_path,
    record_pristine,
    seal_next,
    segment_file,
    segment_media,
    self_signed_attacker,
)

# 1.5 s to 2.5 s: the second half of segment 1 and the first half of segment 2.
SPAN = (SEGMENT_US + SEGMENT_US // 2, 2 * SEGMENT_US + SEGMENT_US // 2)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return segment_media(tmp_path_factory)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, media: list[Path]) -> Sessions:
    return record_pristine(tmp_path_factory.mktemp("pristine"), media)


@pytest.fixture(scope="module")
def proof(pristine: Sessions) -> ClipProof:
    return clip_proof(pristine.data.store(), pristine.main, pristine.data.trust(), *SPAN)


@pytest.fixture
def copy(pristine: Sessions, tmp_path: Path) -> Sessions:
    return attacker_copy(pristine, tmp_path)


def test_a_proof_names_the_covered_segments_whole_and_every_chain_value(
    pristine: Sessions, proof: ClipProof
) -> None:
    verified = pristine.verify()
    assert [s.index for s in proof.segments] == [1, 2]
    assert [s.link_seq for s in proof.segments] == [LINK_SEG1, LINK_SEG2]
    assert proof.segments[0].start_us == SEGMENT_US
    assert proof.segments[1].duration_us == SEGMENT_US
    session = pristine.session_dir()
    assert proof.segments[1].size == segment_file(session, 2).stat().st_size
    assert len(proof.link_hashes) == CHAIN_LENGTH
    assert proof.head_seq == CHAIN_LENGTH - 1
    assert proof.head_hash == verified.head == proof.link_hashes[-1]
    assert proof.signer_subject == "CN=phong-hoi-cung-1,O=sealroom"
    # The chain values are the spec's: each link names the hash of the one before it.
    link_3 = json.loads(link_path(session, LINK_PAUSE).read_bytes())
    assert link_3["prev"] == proof.link_hashes[LINK_PAUSE - 1]


def test_a_proof_survives_its_json_form(proof: ClipProof) -> None:
    text = proof.to_json()
    assert ClipProof.from_json(text) == proof
    assert json.loads(text)["type"] == "sealroom.clip-proof"


def test_a_malformed_proof_text_is_refused(proof: ClipProof) -> None:
    document = json.loads(proof.to_json())
    document["link_hashes"][0] = "not-a-hash"
    with pytest.raises(TamperedError, match="malformed clip proof"):
        ClipProof.from_json(json.dumps(document))


def test_a_pristine_clip_verifies(pristine: Sessions, proof: ClipProof) -> None:
    result = verify_clip(pristine.data.store(), proof, pristine.data.trust())
    assert result.segments == 2
    assert result.head == proof.head_hash
    assert result.signer == "CN=phong-hoi-cung-1,O=sealroom"
    assert result.as_dict()["segment_names"] == ["000001.mp4", "000002.mp4"]


def test_a_clip_verifies_with_only_its_own_segments_present(
    copy: Sessions, proof: ClipProof
) -> None:
    session = copy.session_dir()
    for index in (0, 3):
        segment_file(session, index).unlink()
    assert verify_clip(copy.data.store(), proof, copy.data.trust()).segments == 2


def test_a_flipped_byte_outside_the_clip_is_not_the_clips_concern(
    copy: Sessions, proof: ClipProof
) -> None:
    flip_byte(segment_file(copy.session_dir(), 3))
    assert verify_clip(copy.data.store(), proof, copy.data.trust()).segments == 2


def test_a_flipped_byte_in_a_covered_segment(copy: Sessions, proof: ClipProof) -> None:
    flip_byte(segment_file(copy.session_dir(), 2))
    with pytest.raises(TamperedError, match="does not match its sealed SHA-256") as caught:
        verify_clip(copy.data.store(), proof, copy.data.trust())
    assert caught.value.location == "segments/000002.mp4"


def test_a_truncated_covered_segment(copy: Sessions, proof: ClipProof) -> None:
    path = segment_file(copy.session_dir(), 1)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(TamperedError, match="truncated") as caught:
        verify_clip(copy.data.store(), proof, copy.data.trust())
    assert caught.value.location == "segments/000001.mp4"


def test_an_edited_link_breaks_the_chain_values(copy: Sessions, proof: ClipProof) -> None:
    edit_json(link_path(copy.session_dir(), LINK_PAUSE), lambda link: link.update(time="x"))
    with pytest.raises(TamperedError, match="not the chain value") as caught:
        verify_clip(copy.data.store(), proof, copy.data.trust())
    assert caught.value.location == "chain/000003.json"


def test_an_edited_manifest_fails_its_signature(copy: Sessions, proof: ClipProof) -> None:
    flip_byte(copy.session_dir() / "manifest.json")
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        verify_clip(copy.data.store(), proof, copy.data.trust())
    assert caught.value.location == "manifest.json"


def test_a_proof_that_claims_other_segments_is_refused(
    pristine: Sessions, proof: ClipProof
) -> None:
    forged = dataclasses.replace(proof, segments=proof.segments[:1])
    with pytest.raises(TamperedError, match="segments are not the sealed segments"):
        verify_clip(pristine.data.store(), forged, pristine.data.trust())


def test_a_proof_with_a_forged_chain_value_is_refused(pristine: Sessions, proof: ClipProof) -> None:
    values = list(proof.link_hashes)
    values[2] = "0" * 64
    forged = dataclasses.replace(proof, link_hashes=tuple(values))
    with pytest.raises(TamperedError, match="not the chain value") as caught:
        verify_clip(pristine.data.store(), forged, pristine.data.trust())
    assert caught.value.location == "chain/000002.json"


def test_a_signer_outside_the_trust_roots_is_untrusted(
    pristine: Sessions, proof: ClipProof
) -> None:
    genuine = x509.load_pem_x509_certificate(
        (pristine.session_dir() / "signer" / "certificate.pem").read_bytes()
    )
    stranger = self_signed_attacker(genuine)
    with pytest.raises(UntrustedSignerError, match="does not chain to a trusted root"):
        verify_clip(pristine.data.store(), proof, stranger.trust())


@pytest.mark.parametrize(
    ("start_us", "end_us", "message"),
    [
        (2 * SEGMENT_US, 2 * SEGMENT_US, "must end after it starts"),
        (3 * SEGMENT_US, SEGMENT_US, "must end after it starts"),
        (-1, SEGMENT_US, "must end after it starts"),
        (0, SEGMENTS * SEGMENT_US + 1, "after the recording's end"),
    ],
)
def test_a_bad_span_is_a_usage_error(
    pristine: Sessions, start_us: int, end_us: int, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        clip_proof(pristine.data.store(), pristine.main, pristine.data.trust(), start_us, end_us)


def test_the_whole_recording_is_a_valid_span(pristine: Sessions) -> None:
    whole = clip_proof(
        pristine.data.store(), pristine.main, pristine.data.trust(), 0, SEGMENTS * SEGMENT_US
    )
    assert [s.index for s in whole.segments] == list(range(SEGMENTS))


def test_an_unsealed_session_has_no_clips(pristine: Sessions, media: list[Path]) -> None:
    store = pristine.data.store()
    writer = SessionWriter.start(store, pristine.data.signer(), METADATA, MEDIA)
    try:
        seal_next(writer, media[0])
        with pytest.raises(UsageError, match="not sealed"):
            clip_proof(store, writer.session_id, pristine.data.trust(), 0, SEGMENT_US)
    finally:
        writer.close()


def test_a_tampered_session_gives_no_proof(copy: Sessions) -> None:
    flip_byte(segment_file(copy.session_dir(), 0))
    with pytest.raises(TamperedError, match="sealed SHA-256"):
        clip_proof(copy.data.store(), copy.main, copy.data.trust(), *SPAN)


def test_an_empty_trust_store_refuses_to_make_a_proof(pristine: Sessions) -> None:
    with pytest.raises(UntrustedSignerError):
        clip_proof(pristine.data.store(), pristine.main, TrustStore(), *SPAN)
