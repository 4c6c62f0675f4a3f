"""The documents of an export package that are not evidence: READMEs, player data, custody."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evidence_store import layout
from evidence_store.custody import CustodyEntry
from evidence_store.errors import UsageError
from evidence_store.model import Manifest, TrackedMedia, spelled_out
from evidence_store.timefmt import parse_utc
from evidence_store.timeline import runs

ASSETS = Path(__file__).parent / "assets"
STATIC_ASSETS = ("verify.py", "player.html", "player.js", "player.css", "tracks.js", "tracks.css")
PROCEDURE = "procedure.sh"  # the hand procedure of the format, to run in the session's folder
NOT_INCLUDED = "NOT-INCLUDED.txt"
CUSTODY = "custody.json"
PLAYER_DATA = "player-data.js"
INSTALLATION = "installation.json"  # the exporting installation's time zone, for verify.py


@dataclass(frozen=True)
class PackageFacts:
    """What the READMEs and the player say about the package."""

    kind: str  # "session" or "clip"
    manifest: Manifest
    exported_at: str
    exported_by: str
    root_subject: str
    root_fingerprint: str
    segments: list[dict[str, Any]]  # included segments: name, start_us, duration_us, sha256
    start_us: int
    end_us: int
    title: str = ""
    exhibit_number: str = ""
    exporter: str = ""  # the subject that signs PACKAGE-SHA256SUMS.sig
    timezone: str = ""  # the installation's IANA zone: its seal sheets' times; "" unknown

    @property
    def session_id(self) -> str:
        return self.manifest.session


def clock(us: int) -> str:
    seconds, micro = divmod(us, 1_000_000)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micro // 1000:03d}"


def _procedure(kind: str, language: str) -> str:
    """A procedure's shell text: ``session`` (the recording's, run in the session's
    directory, for a clip too) or ``package`` (run first, at the package's root)."""
    return (ASSETS / f"procedure.{kind}.{language}.sh").read_text(encoding="utf-8")


def _run_procedure(facts: PackageFacts) -> str:
    """How to run ``procedure.sh`` on this package's session (a clip names its proof)."""
    clip = "CLIP=../../clip.json " if facts.kind == "clip" else ""
    return f"cd sessions/{facts.session_id}\n{clip}sh ../../{PROCEDURE}"


# Every ASCII punctuation mark may be backslash-escaped in Markdown (CommonMark), and each of
# these can start markup: links, images, emphasis, headings, lists, tables, HTML.
# (Values always stand inside a line, after control characters are spelled out, so what
# only means something at a line's start, such as "-", "+" or "1.", stays as it is.)
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#!|<>~&")


def markdown_text(text: str) -> str:
    """Text from people (a clip's title, a case number, a name) as literal Markdown text:
    on one line (control characters spelled out) and with every markup character escaped,
    so it can neither add a heading, a link or a table row nor end the one it is in."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in spelled_out(text))


def render_readme(facts: PackageFacts, language: str) -> str:
    """Fill README.<language>.md's ``{{name}}`` fields; text from people is escaped."""
    template = (ASSETS / f"README.{language}.md").read_text(encoding="utf-8")
    span = f"{clock(facts.start_us)} – {clock(facts.end_us)}"
    values = {
        "session_id": facts.session_id,
        "case_number": markdown_text(facts.manifest.metadata.case_number),
        "room": markdown_text(facts.manifest.metadata.room),
        "started_at": facts.manifest.started_at,
        "ended_at": facts.manifest.ended_at,
        "exported_at": facts.exported_at,
        "exported_by": markdown_text(facts.exported_by),
        "exporter": facts.exporter,
        "root_subject": facts.root_subject,
        "root_fingerprint": facts.root_fingerprint,
        "segment_count": str(len(facts.segments)),
        "sealed_count": str(len(facts.manifest.segments)),
        "span": span,
        "title": markdown_text(facts.title) if facts.title else "-",
        "exhibit_number": markdown_text(facts.exhibit_number) if facts.exhibit_number else "-",
        "procedure": _procedure("session", language).rstrip("\n"),
        "run_procedure": _run_procedure(facts),
        "package_procedure": _procedure("package", language).rstrip("\n"),
        "kind_section": _kind_section(facts, language, span),
    }
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def _kind_section(facts: PackageFacts, language: str, span: str) -> str:
    """The paragraph that differs between a whole session and a clip."""
    title = markdown_text(facts.title) if facts.title else "-"
    number = markdown_text(facts.exhibit_number) if facts.exhibit_number else "-"
    if facts.kind == "session":
        if language == "vi":
            return (
                f"Gói này chứa **toàn bộ** phiên ghi: cả {len(facts.segments)} đoạn video "
                "gốc, đúng từng byte như khi được niêm phong."
            )
        return (
            f"This package holds the **whole** session: all {len(facts.segments)} original "
            "segments, byte for byte as they were sealed."
        )
    if language == "vi":
        return (
            f"Gói này chứa một **đoạn trích** ({span} của phiên ghi; tiêu đề: {title}"
            f"; số vật chứng: {number}). Chỉ có {len(facts.segments)} "
            "đoạn video gốc mà đoạn trích bao phủ (nguyên vẹn, không mã hoá lại). Mọi mắt "
            "xích của chuỗi băm đều có mặt, nên có thể chứng minh các đoạn đó thuộc đúng bản "
            f"ghi đã niêm phong. Các đoạn khác được liệt kê trong `{NOT_INCLUDED}`; việc "
            "chúng vắng mặt không phải là dấu hiệu bị sửa đổi."
        )
    return (
        f"This package holds a **clip** ({span} of the recording; title: {title}; "
        f"exhibit number: {number}). It carries only the "
        f"{len(facts.segments)} original segments the clip covers (whole, never re-encoded). "
        "Every link of the hash chain is here, so those segments are provably part of the "
        f"sealed recording. The other segments are listed in `{NOT_INCLUDED}`; their absence "
        "is not a sign of tampering."
    )


def _tracks(facts: PackageFacts) -> list[dict[str, str]]:
    """The passthrough session's tracks (cameras, then the sound); none for a composite."""
    media = facts.manifest.media
    if not isinstance(media, TrackedMedia):
        return []
    return [{"id": t.id, "kind": t.kind, "device": t.device} for t in media.tracks]


def player_data(facts: PackageFacts) -> str:
    """A script, not JSON: a page opened from file:// may load scripts but not fetch files."""
    document = {
        "kind": facts.kind,
        "session": facts.session_id,
        "case_number": facts.manifest.metadata.case_number,
        "room": facts.manifest.metadata.room,
        "started_at": facts.manifest.started_at,
        "title": facts.title,
        "exhibit_number": facts.exhibit_number,
        "start_us": facts.start_us,
        "end_us": facts.end_us,
        "timezone": facts.manifest.metadata.timezone,
        "runs": runs(facts.manifest),
        "tracks": _tracks(facts),
        "segments": [
            {
                "src": (
                    f"sessions/{facts.session_id}/"
                    + layout.segment_path(s["index"], s.get("track"))
                ),
                "name": s["name"],
                "track": s.get("track"),
                "start_us": s["start_us"],
                "duration_us": s["duration_us"],
            }
            for s in facts.segments
        ],
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    return f"window.SEALROOM_PACKAGE = {text};\n"


# What a custody event may say in an export, beyond who, when, in which role and what: the
# identities of what was acted on and the outcome. Never an address, a browser, free text
# (private notes, reasons typed by people) or anything else the log keeps for the office.
EXCERPT_DETAIL = (
    "clip_id",
    "request_id",
    "hearing_id",
    "exhibit_number",
    "segment",
    "index",
    "segments",
    "offset_ms",
    "start_ms",
    "end_ms",
    "duration_us",
    "outcome",
    "result",
    "intact",
    "location",
    "format",
    "kind",
    "head",
    "package",
    "package_sha256",
    "archive_sha256",
)
EXCERPT_FIELDS = ("seq", "at", "actor", "role", "action", "session", "detail")


def custody_excerpt(session_id: str, entries: Sequence[CustodyEntry], taken_at: str) -> str:
    """The session's custody events up to the export: who did what, when, in which role
    (format section 10). ``entries`` are those the exporting office lets leave (its console
    leaves out other units' rows and refused accesses); each keeps only ``EXCERPT_FIELDS``
    and, of its detail, ``EXCERPT_DETAIL``: no IP address, browser, private note or reason.

    It is the exporting installation's signed statement (the package's signature covers it).
    The rows' hashes are not included: each covers the fields withheld here, and a hash of a
    short value such as an IP address can be reversed by trying every value. The office
    checks its full log against its signed checkpoints, and finds a row by its ``seq``.
    The export itself is recorded after this excerpt is taken, because that event names the
    package's digest, which cannot be inside the package it describes.
    """
    document = {
        "v": 2,
        "type": "sealroom.custody-excerpt",
        "session": session_id,
        "taken_at": taken_at,
        "fields": list(EXCERPT_FIELDS),
        "scope": (
            "who did what to this session, when and in which role, up to the export; "
            "no IP addresses, browsers, private notes or reasons, and no rows of other units. "
            "seq is the row's number in the issuing office's custody log"
        ),
        "entries": [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "role": e.role,
                "action": e.action,
                "session": e.session_id,
                "detail": {k: e.detail[k] for k in EXCERPT_DETAIL if k in e.detail},
            }
            for e in entries
            if e.session_id == session_id
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def installation_document(zone_name: str, at: datetime) -> str:
    """installation.json: the installation's time zone (what its console and seal sheets
    print) and its UTC offset at ``at``, which verify.py uses where the reader's machine has
    no time zone data. Refused, before anything is written, if the zone is unknown here."""
    try:
        offset = at.astimezone(ZoneInfo(zone_name)).strftime("%z")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {zone_name!r}: set the console's timezone to an IANA name "
            "such as Asia/Ho_Chi_Minh"
        ) from exc
    document = {
        "v": 1,
        "type": "sealroom.installation",
        "timezone": zone_name,
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
    }
    return json.dumps(document, indent=1) + "\n"


def write_documents(stage: Path, facts: PackageFacts, not_included: list[str]) -> None:
    """READMEs, the player, the standalone verifier and the installation's time zone, at the
    package's root."""
    if facts.timezone:
        (stage / INSTALLATION).write_text(
            installation_document(facts.timezone, parse_utc(facts.exported_at)),
            encoding="utf-8",
        )
    for language in ("vi", "en"):
        (stage / f"README.{language}.md").write_text(
            render_readme(facts, language), encoding="utf-8"
        )
    for name in STATIC_ASSETS:
        shutil.copyfile(ASSETS / name, stage / name)
    shutil.copyfile(ASSETS / "procedure.session.en.sh", stage / PROCEDURE)
    (stage / PLAYER_DATA).write_text(player_data(facts), encoding="utf-8")
    if facts.kind == "clip":
        (stage / NOT_INCLUDED).write_text(
            "".join(f"{name}\n" for name in not_included), encoding="utf-8"
        )
