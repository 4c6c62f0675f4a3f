"""Every way to break a sealed session that we know of, one test each, each detected.

Each test copies a pristine session (recorded with real H.264 + AAC segments), makes its files
writable as an attacker would, breaks it, and checks the verifier names both the reason and the
first broken file. The session is: link 0 start, 1-2 segments 0-1, 3 pause, 4 resume,
5-6 segments 2-3, 7 stop.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from evidence_store.errors import IncompleteError, TamperedError, UntrustedSignerError
from tests.support.evidence import (
    CHAIN_LENGTH,
    LINK_PAUSE,
    LINK_RESUME,
    LINK_SEG2,
    LINK_SEG3,
    LINK_START,
    LINK_STOP,
    METADATA,
    PAUSE_REASON,
    SEGMENTS,
    Sessions,
    attacker_copy,
    attacker_with_own_ca,
    canonical,
    edit_json,
    flip_byte,
    link_path,
    record_pristine,
    remove_link,
    segment_file,
    segment_media,
    self_signed_attacker,
    sig_path,
)
from tests.support.tampering import (
    EDITED_REASON,
    EDITED_TIME,
    resign_with_new_case_number,
    set_case_number,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Sessions:
    media = segment_media(tmp_path_factory)
    return record_pristine(tmp_path_factory.mktemp("pristine"), media)


@pytest.fixture
def copy(pristine: Sessions, tmp_path: Path) -> Sessions:
    return attacker_copy(pristine, tmp_path)


@pytest.fixture
def session(copy: Sessions) -> Path:
    """The main session's directory in the attacker's writable copy."""
    return copy.session_dir()


def genuine_certificate(session: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((session / "signer" / "certificate.pem").read_bytes())


# -- the pristine session ----------------------------------------------------------------------


def test_the_pristine_session_verifies(pristine: Sessions) -> None:
    result = pristine.verify()
    assert result.session_id == pristine.main
    assert result.segments == SEGMENTS
    assert result.chain_length == CHAIN_LENGTH
    assert result.signer == "CN=phong-hoi-cung-1,O=sealroom"
    assert result.algorithm == "ed25519"
    assert result.duration_us == SEGMENTS * 1_000_000
    assert not result.interrupted
    session = pristine.session_dir()
    assert result.media_bytes == sum(
        segment_file(session, i).stat().st_size for i in range(SEGMENTS)
    )
    manifest = json.loads((session / "manifest.json").read_bytes())
    assert result.head == manifest["chain"]["head"]
    assert manifest["metadata"]["case_number"] == METADATA.case_number
    assert manifest["pauses"][0]["reason"] == PAUSE_REASON
    assert pristine.verify(pristine.other).chain_length == CHAIN_LENGTH


def test_the_attacker_copy_verifies_before_it_is_touched(copy: Sessions) -> None:
    assert copy.verify().chain_length == CHAIN_LENGTH


# -- flipped bytes -----------------------------------------------------------------------------


def test_a_flipped_byte_in_a_segment(copy: Sessions, session: Path) -> None:
    flip_byte(segment_file(session, 1))
    with pytest.raises(TamperedError, match="does not match its sealed SHA-256") as caught:
        copy.verify()
    assert caught.value.location == "segments/000001.mp4"


def test_a_flipped_byte_in_the_manifest(copy: Sessions, session: Path) -> None:
    flip_byte(session / "manifest.json")
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "manifest.json"


def test_a_flipped_byte_in_an_event_link(copy: Sessions, session: Path) -> None:
    flip_byte(link_path(session, LINK_PAUSE))
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "chain/000003.json"


# -- segments cut, removed, duplicated, reordered, spliced -------------------------------------


def test_a_truncated_segment(copy: Sessions, session: Path) -> None:
    path = segment_file(session, 2)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(TamperedError, match=r"segment is \d+ bytes.*\(truncated\)") as caught:
        copy.verify()
    assert caught.value.location == "segments/000002.mp4"


def test_a_deleted_segment(copy: Sessions, session: Path) -> None:
    segment_file(session, 2).unlink()
    with pytest.raises(TamperedError, match="segment missing") as caught:
        copy.verify()
    assert caught.value.location == "segments/000002.mp4"


def test_a_segment_duplicated_as_a_new_file(copy: Sessions, session: Path) -> None:
    shutil.copyfile(segment_file(session, 3), segment_file(session, 4))
    with pytest.raises(TamperedError, match="not part of the sealed chain") as caught:
        copy.verify()
    assert caught.value.location == "segments/000004.mp4"


def test_a_segment_copied_over_the_next_one(copy: Sessions, session: Path) -> None:
    shutil.copyfile(segment_file(session, 1), segment_file(session, 2))
    with pytest.raises(TamperedError, match=r"segment is \d+ bytes|sealed SHA-256") as caught:
        copy.verify()
    assert caught.value.location == "segments/000002.mp4"


def test_two_segments_swapped(copy: Sessions, session: Path) -> None:
    first, second = segment_file(session, 1), segment_file(session, 2)
    first_bytes = first.read_bytes()
    shutil.copyfile(second, first)
    second.write_bytes(first_bytes)
    with pytest.raises(TamperedError, match=r"segment is \d+ bytes|sealed SHA-256") as caught:
        copy.verify()
    assert caught.value.location == "segments/000001.mp4"


def test_a_segment_file_replaced_by_one_from_another_session(copy: Sessions, session: Path) -> None:
    shutil.copyfile(segment_file(copy.session_dir(copy.other), 2), segment_file(session, 2))
    with pytest.raises(TamperedError, match=r"segment is \d+ bytes|sealed SHA-256") as caught:
        copy.verify()
    assert caught.value.location == "segments/000002.mp4"


def test_a_segment_with_its_signed_link_spliced_in_from_another_session(
    copy: Sessions, session: Path
) -> None:
    # Same appliance, same key: the link's signature verifies; only its session id betrays it.
    other = copy.session_dir(copy.other)
    for source, target in [
        (link_path(other, LINK_SEG2), link_path(session, LINK_SEG2)),
        (sig_path(other, LINK_SEG2), sig_path(session, LINK_SEG2)),
        (segment_file(other, 2), segment_file(session, 2)),
    ]:
        shutil.copyfile(source, target)
    with pytest.raises(TamperedError, match=f"link belongs to session {copy.other}") as caught:
        copy.verify()
    assert caught.value.location == "chain/000005.json"


def test_another_sessions_segment_and_link_appended(copy: Sessions, session: Path) -> None:
    other = copy.session_dir(copy.other)
    shutil.copyfile(link_path(other, LINK_SEG3), link_path(session, CHAIN_LENGTH))
    shutil.copyfile(sig_path(other, LINK_SEG3), sig_path(session, CHAIN_LENGTH))
    shutil.copyfile(segment_file(other, 3), segment_file(session, SEGMENTS))
    with pytest.raises(TamperedError, match="link belongs to session") as caught:
        copy.verify()
    assert caught.value.location == "chain/000008.json"


def test_the_seal_of_another_session_copied_over(copy: Sessions, session: Path) -> None:
    # Same key: manifest.sig and SHA256SUMS.sig verify; what they seal is another chain.
    other = copy.session_dir(copy.other)
    for name in ("manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"):
        shutil.copyfile(other / name, session / name)
    with pytest.raises(
        TamperedError, match=r"does not list exactly|does not match the chain"
    ) as caught:
        copy.verify()
    assert caught.value.location in {"manifest.json", "SHA256SUMS"}


# -- edited fields (no re-signing) -------------------------------------------------------------


def test_an_edited_case_number_in_the_manifest(copy: Sessions, session: Path) -> None:
    edit_json(session / "manifest.json", set_case_number)
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "manifest.json"


def test_an_edited_case_number_in_the_first_link(copy: Sessions, session: Path) -> None:
    edit_json(link_path(session, LINK_START), lambda link: set_case_number(link["event"]))
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "chain/000000.json"


def test_an_edited_time_in_the_manifest(copy: Sessions, session: Path) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["pauses"][0]["paused_at"] = EDITED_TIME

    edit_json(session / "manifest.json", edit)
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "manifest.json"


def test_an_edited_time_in_a_link(copy: Sessions, session: Path) -> None:
    edit_json(link_path(session, LINK_PAUSE), lambda link: link.update(time=EDITED_TIME))
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "chain/000003.json"


def test_an_edited_pause_reason_in_the_manifest(copy: Sessions, session: Path) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["pauses"][0]["reason"] = EDITED_REASON

    edit_json(session / "manifest.json", edit)
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "manifest.json"


def test_an_edited_pause_reason_in_its_link(copy: Sessions, session: Path) -> None:
    def edit(link: dict[str, Any]) -> None:
        link["event"]["reason"] = EDITED_REASON

    edit_json(link_path(session, LINK_PAUSE), edit)
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "chain/000003.json"


# -- everything re-signed with a key the trust roots do not know -------------------------------


def test_a_session_re_signed_with_a_self_signed_key(copy: Sessions, session: Path) -> None:
    attacker = self_signed_attacker(genuine_certificate(session))
    resign_with_new_case_number(session, attacker)
    # The forgery is internally perfect: trusting the attacker's root, it verifies.
    assert copy.verify(trust=attacker.trust()).session_id == copy.main
    with pytest.raises(UntrustedSignerError, match="does not chain to a trusted root") as caught:
        copy.verify()
    assert caught.value.location == "signer/certificate.pem"


def test_a_session_re_signed_with_a_key_from_the_attackers_own_ca(
    copy: Sessions, session: Path
) -> None:
    attacker = attacker_with_own_ca(genuine_certificate(session))
    resign_with_new_case_number(session, attacker)
    assert (session / "signer" / "chain.pem").exists()
    assert copy.verify(trust=attacker.trust()).session_id == copy.main
    with pytest.raises(UntrustedSignerError, match="does not chain to a trusted root") as caught:
        copy.verify()
    assert caught.value.location == "signer/certificate.pem"


# -- removed links: the head rolled back -------------------------------------------------------


def roll_back(session: Path, *, keep_links: int) -> None:
    """Delete every link from ``keep_links`` on, with the segments those links sealed."""
    for seq in range(keep_links, CHAIN_LENGTH):
        link = json.loads(link_path(session, seq).read_bytes())
        if link["kind"] == "segment":
            segment_file(session, link["segment"]["index"]).unlink()
        remove_link(session, seq)


def test_last_segments_removed_with_the_manifest_kept(copy: Sessions, session: Path) -> None:
    roll_back(session, keep_links=LINK_SEG2)
    with pytest.raises(TamperedError, match=r"head rolled back") as caught:
        copy.verify()
    assert caught.value.location == "manifest.json"


def test_last_segments_removed_with_the_manifest_and_checksums(
    copy: Sessions, session: Path
) -> None:
    roll_back(session, keep_links=LINK_SEG2)
    for name in ("manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"):
        (session / name).unlink()
    # Without a seal the rollback looks like a recording that was cut off: incomplete.
    with pytest.raises(IncompleteError, match="not sealed") as caught:
        copy.verify()
    assert caught.value.location == "manifest.json"


def test_a_removed_pause_event(copy: Sessions, session: Path) -> None:
    remove_link(session, LINK_PAUSE)
    with pytest.raises(TamperedError, match="not part of the sealed chain") as caught:
        copy.verify()
    assert caught.value.location == "chain/000004.json"


def test_a_removed_pause_event_with_later_links_renumbered(copy: Sessions, session: Path) -> None:
    remove_link(session, LINK_PAUSE)
    for seq in range(LINK_RESUME, CHAIN_LENGTH):
        link_path(session, seq).rename(link_path(session, seq - 1))
        sig_path(session, seq).rename(sig_path(session, seq - 1))
    with pytest.raises(TamperedError, match="link says seq 4 but is link 3") as caught:
        copy.verify()
    assert caught.value.location == "chain/000003.json"


# -- strays, missing signatures, non-canonical bytes -------------------------------------------


def test_an_extra_unknown_file(copy: Sessions, session: Path) -> None:
    (session / "ghi-chú.txt").write_text("bản sao thứ hai", encoding="utf-8")
    with pytest.raises(TamperedError, match="not part of the sealed chain") as caught:
        copy.verify()
    assert caught.value.location == "ghi-chú.txt"


def test_a_missing_link_signature_in_the_middle(copy: Sessions, session: Path) -> None:
    sig_path(session, LINK_PAUSE).unlink()
    with pytest.raises(TamperedError, match="signature missing") as caught:
        copy.verify()
    assert caught.value.location == "chain/000003.sig"


def test_a_missing_last_link_signature_in_a_sealed_session(copy: Sessions, session: Path) -> None:
    # A sealed session lists this signature in SHA256SUMS and the manifest: its absence is
    # tampering, not a recording cut off before it could sign its last link.
    sig_path(session, LINK_STOP).unlink()
    with pytest.raises(TamperedError, match="signature missing") as caught:
        copy.verify()
    assert caught.value.location == "chain/000007.sig"


def test_a_manifest_without_its_signature_is_a_seal_cut_off(copy: Sessions, session: Path) -> None:
    # The manifest is signed last when a session is sealed: without manifest.sig the seal is
    # not complete (cut off, or the signature removed), which recovery finishes.
    (session / "manifest.sig").unlink()
    with pytest.raises(IncompleteError, match="missing: the seal was cut off") as caught:
        copy.verify()
    assert caught.value.location == "manifest.sig"


def test_an_edited_checksum_list(copy: Sessions, session: Path) -> None:
    checksums = session / "SHA256SUMS"
    checksums.write_bytes(checksums.read_bytes().replace(b"  signer/", b"  signer/./", 1))
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "SHA256SUMS"


def test_non_canonical_json_in_a_link(copy: Sessions, session: Path) -> None:
    path = link_path(session, LINK_SEG2)
    document = json.loads(path.read_bytes())
    path.write_bytes(json.dumps(document, sort_keys=True, ensure_ascii=False).encode())
    with pytest.raises(TamperedError, match="signature does not verify") as caught:
        copy.verify()
    assert caught.value.location == "chain/000005.json"


def test_non_canonical_json_signed_by_the_device_itself(copy: Sessions, session: Path) -> None:
    # Even with a valid signature (a faulty writer, or an insider holding the device key),
    # bytes that are not canonical are refused.
    signer = copy.data.signer()
    path = link_path(session, LINK_SEG2)
    body = json.dumps(json.loads(path.read_bytes()), sort_keys=True, ensure_ascii=False).encode()
    path.write_bytes(body)
    sig_path(session, LINK_SEG2).write_bytes(signer.sign(body))
    with pytest.raises(TamperedError, match="not in canonical form") as caught:
        copy.verify()
    assert caught.value.location == "chain/000005.json"


def test_escaped_non_ascii_signed_by_the_device_itself(copy: Sessions, session: Path) -> None:
    signer = copy.data.signer()
    path = link_path(session, LINK_START)
    document = json.loads(path.read_bytes())
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()  # \u escapes
    assert body != canonical(document)
    path.write_bytes(body)
    sig_path(session, LINK_START).write_bytes(signer.sign(body))
    with pytest.raises(TamperedError, match="not in canonical form") as caught:
        copy.verify()
    assert caught.value.location == "chain/000000.json"
