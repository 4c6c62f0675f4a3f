"""`sealroom export`: what a package holds, and that anyone can verify and play it offline.

verify.py is run as a user would run it: a separate process, with the system's Python when
that has `cryptography` (and certainly not sealroom), so the package proves it stands alone.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import ssl
import stat
import string
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from evidence_store.clips import ClipProof, clip_proof
from evidence_store.errors import UsageError
from evidence_store.export import ASSETS
from evidence_store.export.check import load_verifier
from evidence_store.export.files import zip_directory
from evidence_store.installation.data_dir import DataDir
from evidence_store.signing import load_public_key, public_key_der, verify_signature
from tests.support.browser import wait_js
from tests.support.cli import run_sealroom
from tests.support.evidence import (
    SEGMENT_US,
    SEGMENTS,
    Sessions,
    attacker_copy,
    flip_byte,
    record_pristine,
    segment_file,
    segment_media,
    session_files,
)
from tests.support.exports import (
    package_procedure,
    readme_procedure,
    readme_run_line,
    run_verify,
    standalone_python,
)
from tests.support.hand_procedure import SPEC, documented_procedure
from tests.support.paths import ARTIFACTS

SIGNER = "CN=phong-hoi-cung-1,O=sealroom"
CLIP_SPAN = (SEGMENT_US + SEGMENT_US // 2, 2 * SEGMENT_US + SEGMENT_US // 2)  # segments 1, 2


@dataclass(frozen=True)
class Exported:
    sessions: Sessions
    root: Path  # the data directory
    session_package: Path
    clip_package: Path
    zip_package: Path
    proof: ClipProof
    clip_ref: str


def add_console_clip(root: Path, session_id: str, proof: ClipProof) -> str:
    """A clip row in the console database, as the exhibits page would store it."""
    from web.app import create_app
    from web.auth.accounts import create_user
    from web.extensions import db
    from web.models import Clip, User

    app = create_app(DataDir.resolve(root))
    with app.app_context():
        create_user(
            "kiem-sat-vien", role="prosecutor", unit="supreme", password="mưa phùn trên phố cổ"
        )
        user = db.session.query(User).filter_by(username="kiem-sat-vien").one()
        clip = Clip(
            session_id=session_id,
            unit_code="supreme",
            title="Lời khai về tang vật",
            exhibit_number="VC-07",
            start_ms=proof.start_us // 1000,
            end_ms=proof.end_us // 1000,
            proof=proof.to_json(),
            created_by=user.id,
        )
        db.session.add(clip)
        db.session.commit()
        return f"clip-{clip.id}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    base = tmp_path_factory.mktemp("export")
    sessions = record_pristine(base / "data", segment_media(tmp_path_factory))
    root = sessions.data.root
    proof = clip_proof(sessions.data.store(), sessions.main, sessions.data.trust(), *CLIP_SPAN)
    clip_ref = add_console_clip(root, sessions.main, proof)
    packages = base / "packages"
    packages.mkdir()
    runs = [
        (sessions.main, packages / "phien", []),
        (clip_ref, packages / "trich-doan", ["--operator", "Thư ký Nguyễn Thị Hoa"]),
        (sessions.main, packages / "phien.zip", ["--zip"]),
    ]
    for what, out, extra in runs:
        result = run_sealroom("export", what, "--out", str(out), *extra, data_dir=root)
        assert result.returncode == 0, result.stderr
    return Exported(
        sessions,
        root,
        packages / "phien",
        packages / "trich-doan",
        packages / "phien.zip",
        proof,
        clip_ref,
    )


def session_dir(package: Path, session_id: str) -> Path:
    return package / "sessions" / session_id


def custody_log(root: Path, session_id: str) -> list[dict[str, object]]:
    result = run_sealroom("custody", "log", "--session", session_id, "--json", data_dir=root)
    assert result.returncode == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries


# -- contents ----------------------------------------------------------------------------------


def test_a_session_package_holds_the_evidence_byte_for_byte(exported: Exported) -> None:
    source = exported.sessions.session_dir()
    copied = session_dir(exported.session_package, exported.sessions.main)
    assert session_files(copied) == session_files(source)
    for name in session_files(source):
        assert (copied / name).read_bytes() == (source / name).read_bytes(), name
    package = exported.session_package
    for name in ("README.vi.md", "README.en.md", "verify.py", "player.html", "player.js"):
        assert (package / name).is_file(), name
    for name in ("exporter/public_key.pem", "exporter/certificate.pem", "PACKAGE-SHA256SUMS.sig"):
        assert (package / name).is_file(), name
    assert (package / "trust-root.pem").read_bytes() == (
        exported.sessions.data.root_certificate().read_bytes()
    )
    assert not (package / "clip.json").exists()


def test_every_file_of_the_package_is_listed_with_its_digest(exported: Exported) -> None:
    package = exported.session_package
    listed = {}
    for line in (package / "PACKAGE-SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.name not in ("PACKAGE-SHA256SUMS", "PACKAGE-SHA256SUMS.sig")
    }
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((package / name).read_bytes()).hexdigest() == digest, name


def test_the_package_is_signed_by_the_exporting_installation(exported: Exported) -> None:
    package = exported.session_package
    signer = exported.sessions.data.signer()
    key = load_public_key(
        (package / "exporter" / "public_key.pem").read_bytes(), location="exporter"
    )
    assert public_key_der(key) == public_key_der(signer.public_key)
    assert (package / "exporter" / "certificate.pem").read_bytes() == signer.certificate_pem()
    verify_signature(
        key,
        (package / "PACKAGE-SHA256SUMS.sig").read_bytes(),
        (package / "PACKAGE-SHA256SUMS").read_bytes(),
        location="PACKAGE-SHA256SUMS",
    )


def test_the_readmes_explain_both_ways_to_verify_in_both_languages(exported: Exported) -> None:
    english = (exported.session_package / "README.en.md").read_text(encoding="utf-8")
    vietnamese = (exported.session_package / "README.vi.md").read_text(encoding="utf-8")
    assert "{{" not in english and "{{" not in vietnamese
    assert exported.sessions.main in english and exported.sessions.main in vietnamese
    assert "python3 verify.py" in english and "python3 verify.py" in vietnamese
    assert "Anyone can make a root certificate" in english
    assert "Bất kỳ ai cũng có thể tự tạo một chứng thư gốc" in vietnamese
    assert "Kiểm tra thủ công bằng openssl và sha256sum" in vietnamese
    fingerprint = re.search(r"fingerprint: `([0-9A-F:]{95})`", english)
    assert fingerprint and fingerprint.group(1) in vietnamese


def commands(script: str) -> list[str]:
    """A script without its comments: what it does, in any language."""
    lines = (re.sub(r" # .*$|   #.*$", "", line).rstrip() for line in script.splitlines())
    return [line for line in lines if not line.lstrip().startswith("#")]


def test_a_package_carries_the_format_documents_procedure_unchanged(
    exported: Exported,
) -> None:
    for package in (exported.session_package, exported.clip_package):
        english = readme_procedure(package / "README.en.md")
        assert english == documented_procedure(), f"README.en.md differs from {SPEC.name}"
        assert (package / "procedure.sh").read_text(encoding="utf-8") == english
        vietnamese = readme_procedure(package / "README.vi.md")
        assert commands(vietnamese) == commands(english) and vietnamese != english


def test_a_clip_packages_procedure_is_run_with_its_clip(exported: Exported) -> None:
    session_id = exported.sessions.main
    for language in ("en", "vi"):
        clip = readme_run_line(exported.clip_package / f"README.{language}.md")
        assert clip == f"cd sessions/{session_id}\nCLIP=../../clip.json sh ../../procedure.sh\n"
        whole = readme_run_line(exported.session_package / f"README.{language}.md")
        assert whole == f"cd sessions/{session_id}\nsh ../../procedure.sh\n"


def test_the_readmes_check_the_exporters_signature_before_the_recording(
    exported: Exported,
) -> None:
    for package in (exported.session_package, exported.clip_package):
        english = (package / "README.en.md").read_text(encoding="utf-8")
        procedure = package_procedure(package / "README.en.md")
        assert "PACKAGE-SHA256SUMS.sig" in procedure
        assert english.index("# P1. ") < english.index("sh ../../procedure.sh")
        vietnamese = package_procedure(package / "README.vi.md")
        assert commands(vietnamese) == commands(procedure)


# -- verify.py ---------------------------------------------------------------------------------


def test_verify_py_needs_only_the_standard_library_and_cryptography(exported: Exported) -> None:
    """rfc3161-client is optional: only time-stamp tokens need it, it is imported only when a
    package's tokens are checked, and without it verify.py says they were not checked
    (tests/evidence_store/timestamping/test_export.py)."""
    tree = ast.parse((exported.session_package / "verify.py").read_text(encoding="utf-8"))

    def imports(nodes: list[ast.AST]) -> set[str]:
        return {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
            for node in nodes
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }

    at_load = imports([n for s in tree.body if not isinstance(s, ast.FunctionDef | ast.ClassDef)
                       for n in ast.walk(s)])  # fmt: skip
    assert at_load - set(sys.stdlib_module_names) == {"cryptography"}
    everywhere = imports(list(ast.walk(tree))) - set(sys.stdlib_module_names)
    assert everywhere == {"cryptography", "rfc3161_client"}


def test_verify_py_run_alone_says_what_it_verified(exported: Exported) -> None:
    result = run_verify(exported.session_package)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    manifest = json.loads(
        (session_dir(exported.session_package, exported.sessions.main) / "manifest.json").read_text(
            encoding="utf-8"
        )
    )
    assert f"Signer:         {SIGNER}" in out
    assert f"Exporter:       {SIGNER}" in out  # the same installation recorded and exported
    assert "the device's (" in out and "the recording" in out
    assert "the exporter's (" in out and "the selection" in out
    assert "valid from" in out
    # Times in the installation's zone (the console's: Asia/Ho_Chi_Minh) and in UTC.
    assert "Times:          in the installation's time zone (Asia/Ho_Chi_Minh) and in UTC" in out
    for label, stamp in (("started:", manifest["started_at"]), ("ended:", manifest["ended_at"])):
        utc = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        local = utc.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        shown = (
            f"{local:%Y-%m-%d %H:%M:%S} (Viet Nam time, UTC+07:00) = {utc:%Y-%m-%d %H:%M:%S} UTC"
        )
        assert f"  {label:<14}{shown}" in out
    assert f"{SEGMENTS} verified of {SEGMENTS} sealed" in out
    for segment in manifest["segments"]:
        assert f"{segment['name']}" in out and segment["sha256"] in out
    assert manifest["chain"]["head"] in out
    fingerprint = hashlib.sha256(
        ssl.PEM_cert_to_DER_cert((exported.session_package / "trust-root.pem").read_text())
    ).hexdigest()
    assert fingerprint.upper() in out.replace(":", "")
    # Checked against the root the package carries: the verdict itself says on what condition.
    verdict, caveat = out.rstrip().splitlines()[-2:]
    assert verdict == "RESULT: INTACT"
    assert "only if the trust root fingerprint printed above is the procuracy's" in caveat
    # Neither the export's own check nor this run left bytecode in the package.
    assert not list(exported.session_package.rglob("__pycache__"))


ARGPARSE_ENGLISH = ("usage:", "options:", "positional arguments", "show this help", "error:")


def _verify_py(*args: str, language: str | None) -> subprocess.CompletedProcess[str]:
    """verify.py straight from the assets (no package needed for --help and usage errors),
    isolated; SEALROOM_LANG set to ``language`` or unset."""
    env = {"PATH": "/usr/bin:/bin", **({"SEALROOM_LANG": language} if language else {})}
    return subprocess.run(
        [standalone_python(), "-I", str(ASSETS / "verify.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_verify_py_help_and_usage_errors_speak_the_readers_language() -> None:
    """With Vietnamese the language (the default), argparse's own headings, help and errors
    are Vietnamese too; with English they stay argparse's."""
    help_vi = _verify_py("--help", language=None)
    assert help_vi.returncode == 0, help_vi.stderr
    assert help_vi.stdout.startswith("cách dùng: verify.py")
    assert "tuỳ chọn:" in help_vi.stdout and "in hướng dẫn này rồi thoát" in help_vi.stdout
    assert [w for w in ARGPARSE_ENGLISH if w in help_vi.stdout] == []
    assert "PACKAGE" not in help_vi.stdout and "WITNESS_KEY" not in help_vi.stdout
    for wrong in (["--bogus"], ["--lang", "xx"], ["--root"]):
        refused = _verify_py(*wrong, language=None)
        assert refused.returncode == 2
        assert "verify.py: lỗi: " in refused.stderr, refused.stderr
        assert [w for w in ARGPARSE_ENGLISH if w in refused.stderr] == [], refused.stderr
    help_en = _verify_py("--help", language="en")
    assert help_en.stdout.startswith("usage: verify.py") and "options:" in help_en.stdout
    assert "cách dùng" not in help_en.stdout
    english = _verify_py("--lang", "en", "--bogus", language=None)
    assert "error: unrecognized arguments: --bogus" in english.stderr


def test_every_message_of_verify_py_is_in_both_languages() -> None:
    """Each code verify.py raises or prints is in its table, in Vietnamese and English, with
    the same {named} values: a missing one would fail a reader at the worst moment."""
    source = (ASSETS / "verify.py").read_text(encoding="utf-8")
    verifier = load_verifier(ASSETS / "verify.py")
    table: dict[str, tuple[str, str]] = verifier.MESSAGES
    used: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
            "Failure",
            "UsageProblem",
            "TimeStampsNotChecked",
            "Term",
            "out",
            "t",
            "text",
        ):
            codes = [a for a in node.args if isinstance(a, ast.Constant)]
            used.update(str(c.value) for c in codes if str(c.value) in table or "_" in str(c.value))
    assert used - set(table) == set()
    assert len(used) > 150
    fields = string.Formatter()
    for code, (english, vietnamese) in table.items():
        assert english and vietnamese, code
        names = [{f for _, f, _, _ in fields.parse(text) if f} for text in (english, vietnamese)]
        assert names[0] == names[1], code


def test_verify_py_falls_back_to_the_recorded_offset_without_zone_data() -> None:
    """Windows without tzdata has no zone data: the offset the package records stands in,
    and the report says so; a malformed record is a failure, not a guess."""
    verifier = load_verifier(ASSETS / "verify.py")
    record = {"timezone": "Asia/Noi_Khong_Co", "utc_offset": "+07:00"}
    zone = verifier.Zone(json.dumps(record).encode())
    assert zone.fixed
    moment = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert zone.show(moment, "vi") == (
        "2026-12-07 06:30:00 (giờ Asia/Noi_Khong_Co, UTC+07:00) = 2026-12-06 23:30:00 UTC"
    )
    lines: list[str] = []
    report = verifier.Report(lines.append, "en")
    report.zone = zone
    report.zone_note()
    assert "no time zone data for Asia/Noi_Khong_Co" in lines[0]
    assert "fixed offset UTC+07:00 the package records" in lines[1]
    for bad in ({"timezone": "../../etc/passwd", "utc_offset": "+07:00"}, {"timezone": "UTC"}):
        with pytest.raises(verifier.Failure) as failure:
            verifier.Zone(json.dumps(bad).encode())
        assert failure.value.where == "installation.json"


def test_verify_py_accepts_the_published_fingerprint_and_refuses_another(
    exported: Exported,
) -> None:
    printed = re.search(
        r"SHA-256 fingerprint: ([0-9A-F:]+)", run_verify(exported.session_package).stdout
    )
    assert printed
    pinned = run_verify(exported.session_package, "--expect-root", printed.group(1))
    assert pinned.returncode == 0
    assert pinned.stdout.rstrip().endswith("RESULT: INTACT")  # no caveat left to state
    root = exported.sessions.data.root_certificate()
    given = run_verify(exported.session_package, "--root", str(root))
    assert given.returncode == 0 and given.stdout.rstrip().endswith("RESULT: INTACT")
    assert "the root you gave (--root)" in given.stdout
    wrong = run_verify(exported.session_package, "--expect-root", "AB" * 32)
    assert wrong.returncode == 1
    assert "trust root is not the one whose fingerprint you expect" in wrong.stdout


def test_verify_py_with_no_package_is_a_usage_error(tmp_path: Path, exported: Exported) -> None:
    shutil.copyfile(exported.session_package / "verify.py", tmp_path / "verify.py")
    result = run_verify(tmp_path)
    assert result.returncode == 2
    assert "not a sealroom export package" in result.stderr


def test_a_zip_package_unpacks_to_a_package_that_verifies(
    exported: Exported, tmp_path: Path
) -> None:
    with zipfile.ZipFile(exported.zip_package) as archive:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
        archive.extractall(tmp_path)
    result = run_verify(tmp_path / "phien")
    assert result.returncode == 0, result.stdout


def test_a_zip_package_is_read_only_like_a_directory_package(exported: Exported) -> None:
    # The stricter of the two forms wins: nothing in an export is meant to be edited. Both
    # are read-only less the installation's umask: its owner's alone by default.
    assert stat.S_IMODE(exported.zip_package.stat().st_mode) == 0o400
    files = [p for p in exported.session_package.rglob("*") if p.is_file()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o400}


def test_a_zip_never_replaces_a_file_that_appeared_at_its_name(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "README.vi.md").write_text("Gói xuất", encoding="utf-8")
    target = tmp_path / "phien.zip"
    target.write_bytes(b"made by someone else after the export began")
    with pytest.raises(UsageError, match="already exists"):
        zip_directory(package, target, top="phien")
    assert target.read_bytes() == b"made by someone else after the export began"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package", "phien.zip"]


# -- clips -------------------------------------------------------------------------------------


def test_a_clip_package_holds_only_its_segments_and_every_link(exported: Exported) -> None:
    copied = session_dir(exported.clip_package, exported.sessions.main)
    assert sorted(p.name for p in (copied / "segments").iterdir()) == ["000001.mp4", "000002.mp4"]
    source = exported.sessions.session_dir()
    assert sorted(p.name for p in (copied / "chain").iterdir()) == sorted(
        p.name for p in (source / "chain").iterdir()
    )
    proof = ClipProof.from_json((exported.clip_package / "clip.json").read_text(encoding="utf-8"))
    assert proof == exported.proof
    not_included = (exported.clip_package / "NOT-INCLUDED.txt").read_text(encoding="utf-8")
    assert not_included.split() == ["segments/000000.mp4", "segments/000003.mp4"]
    readme = (exported.clip_package / "README.vi.md").read_text(encoding="utf-8")
    assert "Lời khai về tang vật" in readme and "VC-07" in readme


def test_a_clip_verifies_with_only_its_segments(exported: Exported) -> None:
    result = run_verify(exported.clip_package)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"2 verified of {SEGMENTS} sealed" in out
    assert "000000.mp4  0:00:00.000" in out
    assert out.count("not included (outside the clip)") == 2
    assert "Clip:           0:00:01.500 to 0:00:02.500" in out
    assert "\nRESULT: INTACT\n" in out


# -- custody -----------------------------------------------------------------------------------


def test_each_export_is_a_custody_event_naming_the_package(exported: Exported) -> None:
    events = [
        e for e in custody_log(exported.root, exported.sessions.main) if e["action"] == "export"
    ]
    assert len(events) == 3
    by_package = {e["detail"]["package"]: e for e in events}  # type: ignore[index]
    session_event = by_package["phien"]
    listing = (exported.session_package / "PACKAGE-SHA256SUMS").read_bytes()
    assert session_event["detail"]["package_sha256"] == hashlib.sha256(listing).hexdigest()  # type: ignore[index]
    clip_event = by_package["trich-doan"]
    assert clip_event["actor"] == "Thư ký Nguyễn Thị Hoa"
    assert clip_event["detail"]["clip"] == exported.clip_ref  # type: ignore[index]
    zip_event = by_package["phien.zip"]
    archive = hashlib.sha256(exported.zip_package.read_bytes()).hexdigest()
    assert zip_event["detail"]["archive_sha256"] == archive  # type: ignore[index]


def test_the_custody_excerpt_is_taken_before_the_export_is_recorded(exported: Exported) -> None:
    excerpt = json.loads((exported.clip_package / "custody.json").read_text(encoding="utf-8"))
    # The clip was exported second: the excerpt holds the first export, not its own.
    assert [e["action"] for e in excerpt["entries"]] == ["export"]
    assert excerpt["entries"][0]["detail"]["package"] == "phien"
    out = run_verify(exported.clip_package).stdout
    assert "Custody:        1 entries of this session up to the export" in out
    assert "not a proof that nothing was left out" in out


# -- refusals ----------------------------------------------------------------------------------


def test_an_existing_destination_is_refused_and_left_alone(exported: Exported) -> None:
    before = (exported.session_package / "PACKAGE-SHA256SUMS").read_bytes()
    result = run_sealroom(
        "export",
        exported.sessions.main,
        "--out",
        str(exported.session_package),
        data_dir=exported.root,
    )
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert (exported.session_package / "PACKAGE-SHA256SUMS").read_bytes() == before


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("s-20990101T000000Z-00000000", "unknown session"),
        ("clip-9999", "no clip clip-9999"),
        ("clip-x", "not a clip"),
        ("../etc", "not a session id"),
    ],
)
def test_an_unknown_session_or_clip_is_a_usage_error(
    exported: Exported, tmp_path: Path, what: str, message: str
) -> None:
    result = run_sealroom("export", what, "--out", str(tmp_path / "p"), data_dir=exported.root)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "p").exists()


def test_tampered_evidence_is_not_exported_and_the_attempt_is_recorded(
    exported: Exported, tmp_path: Path
) -> None:
    copy = attacker_copy(exported.sessions, tmp_path)
    flip_byte(segment_file(copy.session_dir(), 2))
    out = tmp_path / "out" / "p"
    out.parent.mkdir()
    result = run_sealroom("export", copy.main, "--out", str(out), data_dir=copy.data.root)
    assert result.returncode == 1
    assert "segments/000002.mp4" in result.stderr and "sealed SHA-256" in result.stderr
    assert list(out.parent.iterdir()) == []  # no package, no partial directory
    last = custody_log(copy.data.root, copy.main)[-1]
    assert last["action"] == "export"
    assert last["detail"]["result"] == "tampered"  # type: ignore[index]


# -- the offline player ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_offline_player_plays_the_segments_from_file_url(
    exported: Exported, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((exported.session_package / "player.html").as_uri())
    assert page.url.startswith("file://")
    page.click("#play")
    # The first segment plays...
    wait_js(page, "document.getElementById('screen-a').currentTime > 0.3", timeout=20)
    # ...and playback continues into the next segment's file.
    position = "Number(document.getElementById('position').dataset.us)"
    wait_js(page, f"{position} > {SEGMENT_US + 300_000}", timeout=20)
    segment = page.evaluate("document.getElementById('position').dataset.segment")
    assert int(segment) >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "export-player.png"))
    clip_page = browser.new_page()  # type: ignore[attr-defined]
    clip_page.goto((exported.clip_package / "player.html").as_uri())
    clip_page.click("#play")
    # A clip starts inside its first segment, at the clip's start.
    wait_js(clip_page, f"{position} > {CLIP_SPAN[0]}", timeout=20)
    assert clip_page.evaluate(position) < CLIP_SPAN[0] + 1_000_000
    assert errors == []


SHOWN = "document.querySelector('#stage .screen:not(.hidden)')"
AT_US = "Number(document.getElementById('position').dataset.us)"
# How far into its segment file the clip's last segment ever played: sampled at every frame
# the browser paints and at every timeupdate (a pause sends one).
FURTHEST = """() => {
  window.furthest = 0;
  const sample = (video) => {
    if (!video.src.endsWith('segments/000002.mp4')) return;
    window.furthest = Math.max(window.furthest, video.currentTime);
  };
  const screens = Array.from(document.querySelectorAll('#stage .screen'));
  screens.forEach((v) => v.addEventListener('timeupdate', () => sample(v)));
  const frame = () => { screens.forEach(sample); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
}"""


@pytest.mark.slow
def test_the_offline_player_stops_at_the_clips_end_exactly(
    exported: Exported, browser: object
) -> None:
    """A clip ending half-way into a segment file stops there (within a frame), shows its
    end as the position, and holds the end's frame: not a third of a second on."""
    clip = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    clip.on("pageerror", lambda error: errors.append(str(error)))
    clip.goto((exported.clip_package / "player.html").as_uri())
    assert clip.url.startswith("file://")
    wait_js(clip, f"{SHOWN}.readyState >= 1", timeout=20)
    clip.evaluate(FURTHEST)
    clip.click("#play")
    wait_js(clip, f"{AT_US} >= {CLIP_SPAN[1]} && {SHOWN}.paused", timeout=30)
    end_in_segment = (CLIP_SPAN[1] - 2 * SEGMENT_US) / 1e6
    furthest = clip.evaluate("window.furthest")
    assert end_in_segment - 0.05 < furthest < end_in_segment + 0.05, furthest
    assert clip.evaluate(AT_US) == CLIP_SPAN[1]
    assert abs(clip.evaluate(f"{SHOWN}.currentTime") - end_in_segment) < 0.002
    assert clip.inner_text("#position").startswith("00:00:02.500")  # type: ignore[attr-defined]
    assert errors == []


@pytest.mark.slow
def test_the_offline_player_scrubs_skips_changes_speed_and_goes_fullscreen(
    exported: Exported, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((exported.session_package / "player.html").as_uri())
    wait_js(page, f"{SHOWN}.readyState >= 1", timeout=20)
    seek = page.locator("#seek")  # type: ignore[attr-defined]
    assert (seek.get_attribute("min"), seek.get_attribute("max")) == ("0", str(4 * 1000))

    # Scrubbing: the bar dragged to 60 % shows segment 2 (the recording is 4 s long).
    box = seek.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]
    wait_js(page, f"{SHOWN}.dataset.index === '2' && {SHOWN}.readyState >= 1", timeout=20)
    at = page.evaluate(AT_US)
    assert 2 * SEGMENT_US < at < 3 * SEGMENT_US, at
    # The clip's time-code scheme: the session's clock, the wall-clock time beside it.
    shown = page.inner_text("#position")  # type: ignore[attr-defined]
    assert re.fullmatch(r"00:00:02\.\d{3} · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT.*", shown), shown
    offset = page.evaluate(f"{SHOWN}.currentTime")
    assert abs(offset - (at - 2 * SEGMENT_US) / 1e6) < 0.1, (offset, at)

    # Skips stay within the recording: back 10 s is its start, forward 10 s its end.
    page.click("#back")
    assert page.evaluate(AT_US) == 0
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]
    assert page.evaluate(AT_US) > 3 * SEGMENT_US
    wait_js(page, f"{SHOWN}.dataset.index === '3'", timeout=20)
    page.keyboard.press("j")  # type: ignore[attr-defined]
    assert page.evaluate(AT_US) == 0

    # Speed: chosen in the list or with < and >, and kept by the next segment's file.
    page.select_option("#speed", "2")
    page.keyboard.press("<")  # type: ignore[attr-defined]
    assert page.get_attribute("#player", "data-rate") == "1.5"
    assert page.input_value("#speed") == "1.5"
    page.keyboard.press("k")  # plays
    wait_js(page, f"{AT_US} > {SEGMENT_US + 200_000}", timeout=20)
    assert page.evaluate(f"{SHOWN}.playbackRate") == 1.5
    page.keyboard.press(" ")  # pauses
    wait_js(page, f"{SHOWN}.paused", timeout=5)

    page.click("#fullscreen")
    wait_js(page, "document.fullscreenElement?.id === 'player'", timeout=5)
    shot = ARTIFACTS / "export-player-controls.png"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(shot))
    page.keyboard.press("f")  # type: ignore[attr-defined]
    wait_js(page, "document.fullscreenElement === null", timeout=5)

    # A clip's player moves only within the clip's own segments.
    clip = browser.new_page()  # type: ignore[attr-defined]
    clip.on("pageerror", lambda error: errors.append(str(error)))
    clip.goto((exported.clip_package / "player.html").as_uri())
    wait_js(clip, f"{SHOWN}.readyState >= 1", timeout=20)
    clip.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    assert clip.evaluate(AT_US) == CLIP_SPAN[0]
    clip.keyboard.press("l")  # type: ignore[attr-defined]
    assert CLIP_SPAN[1] - 10_000 < clip.evaluate(AT_US) < CLIP_SPAN[1]
    wait_js(clip, f"{SHOWN}.src.endsWith('segments/000002.mp4')", timeout=20)
    assert errors == []
