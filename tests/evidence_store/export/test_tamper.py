"""Tampered export packages: every way of the tamper catalogue
(tests/evidence_store/test_tamper_catalogue.py), applied to a package.

Each case copies one pristine package, tampers with it, and runs the package's own verify.py
as a separate process: it must exit 1 and name the failing file and the reason. The hand
procedure of the package's README (openssl + sha256sum, under dash) must name the same file.

The catalogue's cases leave PACKAGE-SHA256SUMS alone, so they show what the device's
signatures catch on their own. The package's own cases show what the exporter's signature
adds: an attacker who recomputes PACKAGE-SHA256SUMS, or signs it with a key of their own,
is caught too; and an insider holding the exporter's key still cannot make verify.py report
a covered segment as left out.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from evidence_store.clips import clip_proof
from evidence_store.custody import CustodyLog
from evidence_store.errors import UsageError, VerificationError
from evidence_store.export.package import ExportSpec, build_package
from evidence_store.signing import DeviceSigner, public_key_pem
from tests.support.evidence import (
    CHAIN_LENGTH,
    LINK_PAUSE,
    LINK_RESUME,
    LINK_SEG2,
    LINK_SEG3,
    LINK_START,
    SEGMENT_US,
    SEGMENTS,
    Attacker,
    Sessions,
    attacker_copy,
    attacker_with_own_ca,
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
from tests.support.exports import package_procedure, run_verify
from tests.support.hand_procedure import HandResult, run_procedure
from tests.support.paths import TESTS
from tests.support.tampering import (
    EDITED_REASON,
    EDITED_TIME,
    resign_with_new_case_number,
    set_case_number,
)

PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class Pristine:
    sessions: Sessions
    session_package: Path
    clip_package: Path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    base = tmp_path_factory.mktemp("export-tamper")
    sessions = record_pristine(base / "data", segment_media(tmp_path_factory))
    store, trust, signer = sessions.data.store(), sessions.data.trust(), sessions.data.signer()
    log = CustodyLog.open(f"sqlite:///{base / 'custody.db'}", store, signer)
    # Rows 1-3 and 5 are the main session's: 1-2-3 chain, row 4 (another session) is a gap.
    for action, session in [
        ("show", sessions.main),
        ("verify", sessions.main),
        ("play", sessions.main),
        ("show", sessions.other),
        ("verify", sessions.main),
    ]:
        log.record(actor="kiem-sat-vien", role="prosecutor", action=action, session_id=session)
    custody = log.entries(session_id=sessions.main)
    whole = build_package(
        store,
        ExportSpec(sessions.main),
        trust,
        base / "session",
        custody=custody,
        exported_by="test",
        signer=signer,
    )
    proof = clip_proof(store, sessions.main, trust, SEGMENT_US + 1, 2 * SEGMENT_US + 1)
    clip = build_package(
        store,
        ExportSpec(sessions.main, proof),
        trust,
        base / "clip",
        custody=custody,
        exported_by="test",
        signer=signer,
    )
    return Pristine(sessions, whole.path, clip.path)


def writable_copy(package: Path, destination: Path) -> Path:
    """A copy of a package whose files can be changed, as an attacker makes it."""
    target = destination / package.name
    shutil.copytree(package, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return target


@dataclass(frozen=True)
class Tampered:
    package: Path
    session: Path  # sessions/<id>/ inside the package
    other: Path  # the other session of the same appliance (in the source store)
    signer: DeviceSigner  # the genuine device key, for the insider's cases


@pytest.fixture
def session_package(pristine: Pristine, tmp_path: Path) -> Tampered:
    package = writable_copy(pristine.session_package, tmp_path)
    sessions = pristine.sessions
    return Tampered(
        package,
        package / "sessions" / sessions.main,
        sessions.session_dir(sessions.other),
        sessions.data.signer(),
    )


@pytest.fixture
def clip_package(pristine: Pristine, tmp_path: Path) -> Tampered:
    package = writable_copy(pristine.clip_package, tmp_path)
    sessions = pristine.sessions
    return Tampered(
        package,
        package / "sessions" / sessions.main,
        sessions.session_dir(sessions.other),
        sessions.data.signer(),
    )


def assert_caught(package: Path, where: str, reason: str) -> str:
    """verify.py exits 1 and names ``where`` (a path inside the session) and ``reason``."""
    result = run_verify(package)
    assert result.returncode == 1, result.stdout + result.stderr
    failure = result.stdout.split("RESULT: NOT INTACT", 1)[1]
    file = re.search(r"file:\s+(\S+)", failure)
    assert file and file.group(1).endswith(where), failure
    assert re.search(reason, failure), failure
    return result.stdout


# -- every way of the tamper catalogue ---------------------------------------------------------


def copy_from_other(session: Path, other: Path, *names: str) -> None:
    for name in names:
        (session / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(other / name, session / name)


def swap_segments(session: Path) -> None:
    first, second = segment_file(session, 1), segment_file(session, 2)
    first_bytes = first.read_bytes()
    shutil.copyfile(second, first)
    second.write_bytes(first_bytes)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1000])


def set_pause_time(document: dict[str, Any]) -> None:
    document["pauses"][0]["paused_at"] = EDITED_TIME


def set_pause_reason(document: dict[str, Any]) -> None:
    document["pauses"][0]["reason"] = EDITED_REASON


def roll_back(session: Path, *, keep_links: int) -> None:
    for seq in range(keep_links, CHAIN_LENGTH):
        link = json.loads(link_path(session, seq).read_bytes())
        if link["kind"] == "segment":
            segment_file(session, link["segment"]["index"]).unlink()
        remove_link(session, seq)


def unseal(session: Path) -> None:
    roll_back(session, keep_links=LINK_SEG2)
    for name in ("manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"):
        (session / name).unlink()


def renumber_after_removing_the_pause(session: Path) -> None:
    remove_link(session, LINK_PAUSE)
    for seq in range(LINK_RESUME, CHAIN_LENGTH):
        link_path(session, seq).rename(link_path(session, seq - 1))
        sig_path(session, seq).rename(sig_path(session, seq - 1))


def non_canonical(path: Path) -> None:
    document = json.loads(path.read_bytes())
    path.write_bytes(json.dumps(document, sort_keys=True, ensure_ascii=False).encode())


def genuine_certificate(session: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((session / "signer" / "certificate.pem").read_bytes())


def resign_self_signed(session: Path) -> None:
    resign_with_new_case_number(session, self_signed_attacker(genuine_certificate(session)))


def resign_own_ca(session: Path) -> None:
    resign_with_new_case_number(session, attacker_with_own_ca(genuine_certificate(session)))


def append_from_other(session: Path, other: Path) -> None:
    shutil.copyfile(link_path(other, LINK_SEG3), link_path(session, CHAIN_LENGTH))
    shutil.copyfile(sig_path(other, LINK_SEG3), sig_path(session, CHAIN_LENGTH))
    shutil.copyfile(segment_file(other, 3), segment_file(session, SEGMENTS))


def add_unknown_file(session: Path) -> None:
    (session / "ghi-chú.txt").write_text("bản sao thứ hai", encoding="utf-8")


def sign_non_canonical(t: Tampered) -> None:
    path = link_path(t.session, LINK_SEG2)
    body = json.dumps(json.loads(path.read_bytes()), sort_keys=True, ensure_ascii=False).encode()
    path.write_bytes(body)
    sig_path(t.session, LINK_SEG2).write_bytes(t.signer.sign(body))


def sign_escaped_non_ascii(t: Tampered) -> None:
    path = link_path(t.session, LINK_START)
    body = json.dumps(json.loads(path.read_bytes()), sort_keys=True, separators=(",", ":"))
    path.write_bytes(body.encode())
    sig_path(t.session, LINK_START).write_bytes(t.signer.sign(body.encode()))


Tamper = Callable[[Tampered], object]  # what a tamper returns is ignored
CASES: dict[str, tuple[Tamper, str, str]] = {
    # flipped bytes
    "flipped byte in a segment": (
        lambda t: flip_byte(segment_file(t.session, 1)),
        "segments/000001.mp4",
        "does not match its sealed SHA-256",
    ),
    "flipped byte in the manifest": (
        lambda t: flip_byte(t.session / "manifest.json"),
        "manifest.json",
        "signature does not verify",
    ),
    "flipped byte in an event link": (
        lambda t: flip_byte(link_path(t.session, LINK_PAUSE)),
        "chain/000003.json",
        "signature does not verify",
    ),
    # segments cut, removed, duplicated, reordered, spliced
    "truncated segment": (
        lambda t: truncate(segment_file(t.session, 2)),
        "segments/000002.mp4",
        r"segment is \d+ bytes.*\(truncated\)",
    ),
    "deleted segment": (
        lambda t: segment_file(t.session, 2).unlink(),
        "segments/000002.mp4",
        "segment missing",
    ),
    "segment duplicated as a new file": (
        lambda t: shutil.copyfile(segment_file(t.session, 3), segment_file(t.session, 4)),
        "segments/000004.mp4",
        "not part of the sealed chain",
    ),
    "segment copied over the next one": (
        lambda t: shutil.copyfile(segment_file(t.session, 1), segment_file(t.session, 2)),
        "segments/000002.mp4",
        r"segment is \d+ bytes|sealed SHA-256",
    ),
    "two segments swapped": (
        lambda t: swap_segments(t.session),
        "segments/000001.mp4",
        r"segment is \d+ bytes|sealed SHA-256",
    ),
    "segment replaced by one from another session": (
        lambda t: shutil.copyfile(segment_file(t.other, 2), segment_file(t.session, 2)),
        "segments/000002.mp4",
        r"segment is \d+ bytes|sealed SHA-256",
    ),
    "segment with its signed link spliced in from another session": (
        lambda t: copy_from_other(
            t.session,
            t.other,
            f"chain/{LINK_SEG2:06d}.json",
            f"chain/{LINK_SEG2:06d}.sig",
            "segments/000002.mp4",
        ),
        "chain/000005.json",
        "link belongs to session s-",
    ),
    "another session's segment and link appended": (
        lambda t: append_from_other(t.session, t.other),
        "chain/000008.json",
        "link belongs to session",
    ),
    "the seal of another session copied over": (
        lambda t: copy_from_other(
            t.session, t.other, "manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"
        ),
        "SHA256SUMS",
        "does not list exactly",
    ),
    # edited fields, not re-signed
    "edited case number in the manifest": (
        lambda t: edit_json(t.session / "manifest.json", set_case_number),
        "manifest.json",
        "signature does not verify",
    ),
    "edited case number in the first link": (
        lambda t: edit_json(
            link_path(t.session, LINK_START), lambda ln: set_case_number(ln["event"])
        ),
        "chain/000000.json",
        "signature does not verify",
    ),
    "edited time in the manifest": (
        lambda t: edit_json(t.session / "manifest.json", set_pause_time),
        "manifest.json",
        "signature does not verify",
    ),
    "edited time in a link": (
        lambda t: edit_json(
            link_path(t.session, LINK_PAUSE), lambda ln: ln.update(time=EDITED_TIME)
        ),
        "chain/000003.json",
        "signature does not verify",
    ),
    "edited pause reason in the manifest": (
        lambda t: edit_json(t.session / "manifest.json", set_pause_reason),
        "manifest.json",
        "signature does not verify",
    ),
    "edited pause reason in its link": (
        lambda t: edit_json(
            link_path(t.session, LINK_PAUSE), lambda ln: ln["event"].update(reason=EDITED_REASON)
        ),
        "chain/000003.json",
        "signature does not verify",
    ),
    # re-signed with a key the trust root does not know
    "re-signed with a self-signed key": (
        lambda t: resign_self_signed(t.session),
        "signer/certificate.pem",
        "does not chain to a trusted root",
    ),
    "re-signed with a key from the attacker's own CA": (
        lambda t: resign_own_ca(t.session),
        "signer/certificate.pem",
        "does not chain to a trusted root",
    ),
    # removed links: the head rolled back
    "last segments removed, manifest kept": (
        lambda t: roll_back(t.session, keep_links=LINK_SEG2),
        "manifest.json",
        "head rolled back",
    ),
    "last segments removed with the manifest and checksums": (
        lambda t: unseal(t.session),
        "manifest.json",
        "not sealed",
    ),
    "removed pause event": (
        lambda t: remove_link(t.session, LINK_PAUSE),
        "chain/000004.json",
        "not part of the sealed chain",
    ),
    "removed pause event, later links renumbered": (
        lambda t: renumber_after_removing_the_pause(t.session),
        "chain/000003.json",
        "link says seq 4 but is link 3",
    ),
    # strays, missing signatures, non-canonical bytes
    "extra unknown file": (
        lambda t: add_unknown_file(t.session),
        "ghi-chú.txt",
        "not part of the sealed chain",
    ),
    "missing link signature in the middle": (
        lambda t: sig_path(t.session, LINK_PAUSE).unlink(),
        "chain/000003.sig",
        "signature missing",
    ),
    "missing last link signature": (
        lambda t: sig_path(t.session, CHAIN_LENGTH - 1).unlink(),
        "chain/000007.sig",
        "signature missing",
    ),
    "missing manifest signature": (
        lambda t: (t.session / "manifest.sig").unlink(),
        "manifest.sig",
        "missing",
    ),
    "edited checksum list": (
        lambda t: (t.session / "SHA256SUMS").write_bytes(
            (t.session / "SHA256SUMS").read_bytes().replace(b"  signer/", b"  signer/./", 1)
        ),
        "SHA256SUMS",
        "signature does not verify",
    ),
    "non-canonical JSON in a link": (
        lambda t: non_canonical(link_path(t.session, LINK_SEG2)),
        "chain/000005.json",
        "signature does not verify",
    ),
    "non-canonical JSON signed by the device itself": (
        sign_non_canonical,
        "chain/000005.json",
        "not in canonical form",
    ),
    "escaped non-ASCII signed by the device itself": (
        sign_escaped_non_ascii,
        "chain/000000.json",
        "not in canonical form",
    ),
}


def test_the_catalogue_is_covered() -> None:
    """Every tampering test of the catalogue has its case here (by count: names differ)."""
    catalogue = (TESTS / "evidence_store" / "test_tamper_catalogue.py").read_text(encoding="utf-8")
    tampering = [
        name
        for name in re.findall(r"^def (test_\w+)", catalogue, re.MULTILINE)
        if "pristine" not in name and "before_it_is_touched" not in name
    ]
    assert len(CASES) == len(tampering)


def test_the_pristine_package_verifies(session_package: Tampered) -> None:
    result = run_verify(session_package.package)
    assert result.returncode == 0
    # Built without the installation's time zone, as packages were before it was recorded:
    # times in UTC as stored, and that said once.
    out = result.stdout
    assert out.count("Times:") == 1
    assert "Times:          in UTC: this package does not say which time zone" in out
    manifest = (session_package.package / "sessions").glob("*/manifest.json")
    started = json.loads(next(manifest).read_text(encoding="utf-8"))["started_at"]
    assert f"  started:      {started}\n" in out


@pytest.mark.parametrize("case", list(CASES))
def test_verify_py_catches(case: str, session_package: Tampered) -> None:
    tamper, where, reason = CASES[case]
    tamper(session_package)
    assert_caught(session_package.package, where, reason)


# -- what only a package can suffer --------------------------------------------------------------


def test_a_forgery_shipped_with_the_attackers_own_root(
    session_package: Tampered, pristine: Pristine
) -> None:
    session = session_package.session
    genuine = run_verify(session_package.package).stdout
    published = re.search(r"SHA-256 fingerprint: ([0-9A-F:]+)", genuine)
    assert published
    attacker: Attacker = attacker_with_own_ca(genuine_certificate(session))
    resign_with_new_case_number(session, attacker)
    (session_package.package / "trust-root.pem").write_bytes(attacker.root.public_bytes(PEM))
    # Internally the forgery is perfect: only the root's fingerprint gives it away...
    alone = run_verify(session_package.package)
    assert published.group(1) not in alone.stdout
    assert "Compare it with the fingerprint the procuracy publishes" in alone.stdout
    # ...which is why the README says to check it, and --expect-root does.
    checked = run_verify(session_package.package, "--expect-root", published.group(1))
    assert checked.returncode == 1
    assert "trust root is not the one whose fingerprint you expect" in checked.stdout
    genuine_root = pristine.sessions.data.root_certificate()
    with_root = run_verify(session_package.package, "--root", str(genuine_root))
    assert with_root.returncode == 1
    assert "does not chain to a trusted root" in with_root.stdout


def test_an_edited_readme(session_package: Tampered) -> None:
    readme = session_package.package / "README.en.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nAll good.\n", encoding="utf-8")
    assert_caught(session_package.package, "README.en.md", "changed since the package")


def test_an_edited_custody_excerpt(session_package: Tampered) -> None:
    excerpt_file = session_package.package / "custody.json"
    excerpt = json.loads(excerpt_file.read_text(encoding="utf-8"))
    excerpt["entries"] = excerpt["entries"][1:]  # the first "show" never happened
    excerpt_file.write_text(json.dumps(excerpt), encoding="utf-8")
    assert_caught(session_package.package, "custody.json", "changed since the package was exported")


def test_a_custody_excerpt_carrying_what_stays_at_the_office_is_refused(
    session_package: Tampered,
) -> None:
    """Even signed by the exporter: an address, a browser, a note or a reason never leaves."""
    excerpt_file = session_package.package / "custody.json"
    excerpt = json.loads(excerpt_file.read_text(encoding="utf-8"))
    excerpt["entries"][1]["detail"]["ip"] = "203.0.113.5"
    excerpt_file.write_text(json.dumps(excerpt), encoding="utf-8")
    resign(session_package.package, session_package.signer)
    assert_caught(
        session_package.package, "custody.json", "carries ip, which the issuing office keeps"
    )


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda e: e.__setitem__("entries", e["entries"][::-1]), "out of order"),
        (lambda e: e["entries"][0].__setitem__("user_agent", "x"), "malformed custody entry"),
        (lambda e: e["entries"][0].__setitem__("session", "s-other"), "of another session"),
        (lambda e: e.__setitem__("v", 1), "unknown custody excerpt version"),
    ],
    ids=["reordered", "extra field", "another session", "old version"],
)
def test_a_malformed_custody_excerpt_is_refused(
    session_package: Tampered, edit: Any, reason: str
) -> None:
    excerpt_file = session_package.package / "custody.json"
    excerpt = json.loads(excerpt_file.read_bytes())
    edit(excerpt)
    excerpt_file.write_text(json.dumps(excerpt), encoding="utf-8")
    resign(session_package.package, session_package.signer)
    assert_caught(session_package.package, "custody.json", reason)


def test_the_custody_excerpt_is_reported_for_what_it_is(session_package: Tampered) -> None:
    out = run_verify(session_package.package).stdout
    assert "Custody:        4 entries of this session up to the export" in out
    assert "not a proof that nothing was left out" in out
    excerpt = json.loads((session_package.package / "custody.json").read_text(encoding="utf-8"))
    assert excerpt["v"] == 2
    for entry in excerpt["entries"]:
        assert set(entry) == {"seq", "at", "actor", "role", "action", "session", "detail"}


def test_no_directory_name_hides_an_added_file(session_package: Tampered) -> None:
    # __pycache__ is nothing special: every file of the package must be one the exporter signed.
    added = session_package.package / "__pycache__" / "LEGGI-QUI.html"
    added.parent.mkdir()
    added.write_text("<p>Bản ghi đã được xác minh.</p>", encoding="utf-8")
    assert_caught(session_package.package, "__pycache__/LEGGI-QUI.html", "added to the package")


def test_an_added_file_in_the_sessions_pycache_is_caught(session_package: Tampered) -> None:
    added = session_package.session / "segments" / "__pycache__" / "x.html"
    added.parent.mkdir()
    added.write_text("<p>xem tại đây</p>", encoding="utf-8")
    assert_caught(
        session_package.package, "segments/__pycache__/x.html", "not part of the sealed chain"
    )


def test_another_session_added_under_sessions_is_not_intact(session_package: Tampered) -> None:
    other = session_package.package / "sessions" / session_package.other.name
    shutil.copytree(session_package.other, other)
    assert_caught(session_package.package, f"sessions/{other.name}/", "not the exported session")


def test_a_renamed_session_directory_is_not_intact(session_package: Tampered) -> None:
    session = session_package.session
    session.rename(session.with_name(session_package.other.name))
    assert_caught(
        session_package.package, f"sessions/{session_package.other.name}/", "session renamed"
    )


def test_even_the_exporters_key_cannot_sign_a_second_session_in(
    session_package: Tampered,
) -> None:
    other = session_package.package / "sessions" / session_package.other.name
    shutil.copytree(session_package.other, other)
    resign(session_package.package, session_package.signer)
    assert_caught(session_package.package, SUMS, "does not list the files of exactly one session")


# -- the exporter's signature ------------------------------------------------------------------


SUMS, SIG = "PACKAGE-SHA256SUMS", "PACKAGE-SHA256SUMS.sig"


def resum(package: Path) -> None:
    """Recompute PACKAGE-SHA256SUMS over the files now present, as an attacker can."""
    names = sorted(
        (
            p.relative_to(package).as_posix()
            for p in package.rglob("*")
            if p.is_file() and p.name not in (SUMS, SIG)
        ),
        key=str.encode,
    )
    lines = [f"{hashlib.sha256((package / n).read_bytes()).hexdigest()}  {n}\n" for n in names]
    (package / SUMS).write_text("".join(lines), encoding="utf-8")


def resign(package: Path, signer: DeviceSigner) -> None:
    resum(package)
    (package / SIG).write_bytes(signer.sign((package / SUMS).read_bytes()))


def trim_clip(t: Tampered) -> None:
    """Attack 1: cut the clip's first segment out, and make clip.json agree."""
    segment_file(t.session, 1).unlink()
    proof_file = t.package / "clip.json"
    proof = json.loads(proof_file.read_bytes())
    proof["segments"] = proof["segments"][1:]
    proof["start_us"] = proof["segments"][0]["start_us"]
    proof_file.write_text(json.dumps(proof), encoding="utf-8")
    resum(t.package)


def session_to_clip(t: Tampered) -> None:
    """Attack 2: keep one segment of a whole-session package and call it a clip."""
    manifest = json.loads((t.session / "manifest.json").read_bytes())
    kept = manifest["segments"][-1]
    for segment in manifest["segments"][:-1]:
        segment_file(t.session, segment["index"]).unlink()
    hashes = [
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((t.session / "chain").glob("*.json"))
    ]
    proof = {
        "v": 1,
        "type": "sealroom.clip-proof",
        "session": t.session.name,
        "start_us": kept["start_us"],
        "end_us": kept["start_us"] + kept["duration_us"],
        "segments": [kept],
        "link_hashes": hashes,
        "head_seq": len(hashes) - 1,
        "head_hash": manifest["chain"]["head"],
        "manifest_sha256": hashlib.sha256((t.session / "manifest.json").read_bytes()).hexdigest(),
    }
    (t.package / "clip.json").write_text(json.dumps(proof), encoding="utf-8")
    (t.package / "NOT-INCLUDED.txt").write_text(
        "".join(f"segments/{s['name']}\n" for s in manifest["segments"][:-1]), encoding="utf-8"
    )
    resum(t.package)


def sign_as_another_installation(t: Tampered) -> None:
    """A package list signed by a key whose certificate comes from the attacker's own CA."""
    attacker = attacker_with_own_ca(genuine_certificate(t.session))
    exporter = t.package / "exporter"
    (exporter / "public_key.pem").write_bytes(public_key_pem(attacker.key.public_key()))
    (exporter / "certificate.pem").write_bytes(attacker.certificate.public_bytes(PEM))
    (exporter / "chain.pem").write_bytes(b"".join(c.public_bytes(PEM) for c in attacker.chain))
    resign(t.package, DeviceSigner(attacker.key, attacker.certificate, attacker.chain))


def test_a_clip_trimmed_and_its_list_recomputed(clip_package: Tampered) -> None:
    trim_clip(clip_package)
    assert_caught(clip_package.package, SUMS, "signature does not verify")


def test_a_session_package_turned_into_a_clip(session_package: Tampered) -> None:
    session_to_clip(session_package)
    assert_caught(session_package.package, SUMS, "signature does not verify")


def test_a_clip_json_added_to_a_session_package_under_its_own_list(
    session_package: Tampered,
) -> None:
    listing = (session_package.package / SUMS).read_bytes()
    session_to_clip(session_package)
    (session_package.package / SUMS).write_bytes(listing)  # the genuine, signed list
    assert_caught(session_package.package, "clip.json", "added to the package after it was")


def test_an_edited_clip_json(clip_package: Tampered) -> None:
    edit_json(clip_package.package / "clip.json", lambda proof: proof.update(title="khác"))
    assert_caught(clip_package.package, "clip.json", "changed since the package was exported")


def test_an_edited_not_included_list(clip_package: Tampered) -> None:
    (clip_package.package / "NOT-INCLUDED.txt").write_text("segments/000000.mp4\n")
    assert_caught(clip_package.package, "NOT-INCLUDED.txt", "changed since the package")


def test_a_deleted_package_signature(clip_package: Tampered) -> None:
    (clip_package.package / SIG).unlink()
    assert_caught(clip_package.package, SIG, "missing: the package is not signed")


def test_an_edited_package_signature(clip_package: Tampered) -> None:
    flip_byte(clip_package.package / SIG)
    assert_caught(clip_package.package, SUMS, "signature does not verify")


def test_a_deleted_exporter_key(clip_package: Tampered) -> None:
    (clip_package.package / "exporter" / "public_key.pem").unlink()
    assert_caught(clip_package.package, "exporter/public_key.pem", "missing")


def test_a_package_signed_by_an_exporter_from_another_root(clip_package: Tampered) -> None:
    trim_clip(clip_package)
    sign_as_another_installation(clip_package)
    assert_caught(
        clip_package.package, "exporter/certificate.pem", "does not chain to a trusted root"
    )


def test_even_the_exporters_key_cannot_leave_out_a_covered_segment(
    clip_package: Tampered,
) -> None:
    # An insider re-signs a clip.json that drops segment 1 but keeps the span: the span, not
    # the list, decides what may be missing.
    segment_file(clip_package.session, 1).unlink()
    edit_json(
        clip_package.package / "clip.json",
        lambda proof: proof.update(segments=proof["segments"][1:]),
    )
    resign(clip_package.package, clip_package.signer)
    assert_caught(clip_package.package, "segments/000001.mp4", "segment missing")


def test_even_the_exporters_key_cannot_misstate_the_left_out_segments(
    clip_package: Tampered,
) -> None:
    (clip_package.package / "NOT-INCLUDED.txt").write_text("segments/000000.mp4\n")
    resign(clip_package.package, clip_package.signer)
    assert_caught(clip_package.package, "NOT-INCLUDED.txt", "does not list exactly")


def test_a_clip_proof_whose_list_disagrees_with_its_span(clip_package: Tampered) -> None:
    edit_json(
        clip_package.package / "clip.json",
        lambda proof: proof.update(segments=proof["segments"][1:]),
    )
    resign(clip_package.package, clip_package.signer)
    assert_caught(clip_package.package, "clip.json", "not the sealed segments its span covers")


def test_a_clip_proof_with_a_forged_chain_value(clip_package: Tampered) -> None:
    def forge(proof: dict[str, Any]) -> None:
        proof["link_hashes"][LINK_PAUSE] = "0" * 64

    edit_json(clip_package.package / "clip.json", forge)
    resign(clip_package.package, clip_package.signer)
    assert_caught(clip_package.package, "clip.json", "chain value 3 is not the hash")


def test_a_clip_export_of_evidence_whose_checksum_signature_fails_is_refused(
    pristine: Pristine, tmp_path: Path
) -> None:
    # The store's clip check reads only the clip's segments; the package's verify.py checks
    # SHA256SUMS too, and the export runs exactly that before anything is kept.
    copy = attacker_copy(pristine.sessions, tmp_path)
    store, trust = copy.data.store(), copy.data.trust()
    proof = clip_proof(store, copy.main, trust, SEGMENT_US + 1, 2 * SEGMENT_US + 1)
    flip_byte(copy.session_dir() / "SHA256SUMS.sig", 5)  # after the clip was defined
    out = tmp_path / "out" / "clip"
    out.parent.mkdir()
    with pytest.raises(VerificationError, match="SHA256SUMS") as refused:
        build_package(
            store,
            ExportSpec(copy.main, proof),
            trust,
            out,
            custody=[],
            exported_by="test",
            signer=copy.data.signer(),
        )
    assert "signature does not verify" in refused.value.reason
    assert list(out.parent.iterdir()) == []  # no package, no partial directory


def test_an_export_needs_the_installations_signer(pristine: Pristine, tmp_path: Path) -> None:
    sessions = pristine.sessions
    with pytest.raises(UsageError, match="signer"):
        build_package(
            sessions.data.store(),
            ExportSpec(sessions.main),
            sessions.data.trust(),
            tmp_path / "p",
            custody=[],
            exported_by="test",
        )
    assert list(tmp_path.iterdir()) == []


# -- clips -------------------------------------------------------------------------------------


def test_a_clip_package_with_a_flipped_byte_in_its_segment(clip_package: Tampered) -> None:
    flip_byte(segment_file(clip_package.session, 2))
    assert_caught(clip_package.package, "segments/000002.mp4", "sealed SHA-256")


def test_a_clip_package_missing_a_segment_it_covers(clip_package: Tampered) -> None:
    segment_file(clip_package.session, 1).unlink()
    assert_caught(clip_package.package, "segments/000001.mp4", "segment missing")


# -- the hand procedure of the README ----------------------------------------------------------


def run_hand_check(package: Path) -> HandResult:
    """The package's procedure.sh, run with dash in the session directory as the README says
    (a clip with CLIP naming its proof), against the package's root."""
    session = next((package / "sessions").iterdir())
    clip = "../../clip.json" if (package / "clip.json").exists() else None
    return run_procedure(
        session, package / "trust-root.pem", clip=clip, script=package / "procedure.sh"
    )


def test_the_hand_check_passes_on_pristine_packages(
    session_package: Tampered, clip_package: Tampered
) -> None:
    for tampered in (session_package, clip_package):
        check = run_hand_check(tampered.package)
        assert check.intact, check.out


HAND_CASES = [
    "flipped byte in a segment",
    "deleted segment",
    "extra unknown file",
    "edited case number in the manifest",
    "edited case number in the first link",
    "removed pause event",
    "last segments removed, manifest kept",
    "re-signed with a self-signed key",
]


@pytest.mark.parametrize("case", HAND_CASES)
def test_the_hand_check_catches(case: str, session_package: Tampered) -> None:
    tamper, where, _reason = CASES[case]
    tamper(session_package)
    check = run_hand_check(session_package.package)
    assert (check.returncode, check.file) == (1, where), check.out


def test_the_hand_check_of_a_clip_catches_a_missing_covered_segment(
    clip_package: Tampered,
) -> None:
    segment_file(clip_package.session, 2).unlink()
    check = run_hand_check(clip_package.package)
    assert (check.returncode, check.file) == (1, "segments/000002.mp4"), check.out
    assert "segment missing" in (check.reason or "")


def test_the_hand_check_of_a_clip_catches_a_flipped_byte(clip_package: Tampered) -> None:
    flip_byte(segment_file(clip_package.session, 1))
    check = run_hand_check(clip_package.package)
    assert (check.returncode, check.file) == (1, "segments/000001.mp4"), check.out


def test_the_hand_check_of_a_clip_refuses_a_covered_segment_listed_as_left_out(
    clip_package: Tampered,
) -> None:
    listed = clip_package.package / "NOT-INCLUDED.txt"
    listed.chmod(0o644)
    listed.write_text(listed.read_text(encoding="utf-8") + "segments/000001.mp4\n")
    check = run_hand_check(clip_package.package)
    assert (check.returncode, check.file) == (1, "segments/000001.mp4"), check.out


# -- the exporter's signature by hand ----------------------------------------------------------


@dataclass(frozen=True)
class PackageCheck:
    """What a person sees running the README's steps P1-P3 at the package's root."""

    out: str

    def failures(self) -> set[str]:
        first, second, third = (self.out.split("# P")[n] for n in (1, 2, 3))
        checks = {
            "exporter_ok": "exporter/certificate.pem: OK" in first
            and "exporter key matches certificate" in first,
            "list_signed": "Signature Verified Successfully" in second,
            "files_ok": "package files OK" in third
            and "no extra or missing files" in third
            and "only files and directories" in third,
        }
        return {name for name, ok in checks.items() if not ok}


def run_package_check(package: Path) -> PackageCheck:
    """Steps P1-P3 one after the other, under dash, each step's output after its heading."""
    script = package_procedure(package / "README.en.md")
    out = ""
    for step in re.split(r"(?m)^(?=# P\d\. )", script)[1:]:
        done = subprocess.run(
            ["dash", "-c", step],
            cwd=package,
            env={"PATH": "/usr/bin:/bin", "ROOT": "trust-root.pem"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out += "# P" + step.split("# P", 1)[1][:1] + "\n" + done.stdout + done.stderr
    return PackageCheck(out)


def test_the_package_check_by_hand_passes_on_pristine_packages(
    session_package: Tampered, clip_package: Tampered
) -> None:
    for tampered in (session_package, clip_package):
        check = run_package_check(tampered.package)
        assert check.failures() == set(), check.out
        assert "CN = phong-hoi-cung-1" in check.out.split("# P2")[0]


def trim_and_sign_elsewhere(t: Tampered) -> None:
    trim_clip(t)
    sign_as_another_installation(t)


PACKAGE_HAND_CASES: dict[str, tuple[Tamper, str, set[str]]] = {
    "trimmed clip, list recomputed": (trim_clip, "clip", {"list_signed"}),
    "session turned into a clip": (session_to_clip, "session", {"list_signed"}),
    "edited clip.json": (
        lambda t: edit_json(t.package / "clip.json", lambda proof: proof.update(end_us=1)),
        "clip",
        {"files_ok"},
    ),
    "edited custody.json": (
        lambda t: (t.package / "custody.json").write_text("{}", encoding="utf-8"),
        "clip",
        {"files_ok"},
    ),
    "deleted signature": (lambda t: (t.package / SIG).unlink(), "clip", {"list_signed"}),
    "exporter from another root": (trim_and_sign_elsewhere, "clip", {"exporter_ok"}),
    # Neither listed nor a file: only P3's look for what is not a file or directory sees it.
    "a dangling link beside the documents": (
        lambda t: (t.package / "README.fr.md").symlink_to("/nonexistent/README.fr.md"),
        "session",
        {"files_ok"},
    ),
}


@pytest.mark.parametrize("case", list(PACKAGE_HAND_CASES))
def test_the_package_check_by_hand_catches(
    case: str, session_package: Tampered, clip_package: Tampered
) -> None:
    tamper, kind, expected = PACKAGE_HAND_CASES[case]
    tampered = clip_package if kind == "clip" else session_package
    tamper(tampered)
    check = run_package_check(tampered.package)
    assert expected <= check.failures(), check.out
