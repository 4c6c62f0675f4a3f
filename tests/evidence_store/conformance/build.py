"""Build the conformance corpus: genuine sessions and every known way to break them.

    python -m tests.evidence_store.conformance.build OUT_DIR

Every case starts from sessions recorded by sealroom's own writer (real H.264 + AAC segments
from ffmpeg), breaks them as an attacker or an insider would, with the tools written from the
spec alone (tests/support/evidence.py), and writes each one out twice over the same bytes:

    OUT_DIR/cases.json               every case: name, what was done, the verdict and file
    OUT_DIR/<case>/root.pem          the trust root a court holds (never the session's own)
    OUT_DIR/<case>/package/          an export package holding the session: verify.py runs
                                     here, the hand procedure in its sessions/<id>/
    OUT_DIR/<case>/data/evidence     -> package: the same session for `sealroom verify`

The package around a session is re-listed and signed by the genuine exporting installation
(an insider), so that every verifier judges the session alone: the package's own signature
is another matter, with tests of its own (tests/evidence_store/export/).

Each case records the verdict the format gives (docs/evidence-format.md): "intact" or "not
intact", and the first failing file. The test (test_corpus.py) demands it from all three
verifiers. A shortened session sealed again with the device's own key is intact to all
three: only a witness off the box can tell (format section 14).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from evidence_store import merkle
from evidence_store.canonical import canonical_json
from evidence_store.export.docs import custody_excerpt
from evidence_store.export.files import PACKAGE_SIG, make_read_only, write_package_sums
from evidence_store.export.package import ExportSpec, build_package
from evidence_store.session import SessionWriter
from evidence_store.signing import DeviceSigner, TrustStore, issue_certificate, public_key_der
from evidence_store.store import FilesystemStore
from evidence_store.timefmt import format_utc, parse_utc
from recorder.recovery import recover_session
from tests.support.evidence import (
    CHAIN_LENGTH,
    LINK_PAUSE,
    LINK_RESUME,
    LINK_SEG2,
    LINK_SEG3,
    LINK_START,
    LINK_STOP,
    MEDIA,
    METADATA,
    SEGMENTS,
    DataDir,
    Sessions,
    attacker_with_own_ca,
    edit_json,
    flip_byte,
    link_path,
    make_segment_media,
    new_data_dir,
    record_pristine,
    record_session,
    remove_link,
    reseal,
    seal_next,
    segment_file,
    self_signed_attacker,
    sha256_hex,
    sig_path,
)
from tests.support.tampering import (
    EDITED_REASON,
    EDITED_TIME,
    resign_with_new_case_number,
    set_case_number,
)

INTACT, NOT_INTACT = "intact", "not intact"
PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class Base:
    """A genuine session to start from, with the root that anchors it and its exporter."""

    data: Path  # a data directory holding it (evidence/, keys/)
    session_id: str
    root_pem: bytes
    exporter: DeviceSigner
    trust: TrustStore
    witness_pem: bytes | None = None  # the witness key its receipts are checked with


@dataclass
class Work:
    """What a tamper gets: a writable copy of the session, and what an insider holds."""

    session: Path
    other: Path  # the other session of the same appliance
    device: DeviceSigner  # the genuine device key
    data: Path  # the writable copy's data directory
    root_pem: bytes  # the root the case is judged against; a tamper may change it
    session_id: str
    # Files of the package outside the session, replaced (None: removed) before the genuine
    # exporter lists and signs it again, as an insider holding the exporter's key would.
    package_files: dict[str, bytes | None] = field(default_factory=dict)


Tamper = Callable[[Work], object]


@dataclass(frozen=True)
class Case:
    name: str
    base: str
    tamper: Tamper
    verdict: str
    file: str | None  # the first failing file, session-relative

    def record(self, session_id: str) -> dict[str, Any]:
        entry = {k: v for k, v in asdict(self).items() if k != "tamper"}
        return {**entry, "session": session_id, "how": (self.tamper.__doc__ or "").strip()}


# -- insiders and attackers ----------------------------------------------------------------------


def device_reseal(w: Work, **edits: Any) -> None:
    """Rewrite and seal again with the genuine device key (an insider holding it)."""
    reseal(w.session, w.device.sign, **edits)


def touch(relative: str, data: bytes = b"x") -> Tamper:
    def add(w: Work) -> None:
        path = w.session / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    add.__doc__ = f"a file added at {relative}"
    return add


def doc(text: str) -> Callable[[Tamper], Tamper]:
    def named(tamper: Tamper) -> Tamper:
        tamper.__doc__ = text
        return tamper

    return named


def _pause(manifest: dict[str, Any], **fields: Any) -> None:
    manifest["pauses"][0].update(fields)


def _link0_meta(edit: Callable[[dict[str, Any]], None]) -> Callable[[int, dict[str, Any]], None]:
    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_START:
            edit(link["event"]["metadata"])

    return edit_link


def _copy_other(w: Work, *names: str) -> None:
    for name in names:
        (w.session / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(w.other / name, w.session / name)


def _roll_back(w: Work, keep_links: int) -> None:
    for seq in range(keep_links, CHAIN_LENGTH):
        link = json.loads(link_path(w.session, seq).read_bytes())
        if link["kind"] == "segment":
            segment_file(w.session, link["segment"]["index"]).unlink()
        remove_link(w.session, seq)


def _unseal(w: Work) -> None:
    for name in ("manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"):
        (w.session / name).unlink()


@doc("the last segment, its links and the seal removed with rm, then `sealroom recover`")
def shorten_and_recover(w: Work) -> None:
    _roll_back(w, LINK_SEG3)
    _unseal(w)
    _recover(w)


def _recover(w: Work) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    done = subprocess.run(
        [sys.executable, "-m", "sealroom", "recover", "--data-dir", str(w.data)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0 and "INTERRUPTED and sealed" in done.stdout, done


@doc(
    "the last segment, its links and the seal removed, and the seal's receipt (recovery "
    "refuses while it is there), then `sealroom recover`: the removed links' receipts remain"
)
def shorten_past_receipts(w: Work) -> None:
    _roll_back(w, LINK_SEG3)
    _unseal(w)
    (w.session / "witness" / "manifest.json").unlink()
    _recover(w)


@doc(
    "the last segment, its links, the seal and every receipt of them removed, then "
    "`sealroom recover`: only asking the witness shows it"
)
def shorten_and_hide_receipts(w: Work) -> None:
    _roll_back(w, LINK_SEG3)
    _unseal(w)
    for name in ("000006.json", "000007.json", "manifest.json"):
        (w.session / "witness" / name).unlink()
    _recover(w)


@doc("segments/cut: a symbolic link to the package's top directory, outside the session")
def link_out_of_the_session(w: Work) -> None:
    (w.session / "segments" / "cut").symlink_to(Path("..") / ".." / "..")


@doc("segments/000009.mp4: a symbolic link to a file that does not exist")
def dangling_link(w: Work) -> None:
    (w.session / "segments" / "000009.mp4").symlink_to("/nonexistent/000009.mp4")


@doc("segment 1 moved to .000001.mp4 and a symbolic link left in its place, which would pass")
def segment_behind_a_link(w: Work) -> None:
    segment = segment_file(w.session, 1)
    segment.rename(w.session / ".000001.mp4")
    segment.symlink_to(Path("..") / ".000001.mp4")


@doc("segments/zz.mp4: a named pipe (FIFO), which blocks a reader that opens it")
def named_pipe(w: Work) -> None:
    os.mkfifo(w.session / "segments" / "zz.mp4")


@doc("a directory named 'SHA256SUMS', a line break, 'witness', holding a copy of a receipt")
def receipt_under_a_line_break(w: Work) -> None:
    folder = w.session / "SHA256SUMS\nwitness"
    folder.mkdir()
    shutil.copyfile(w.session / "witness" / "000000.json", folder / "000000.json")


def _edit_receipt(w: Work, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = w.session / "witness" / name
    receipt = json.loads(path.read_bytes())
    edit(receipt)
    path.write_bytes(canonical_json(receipt))


@doc("one hex digit of the first hash of witness/000002.json's inclusion proof changed")
def alter_inclusion(w: Work) -> None:
    def edit(receipt: dict[str, Any]) -> None:
        first = receipt["inclusion"][0]
        receipt["inclusion"][0] = ("1" if first[0] == "0" else "0") + first[1:]

    _edit_receipt(w, "000002.json", edit)


@doc("witness/000000.json's tree head signed again by a key of the attacker's own")
def another_witness_key(w: Work) -> None:
    def edit(receipt: dict[str, Any]) -> None:
        receipt["tree_head"] = Witness.new().sign_head(receipt["tree_head"])

    _edit_receipt(w, "000000.json", edit)


@doc(
    "every receipt's tree head signed again by a key of the insider's own, carried by the "
    "package in place of the witness's (format section 12: a key the package carries)"
)
def substitute_witness_key(w: Work) -> None:
    substitute = Witness.new()
    for receipt in sorted((w.session / "witness").iterdir()):
        _edit_receipt(
            w, receipt.name, lambda r: r.update(tree_head=substitute.sign_head(r["tree_head"]))
        )
    w.package_files["witness"] = None
    w.package_files[f"witness/{substitute.log_id[:16]}.pem"] = substitute.public_pem


@doc("witness/000001.json copied over witness/000002.json")
def receipt_under_another_number(w: Work) -> None:
    receipt = w.session / "witness" / "000002.json"
    receipt.unlink()
    shutil.copyfile(w.session / "witness" / "000001.json", receipt)


@doc("two segment files swapped")
def swap_segments(w: Work) -> None:
    first, second = segment_file(w.session, 1), segment_file(w.session, 2)
    first_bytes = first.read_bytes()
    shutil.copyfile(second, first)
    second.write_bytes(first_bytes)


@doc("the pause link removed and every later link renamed one down")
def renumber_after_pause(w: Work) -> None:
    remove_link(w.session, LINK_PAUSE)
    for seq in range(LINK_RESUME, CHAIN_LENGTH):
        link_path(w.session, seq).rename(link_path(w.session, seq - 1))
        sig_path(w.session, seq).rename(sig_path(w.session, seq - 1))


@doc("another session's last segment and its signed link appended after the stop")
def append_from_other(w: Work) -> None:
    shutil.copyfile(link_path(w.other, LINK_SEG3), link_path(w.session, CHAIN_LENGTH))
    shutil.copyfile(sig_path(w.other, LINK_SEG3), sig_path(w.session, CHAIN_LENGTH))
    shutil.copyfile(segment_file(w.other, 3), segment_file(w.session, SEGMENTS))


def _non_canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode()


@doc("a link re-serialised with spaces after the separators, signed by the device")
def sign_non_canonical(w: Work) -> None:
    path = link_path(w.session, LINK_SEG2)
    body = _non_canonical(json.loads(path.read_bytes()))
    path.write_bytes(body)
    sig_path(w.session, LINK_SEG2).write_bytes(w.device.sign(body))


@doc("link 0 re-serialised with \\u escapes for its Vietnamese text, signed by the device")
def sign_escaped(w: Work) -> None:
    path = link_path(w.session, LINK_START)
    body = json.dumps(json.loads(path.read_bytes()), sort_keys=True, separators=(",", ":"))
    path.write_bytes(body.encode())
    sig_path(w.session, LINK_START).write_bytes(w.device.sign(body.encode()))


@doc("the resume link's time moved before the pause's; chain and seal redone with the device key")
def time_backwards(w: Work) -> None:
    pause_time = json.loads(link_path(w.session, LINK_PAUSE).read_bytes())["time"]
    earlier = (
        datetime.strptime(pause_time, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(hours=1)
    ).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_RESUME:
            link["time"] = earlier

    device_reseal(w, edit_link=edit_link, edit_manifest=lambda m: _pause(m, resumed_at=earlier))


@doc("link 0 with a real-looking but impossible time (30 February), resealed by the device")
def impossible_time(w: Work) -> None:
    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_START:
            link["time"] = "2026-02-30T08:00:00.000000Z"

    device_reseal(
        w,
        edit_link=edit_link,
        edit_manifest=lambda m: m.update(started_at="2026-02-30T08:00:00.000000Z"),
    )


@doc("the room's name padded with a space in link 0 and the manifest, resealed by the device")
def padded_name_in_link(w: Work) -> None:
    def pad(meta: dict[str, Any]) -> None:
        meta["room"] += " "

    device_reseal(w, edit_link=_link0_meta(pad), edit_manifest=lambda m: pad(m["metadata"]))


@doc("the room's name padded with a no-break space (U+00A0) in link 0 and the manifest")
def nbsp_name_in_link(w: Work) -> None:
    def pad(meta: dict[str, Any]) -> None:
        meta["room"] = "\u00a0" + meta["room"]

    device_reseal(w, edit_link=_link0_meta(pad), edit_manifest=lambda m: pad(m["metadata"]))


@doc("link 0's metadata without its timezone (a field with a default), resealed by the device")
def default_left_out_in_link(w: Work) -> None:
    def drop(meta: dict[str, Any]) -> None:
        meta.pop("timezone")

    device_reseal(w, edit_link=_link0_meta(drop), edit_manifest=lambda m: drop(m["metadata"]))


@doc("the pause link's reason 2001 characters long, resealed by the device")
def reason_too_long(w: Work) -> None:
    reason = "á" * 2001

    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_PAUSE:
            link["event"]["reason"] = reason

    device_reseal(w, edit_link=edit_link, edit_manifest=lambda m: _pause(m, reason=reason))


@doc("the pause link also naming a device (a field of another event type), resealed")
def foreign_field_in_event(w: Work) -> None:
    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_PAUSE:
            link["event"]["device"] = "camera-1"

    device_reseal(w, edit_link=edit_link)


@doc("the resume link's reason written as null, resealed by the device")
def null_reason(w: Work) -> None:
    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_RESUME:
            link["event"]["reason"] = None

    device_reseal(w, edit_link=edit_link)


@doc("invalid UTF-8 bytes in link 0's case number, signed by the device")
def invalid_utf8(w: Work) -> None:
    path = link_path(w.session, LINK_START)
    body = path.read_bytes().replace(b"VKS-123", b"VKS-\xff\xfe3", 1)
    path.write_bytes(body)
    sig_path(w.session, LINK_START).write_bytes(w.device.sign(body))


def _manifest_reseal(edit: Callable[[dict[str, Any]], None], text: str) -> Tamper:
    def tamper(w: Work) -> None:
        device_reseal(w, edit_manifest=edit)

    tamper.__doc__ = text
    return tamper


@doc("the manifest re-serialised with spaces after the separators, signed by the device")
def manifest_whitespace(w: Work) -> None:
    device_reseal(w, manifest_body=_non_canonical)


@doc("the first link and the manifest deleted; the rest of the session left")
def first_link_gone(w: Work) -> None:
    remove_link(w.session, LINK_START)
    (w.session / "manifest.json").unlink()
    (w.session / "manifest.sig").unlink()


@doc("the last link's signature deleted in an unsealed session (cut off while signing)")
def unsigned_last_link(w: Work) -> None:
    _unseal(w)
    sig_path(w.session, LINK_STOP).unlink()


@doc("a segment stored but never chained, in an unsealed session (cut off while sealing)")
def unchained_segment(w: Work) -> None:
    _roll_back(w, LINK_STOP)
    _unseal(w)
    shutil.copyfile(segment_file(w.other, 0), segment_file(w.session, SEGMENTS))


@doc("signer/public_key.pem replaced by an ECDSA P-384 key")
def p384_key(w: Work) -> None:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = key.public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (w.session / "signer" / "public_key.pem").write_bytes(pem)


@doc("an interrupted session's ended_at moved after its recovery, resealed by the device")
def ended_after_recovery(w: Work) -> None:
    last = int(json.loads((w.session / "manifest.json").read_bytes())["chain"]["length"]) - 1
    recovered = json.loads(link_path(w.session, last).read_bytes())["time"]
    later = recovered.replace(recovered[:4], str(int(recovered[:4]) + 1), 1)

    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == last:
            link["event"]["ended_at"] = later

    device_reseal(w, edit_link=edit_link, edit_manifest=lambda m: m.update(ended_at=later))


def resign_with_new_case_number_ca(session: Path, kind: str) -> None:
    """Edit the case number and re-sign everything with a key of the attacker's."""
    genuine = x509.load_pem_x509_certificate((session / "signer" / "certificate.pem").read_bytes())
    attacker = (
        self_signed_attacker(genuine) if kind == "self-signed" else attacker_with_own_ca(genuine)
    )
    resign_with_new_case_number(session, attacker)


@doc("the device key swapped for another key without a certificate; everything re-signed")
def another_pinned_key(w: Work) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key()
    (w.session / "signer" / "public_key.pem").write_bytes(
        public.public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signer = {"algorithm": "ed25519", "public_key_sha256": sha256_hex(public_key_der(public))}

    def edit_link(seq: int, link: dict[str, Any]) -> None:
        if seq == LINK_START:
            link["event"]["signer"] = signer

    reseal(
        w.session, key.sign, edit_link=edit_link, edit_manifest=lambda m: m.update(signer=signer)
    )


# -- the cases -------------------------------------------------------------------------------


def cases() -> list[Case]:
    seg = "segments/{:06d}.mp4".format
    chain = "chain/{:06d}.json".format
    catalogue = [  # tests/evidence_store/test_tamper_catalogue.py, case by case
        Case(
            "flipped byte in a segment",
            "main",
            doc("one bit of segment 1 flipped")(lambda w: flip_byte(segment_file(w.session, 1))),
            NOT_INTACT,
            seg(1),
        ),
        Case(
            "flipped byte in the manifest",
            "main",
            doc("one bit of manifest.json flipped")(
                lambda w: flip_byte(w.session / "manifest.json")
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "flipped byte in an event link",
            "main",
            doc("one bit of the pause link flipped")(
                lambda w: flip_byte(link_path(w.session, LINK_PAUSE))
            ),
            NOT_INTACT,
            chain(3),
        ),
        Case(
            "truncated segment",
            "main",
            doc("segment 2 cut 1000 bytes short")(
                lambda w: segment_file(w.session, 2).write_bytes(
                    segment_file(w.session, 2).read_bytes()[:-1000]
                )
            ),
            NOT_INTACT,
            seg(2),
        ),
        Case(
            "deleted segment",
            "main",
            doc("segment 2 deleted")(lambda w: segment_file(w.session, 2).unlink()),
            NOT_INTACT,
            seg(2),
        ),
        Case(
            "segment duplicated as a new file",
            "main",
            doc("segment 3 copied as segment 4")(
                lambda w: shutil.copyfile(segment_file(w.session, 3), segment_file(w.session, 4))
            ),
            NOT_INTACT,
            seg(4),
        ),
        Case(
            "segment copied over the next one",
            "main",
            doc("segment 1 copied over segment 2")(
                lambda w: shutil.copyfile(segment_file(w.session, 1), segment_file(w.session, 2))
            ),
            NOT_INTACT,
            seg(2),
        ),
        Case("two segments swapped", "main", swap_segments, NOT_INTACT, seg(1)),
        Case(
            "segment replaced from another session",
            "main",
            doc("segment 2 replaced by the other session's segment 2")(
                lambda w: _copy_other(w, seg(2))
            ),
            NOT_INTACT,
            seg(2),
        ),
        Case(
            "segment and its signed link spliced from another session",
            "main",
            doc("segment 2 and its link (signed by the same device) from the other session")(
                lambda w: _copy_other(w, chain(LINK_SEG2), f"chain/{LINK_SEG2:06d}.sig", seg(2))
            ),
            NOT_INTACT,
            chain(5),
        ),
        Case(
            "another session's segment and link appended",
            "main",
            append_from_other,
            NOT_INTACT,
            chain(8),
        ),
        Case(
            "the seal of another session copied over",
            "main",
            doc("manifest and SHA256SUMS (signed by the same device) from the other session")(
                lambda w: _copy_other(
                    w, "manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig"
                )
            ),
            NOT_INTACT,
            "SHA256SUMS",
        ),
        Case(
            "edited case number in the manifest",
            "main",
            doc("case number edited, unsigned")(
                lambda w: edit_json(w.session / "manifest.json", set_case_number)
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "edited case number in the first link",
            "main",
            doc("link 0's case edited")(
                lambda w: edit_json(
                    link_path(w.session, LINK_START), lambda link: set_case_number(link["event"])
                )
            ),
            NOT_INTACT,
            chain(0),
        ),
        Case(
            "edited time in the manifest",
            "main",
            doc("the pause time edited in the manifest")(
                lambda w: edit_json(
                    w.session / "manifest.json", lambda m: _pause(m, paused_at=EDITED_TIME)
                )
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "edited time in a link",
            "main",
            doc("the pause link's time edited")(
                lambda w: edit_json(
                    link_path(w.session, LINK_PAUSE), lambda link: link.update(time=EDITED_TIME)
                )
            ),
            NOT_INTACT,
            chain(3),
        ),
        Case(
            "edited pause reason in the manifest",
            "main",
            doc("the manifest's pause reason")(
                lambda w: edit_json(
                    w.session / "manifest.json", lambda m: _pause(m, reason=EDITED_REASON)
                )
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "edited pause reason in its link",
            "main",
            doc("the pause link's reason edited")(
                lambda w: edit_json(
                    link_path(w.session, LINK_PAUSE),
                    lambda link: link["event"].update(reason=EDITED_REASON),
                )
            ),
            NOT_INTACT,
            chain(3),
        ),
        Case(
            "re-signed with a self-signed key",
            "main",
            doc("case number edited, everything re-signed with a self-signed key")(
                lambda w: resign_with_new_case_number_ca(w.session, "self-signed")
            ),
            NOT_INTACT,
            "signer/certificate.pem",
        ),
        Case(
            "re-signed with a key from the attacker's own CA",
            "main",
            doc("case number edited, everything re-signed under the attacker's own CA")(
                lambda w: resign_with_new_case_number_ca(w.session, "own CA")
            ),
            NOT_INTACT,
            "signer/certificate.pem",
        ),
        Case(
            "last segments removed, manifest kept",
            "main",
            doc("links 5-7 and segments 2-3 deleted; the manifest left")(
                lambda w: _roll_back(w, LINK_SEG2)
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "last segments removed with the manifest and checksums",
            "main",
            doc("links 5-7, segments 2-3 and the whole seal deleted: looks cut off")(
                lambda w: (_roll_back(w, LINK_SEG2), _unseal(w))
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "removed pause event",
            "main",
            doc("the pause link and its signature deleted")(
                lambda w: remove_link(w.session, LINK_PAUSE)
            ),
            NOT_INTACT,
            chain(4),
        ),
        Case(
            "removed pause event, later links renumbered",
            "main",
            renumber_after_pause,
            NOT_INTACT,
            chain(3),
        ),
        Case(
            "extra unknown file",
            "main",
            touch("ghi-chú.txt", "bản sao".encode()),
            NOT_INTACT,
            "ghi-chú.txt",
        ),
        Case(
            "missing link signature in the middle",
            "main",
            doc("the pause's signature deleted")(
                lambda w: sig_path(w.session, LINK_PAUSE).unlink()
            ),
            NOT_INTACT,
            "chain/000003.sig",
        ),
        Case(
            "missing last link signature",
            "main",
            doc("the stop's signature deleted")(lambda w: sig_path(w.session, LINK_STOP).unlink()),
            NOT_INTACT,
            "chain/000007.sig",
        ),
        Case(
            "missing manifest signature",
            "main",
            doc("manifest.sig deleted")(lambda w: (w.session / "manifest.sig").unlink()),
            NOT_INTACT,
            "manifest.sig",
        ),
        Case(
            "edited checksum list",
            "main",
            doc("a path in SHA256SUMS edited")(
                lambda w: (w.session / "SHA256SUMS").write_bytes(
                    (w.session / "SHA256SUMS").read_bytes().replace(b"  signer/", b"  signer/./", 1)
                )
            ),
            NOT_INTACT,
            "SHA256SUMS",
        ),
        Case(
            "non-canonical link, not re-signed",
            "main",
            doc("segment 2's link re-serialised")(
                lambda w: link_path(w.session, LINK_SEG2).write_bytes(
                    _non_canonical(json.loads(link_path(w.session, LINK_SEG2).read_bytes()))
                )
            ),
            NOT_INTACT,
            chain(5),
        ),
        Case(
            "non-canonical link signed by the device",
            "main",
            sign_non_canonical,
            NOT_INTACT,
            chain(5),
        ),
        Case("escaped non-ASCII signed by the device", "main", sign_escaped, NOT_INTACT, chain(0)),
    ]
    issue_11 = [
        Case(
            "shortened and sealed again with the device key",
            "main",
            shorten_and_recover,
            INTACT,
            None,
        ),
        Case("link times out of order", "main", time_backwards, NOT_INTACT, chain(4)),
        Case("a time that is no real time", "main", impossible_time, NOT_INTACT, chain(0)),
        Case(
            "manifest resealed with a space after a name",
            "main",
            _manifest_reseal(
                lambda m: m["metadata"].update(room=m["metadata"]["room"] + " "),
                "the manifest's room padded with a space, resealed by the device",
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "manifest resealed without a field that has a default",
            "main",
            _manifest_reseal(
                lambda m: m["metadata"].pop("timezone"),
                "the manifest's timezone left out, resealed by the device",
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "manifest resealed with an absent field written as null",
            "main",
            _manifest_reseal(
                lambda m: m.update(recovered_at=None),
                "the manifest of a stopped session with recovered_at: null, resealed",
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "manifest resealed with a number written as text",
            "main",
            _manifest_reseal(
                lambda m: m["media"].update(fps=str(m["media"]["fps"])),
                "the manifest's fps written as text, resealed by the device",
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "manifest resealed with whitespace between tokens",
            "main",
            manifest_whitespace,
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "link resealed with a space after a name",
            "main",
            padded_name_in_link,
            NOT_INTACT,
            chain(0),
        ),
        Case(
            "link resealed with a no-break space before a name",
            "main",
            nbsp_name_in_link,
            NOT_INTACT,
            chain(0),
        ),
        Case(
            "link resealed without a field that has a default",
            "main",
            default_left_out_in_link,
            NOT_INTACT,
            chain(0),
        ),
        Case("link resealed with a reason too long", "main", reason_too_long, NOT_INTACT, chain(3)),
        Case(
            "link resealed with a field of another event type",
            "main",
            foreign_field_in_event,
            NOT_INTACT,
            chain(3),
        ),
        Case("link resealed with a null reason", "main", null_reason, NOT_INTACT, chain(4)),
        Case(
            "link with invalid UTF-8, signed by the device",
            "main",
            invalid_utf8,
            NOT_INTACT,
            chain(0),
        ),
        Case(
            "a segment one directory deeper",
            "main",
            doc("segment 2 copied to segments/x/")(
                lambda w: (
                    (w.session / "segments" / "x").mkdir()
                    or shutil.copyfile(
                        segment_file(w.session, 2), w.session / "segments" / "x" / "000002.mp4"
                    )
                )
            ),
            NOT_INTACT,
            "segments/x/000002.mp4",
        ),
        Case(
            "a certificate two directories deeper",
            "main",
            touch("signer/a/b/certificate.pem"),
            NOT_INTACT,
            "signer/a/b/certificate.pem",
        ),
        Case("a hidden file", "main", touch(".ghi-chu"), NOT_INTACT, ".ghi-chu"),
        Case(
            "an unfinished write's temporary left in a sealed session",
            "main",
            touch("chain/.000007.json.k2j4h1.4242.tmp"),
            NOT_INTACT,
            "chain/.000007.json.k2j4h1.4242.tmp",
        ),
        Case(
            "a receipt-like file at an odd depth",
            "main",
            touch("witness/x/000000.json"),
            NOT_INTACT,
            "witness/x/000000.json",
        ),
        Case(
            "a link copy beside the link",
            "main",
            doc("chain/000003.json.bak added")(
                lambda w: shutil.copyfile(
                    link_path(w.session, 3), w.session / "chain" / "000003.json.bak"
                )
            ),
            NOT_INTACT,
            "chain/000003.json.bak",
        ),
        Case("first link and manifest deleted", "main", first_link_gone, NOT_INTACT, chain(0)),
        Case(
            "cut off while signing the last link", "main", unsigned_last_link, NOT_INTACT, chain(7)
        ),
        Case(
            "cut off between storing a segment and chaining it",
            "main",
            unchained_segment,
            NOT_INTACT,
            seg(SEGMENTS),
        ),
        Case(
            "still recording: the chain has not ended",
            "main",
            doc("the stop link and the seal deleted")(
                lambda w: (_roll_back(w, LINK_STOP), _unseal(w))
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "cut off while sealing: the chain ended, nothing of the seal written",
            "main",
            doc("the seal deleted")(_unseal),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "cut off while sealing: SHA256SUMS written, no manifest",
            "main",
            doc("manifest.json and manifest.sig deleted")(
                lambda w: [(w.session / n).unlink() for n in ("manifest.json", "manifest.sig")]
            ),
            NOT_INTACT,
            "manifest.json",
        ),
        Case(
            "a manifest without SHA256SUMS",
            "main",
            doc("SHA256SUMS and its signature deleted, the manifest left")(
                lambda w: [(w.session / n).unlink() for n in ("SHA256SUMS", "SHA256SUMS.sig")]
            ),
            NOT_INTACT,
            "SHA256SUMS",
        ),
        Case("a P-384 key", "main", p384_key, NOT_INTACT, "signer/public_key.pem"),
        Case(
            "a full forgery with its own root",
            "forgery",
            doc(
                "a session recorded under the attacker's own CA, new id and case; its own "
                "root in the package"
            )(lambda w: None),
            NOT_INTACT,
            "signer/certificate.pem",
        ),
        Case(
            "an interrupted session ending after its recovery",
            "outage",
            ended_after_recovery,
            NOT_INTACT,
            chain(OUTAGE_INTERRUPTED),
        ),
        Case(
            "a pinned key swapped for another",
            "pinned",
            another_pinned_key,
            NOT_INTACT,
            "signer/public_key.pem",
        ),
    ]
    genuine = [
        Case("the genuine session", "main", doc("nothing")(lambda w: None), INTACT, None),
        Case("the genuine session of another case", "other", doc("nothing")(lambda w: None),
             INTACT, None),
        Case("an interrupted session with a device outage", "outage", doc("nothing")(
            lambda w: None), INTACT, None),
        Case("an ECDSA device under an intermediate CA", "ecdsa", doc("nothing")(
            lambda w: None), INTACT, None),
        Case("a pinned device key without a certificate", "pinned", doc("nothing")(
            lambda w: None), INTACT, None),
    ]  # fmt: skip
    # Receipts and tokens (format sections 13 and 14): each verifier checks the receipts, with
    # the witness key the package carries; tokens need the authority's root, which no case
    # gives, so only where they may sit is judged here (tests/evidence_store/timestamping/).
    attested = [
        Case("a witnessed session", "witnessed", doc("nothing")(lambda w: None), INTACT, None),
        Case(
            "shortened and sealed again, the removed links' receipts left",
            "witnessed",
            shorten_past_receipts,
            NOT_INTACT,
            "witness/000006.json",
        ),
        Case(
            "shortened and sealed again, the removed links' receipts deleted too",
            "witnessed",
            shorten_and_hide_receipts,
            INTACT,
            None,
        ),
        Case(
            "the seal removed, the witness's receipt for it left",
            "witnessed",
            doc("manifest.json, manifest.sig and SHA256SUMS(.sig) deleted")(_unseal),
            NOT_INTACT,
            "witness/manifest.json",
        ),
        Case(
            "a receipt's inclusion proof altered",
            "witnessed",
            alter_inclusion,
            NOT_INTACT,
            "witness/000002.json",
        ),
        Case(
            "a receipt's tree head signed by another witness key",
            "witnessed",
            another_witness_key,
            NOT_INTACT,
            "witness/000000.json",
        ),
        Case(
            "receipts signed by a substitute witness key the package carries",
            "witnessed",
            substitute_witness_key,
            NOT_INTACT,
            "witness/000000.json",
        ),
        Case(
            "a receipt filed under another link's number",
            "witnessed",
            receipt_under_another_number,
            NOT_INTACT,
            "witness/000002.json",
        ),
        Case(
            "a stray file in the witness's folder",
            "witnessed",
            touch("witness/notes.txt"),
            NOT_INTACT,
            "witness/notes.txt",
        ),
        Case(
            "a time-stamp token beside no link",
            "main",
            touch("chain/000099.tsr"),
            NOT_INTACT,
            "chain/000099.tsr",
        ),
        Case(
            "a time-stamp token among the segments",
            "main",
            touch("segments/000001.tsr"),
            NOT_INTACT,
            "segments/000001.tsr",
        ),
    ]
    # Only regular files and directories, and names without control characters (format
    # section 8, before step 1): a name is printed escaped, a line break as \n.
    kinds_and_names = [
        Case(
            "a symbolic link to a directory outside the session",
            "main",
            link_out_of_the_session,
            NOT_INTACT,
            "segments/cut",
        ),
        Case("a dangling symbolic link", "main", dangling_link, NOT_INTACT, seg(9)),
        Case("a segment behind a symbolic link", "main", segment_behind_a_link, NOT_INTACT,
             seg(1)),
        Case("a named pipe among the segments", "main", named_pipe, NOT_INTACT,
             "segments/zz.mp4"),
        Case(
            "a file whose name holds a line break",
            "main",
            touch("SHA256SUMS\nmanifest.json"),
            NOT_INTACT,
            "SHA256SUMS\\nmanifest.json",
        ),
        Case(
            "a receipt in a directory whose name holds a line break",
            "witnessed",
            receipt_under_a_line_break,
            NOT_INTACT,
            "SHA256SUMS\\nwitness",
        ),
    ]  # fmt: skip
    return genuine + catalogue + issue_11 + attested + kinds_and_names


# -- the off-box witness's receipts (format section 14), made from the spec ----------------
# Each head of a session (every link, and the seal) is an entry of an RFC 9162 log that also
# holds other rooms' heads; one tree head, signed with the witness's Ed25519 key, covers
# them all, and each receipt carries its entry's inclusion proof.

OTHER_ROOMS = 5  # entries of other sessions before this one's: proofs of some depth
LATE = timedelta(seconds=1.5)  # how long after signing the witness received each head


@dataclass(frozen=True)
class Witness:
    key: ed25519.Ed25519PrivateKey

    @classmethod
    def new(cls) -> Witness:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def log_id(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()

    def sign_head(self, head: dict[str, Any]) -> dict[str, Any]:
        """The tree head with its signature: over its canonical JSON without the signature."""
        unsigned = {**{k: v for k, v in head.items() if k != "signature"}, "log": self.log_id}
        return {**unsigned, "signature": self.key.sign(canonical_json(unsigned)).hex()}


def _entry(session_id: str, device: str, name: str, body: bytes) -> dict[str, Any]:
    document = json.loads(body)
    if name == "manifest.json":
        kind, seq, signed_at = "seal", None, document["ended_at"]
    else:
        kind, seq, signed_at = "link", document["seq"], document["time"]
    entry = {
        "device": device,
        "fork": False,
        "kind": kind,
        "received_at": format_utc(parse_utc(signed_at) + LATE),
        "session": session_id,
        "sha256": hashlib.sha256(body).hexdigest(),
        "type": "sealroom.witness-entry",
        "v": 1,
    }
    return entry if seq is None else {**entry, "seq": seq}


def witness_session(session: Path, session_id: str, witness: Witness) -> None:
    """Write ``witness/NNNNNN.json`` for every link and ``witness/manifest.json`` for the seal."""
    device = hashlib.sha256(
        serialization.load_pem_public_key(
            (session / "signer" / "public_key.pem").read_bytes()
        ).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).hexdigest()
    heads = sorted(p.relative_to(session).as_posix() for p in session.glob("chain/*.json"))
    heads.append("manifest.json")
    entries = [_entry(session_id, device, name, (session / name).read_bytes()) for name in heads]
    leaves = [merkle.leaf_hash(b"another room's head %d" % n) for n in range(OTHER_ROOMS)]
    leaves += [merkle.leaf_hash(canonical_json(entry)) for entry in entries]
    head = witness.sign_head(
        {
            "root_hash": merkle.tree_hash(leaves).hex(),
            "timestamp": max(entry["received_at"] for entry in entries),
            "tree_size": len(leaves),
            "type": "sealroom.tree-head",
            "v": 1,
        }
    )
    (session / "witness").mkdir()
    for offset, (name, entry) in enumerate(zip(heads, entries, strict=True)):
        index = OTHER_ROOMS + offset
        proof = [
            merkle.tree_hash(leaves[start:end]).hex()
            for start, end in merkle.inclusion_ranges(index, len(leaves))
        ]
        receipt = {
            "entry": entry,
            "inclusion": proof,
            "leaf_index": index,
            "tree_head": head,
            "type": "sealroom.witness-receipt",
            "v": 1,
        }
        target = "witness/manifest.json" if name == "manifest.json" else f"witness/{name[6:]}"
        (session / target).write_bytes(canonical_json(receipt))


# -- the genuine sessions ----------------------------------------------------------------------

OUTAGE_INTERRUPTED = 7  # the outage base: start, seg, lost, seg, restored, seg, pause, cut off


def _ca(subject: str) -> tuple[ed25519.Ed25519PrivateKey, x509.Certificate]:
    key = ed25519.Ed25519PrivateKey.generate()
    start = datetime.now(UTC) - timedelta(days=1)
    certificate = issue_certificate(
        subject=subject, public_key=key.public_key(), issuer_key=key, issuer_name=None,
        ca=True, days=3650, not_before=start,
    )  # fmt: skip
    return key, certificate


def _base(data: DataDir, session_id: str, signer: DeviceSigner, root_pem: bytes) -> Base:
    if b"CERTIFICATE" in root_pem:
        trust = TrustStore(roots=(x509.load_pem_x509_certificate(root_pem),))
    else:
        digest = sha256_hex(public_key_der(signer.public_key))
        trust = TrustStore(pinned_keys=frozenset({digest}))
    return Base(data.root, session_id, root_pem, signer, trust)


def record_bases(root: Path, media: list[Path]) -> dict[str, Base]:
    """The genuine sessions the cases start from."""
    sessions: Sessions = record_pristine(root / "appliance", media)
    device = sessions.data.signer()
    genuine_root = sessions.data.root_certificate().read_bytes()
    bases = {
        "main": _base(sessions.data, sessions.main, device, genuine_root),
        "other": _base(sessions.data, sessions.other, device, genuine_root),
    }

    # A camera lost and found, a pause, then a power cut: recovered, so interrupted.
    outage = new_data_dir(root / "outage")
    store, signer = outage.store(), outage.signer()
    writer = SessionWriter.start(store, signer, METADATA, MEDIA)
    seal_next(writer, media[0])
    writer.device_lost("camera-1", "mất tín hiệu")
    seal_next(writer, media[1])
    writer.device_restored("camera-1")
    seal_next(writer, media[2])
    writer.pause("nghỉ giải lao")
    writer.close()  # the power cut: nothing more is written
    recover_session(store, signer, writer.session_id)
    root_pem = outage.root_certificate().read_bytes()
    bases["outage"] = _base(outage, writer.session_id, signer, root_pem)

    # An ECDSA P-256 device certified by an intermediate CA.
    root_key, root_cert = _ca("Gốc tin cậy VKS")
    ca_key = ed25519.Ed25519PrivateKey.generate()
    ca = issue_certificate(
        subject="CA cấp 2", public_key=ca_key.public_key(), issuer_key=root_key,
        issuer_name=root_cert.subject, ca=True, days=3650,
        not_before=datetime.now(UTC) - timedelta(days=1),
    )  # fmt: skip
    device_key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue_certificate(
        subject="phòng hỏi cung 3", public_key=device_key.public_key(), issuer_key=ca_key,
        issuer_name=ca.subject, ca=False, days=365,
        not_before=datetime.now(UTC) - timedelta(days=1),
    )  # fmt: skip
    ecdsa = new_data_dir(root / "ecdsa")
    signer = DeviceSigner(device_key, certificate, (ca,))
    session_id = record_session(ecdsa.store(), signer, media[:SEGMENTS])
    bases["ecdsa"] = _base(ecdsa, session_id, signer, root_cert.public_bytes(PEM))

    # A device with no certificate, its public key pinned.
    pinned = new_data_dir(root / "pinned")
    signer = DeviceSigner(ed25519.Ed25519PrivateKey.generate())
    session_id = record_session(pinned.store(), signer, media[:SEGMENTS])
    key_pem = signer.public_key.public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bases["pinned"] = _base(pinned, session_id, signer, key_pem)

    # The main session, answered for by an off-box witness: receipts for every head.
    witness = Witness.new()
    witnessed = root / "witnessed"
    shutil.copytree(sessions.data.root, witnessed, ignore=shutil.ignore_patterns(".inflight"))
    session = witnessed / "evidence" / "sessions" / sessions.main
    session.chmod(0o755)
    witness_session(session, sessions.main, witness)
    (root / "witness.pem").write_bytes(witness.public_pem)
    trust = bases["main"].trust.with_witness_keys([root / "witness.pem"])
    bases["witnessed"] = Base(
        witnessed, sessions.main, genuine_root, device, trust, witness.public_pem
    )

    # A forgery: the attacker's own CA and device, a session of its own making.
    genuine = x509.load_pem_x509_certificate(
        (sessions.session_dir() / "signer" / "certificate.pem").read_bytes()
    )
    attacker = attacker_with_own_ca(genuine)
    forged = new_data_dir(root / "forgery")
    signer = DeviceSigner(attacker.key, attacker.certificate, attacker.chain)
    metadata = METADATA.model_copy(update={"case_number": "VKS-999/2026/HS-ĐT"})
    session_id = record_session(forged.store(), signer, media[:SEGMENTS], metadata=metadata)
    # Judged against the genuine root; exported by the genuine installation (see above).
    bases["forgery"] = Base(forged.root, session_id, genuine_root, device, bases["main"].trust)
    return bases


# -- writing a case out ------------------------------------------------------------------------


def skeleton(base: Base, name: str, destination: Path) -> Path:
    """A genuine export package of the base session, made by sealroom's export builder."""
    out = destination / name
    if not out.exists():
        store = FilesystemStore.open(base.data / "evidence", create=False)
        build_package(
            store, ExportSpec(base.session_id), base.trust, out, custody=[],
            exported_by="conformance corpus", signer=base.exporter,
        )  # fmt: skip
    return out


def wrap(session: Path, session_id: str, skeleton_dir: Path, exporter: DeviceSigner,
         target: Path, package_files: dict[str, bytes | None]) -> None:  # fmt: skip
    """An export package holding ``session`` as it is now, listed and signed again by the
    genuine exporting installation, so that only the session is judged."""
    shutil.copytree(skeleton_dir, target, ignore=shutil.ignore_patterns("sessions"))
    for name, data in package_files.items():
        if data is None:
            shutil.rmtree(target / name)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(data)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.copytree(
        session, target / "sessions" / session_id, symlinks=True, copy_function=_copy_entry
    )
    taken_at = json.loads((target / "custody.json").read_bytes())["taken_at"]
    (target / "custody.json").write_text(custody_excerpt(session_id, [], taken_at), "utf-8")
    write_package_sums(target, {})
    (target / PACKAGE_SIG).write_bytes(exporter.sign((target / "PACKAGE-SHA256SUMS").read_bytes()))
    make_read_only(target)


def _copy_entry(source: str, destination: str) -> None:
    """Copy a file as copytree does; a named pipe is made again (reading one would block)."""
    if stat.S_ISFIFO(os.lstat(source).st_mode):
        os.mkfifo(destination)
    else:
        shutil.copy2(source, destination)


def materialise(
    case: Case, bases: dict[str, Base], work: Path, out: Path, number: int
) -> dict[str, Any]:
    base = bases[case.base]
    scratch = work / f"{number:02d}"
    shutil.copytree(base.data, scratch, ignore=shutil.ignore_patterns(".inflight"))
    for path in scratch.rglob("*"):
        if path.is_file():
            path.chmod(0o600 if path.parent.name == "keys" else 0o644)
    other = bases["other"]
    w = Work(
        session=scratch / "evidence" / "sessions" / base.session_id,
        other=other.data / "evidence" / "sessions" / other.session_id,
        device=bases["main"].exporter if case.base in ("main", "other") else base.exporter,
        data=scratch,
        root_pem=base.root_pem,
        session_id=base.session_id,
    )
    case.tamper(w)
    directory = out / f"{number:02d}-{slug(case.name)}"
    directory.mkdir()
    (directory / "root.pem").write_bytes(w.root_pem)
    source = skeleton(bases["main"] if case.base == "forgery" else base, case.base, work)
    wrap(w.session, w.session_id, source, base.exporter, directory / "package", w.package_files)
    (directory / "data").mkdir()
    (directory / "data" / "evidence").symlink_to(Path("..") / "package")
    if base.witness_pem is not None:  # trusted as an installation pins its witness's key
        # and as a reader pins it: with the fingerprint the witness's operator publishes
        der = serialization.load_pem_public_key(base.witness_pem).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (directory / "witness.fp").write_text(hashlib.sha256(der).hexdigest(), "utf-8")
        (directory / "data" / "trust" / "witness").mkdir(parents=True)
        (directory / "data" / "trust" / "witness" / "witness.pem").write_bytes(base.witness_pem)
    return {**case.record(w.session_id), "directory": directory.name}


def slug(text: str) -> str:
    kept = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in kept.split("-") if part)


def build(out: Path) -> list[dict[str, Any]]:
    """Write the corpus into ``out`` (created; must not exist) and return its cases."""
    out.mkdir(parents=True)
    work = out / ".work"
    media = make_segment_media(work / "media")
    bases = record_bases(work / "bases", media)
    written = [materialise(case, bases, work, out, n) for n, case in enumerate(cases())]
    shutil.rmtree(work)
    (out / "cases.json").write_text(json.dumps(written, ensure_ascii=False, indent=1), "utf-8")
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.evidence_store.conformance.build OUT_DIR")
    built = build(Path(sys.argv[1]))
    print(f"{len(built)} cases in {sys.argv[1]}")
