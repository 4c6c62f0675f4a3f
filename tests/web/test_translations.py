"""The console speaks Vietnamese by default: every string of its templates and code has a
translation, and the compiled catalogue is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.support.paths import ROOT

WEB = ROOT / "web"
CATALOG = WEB / "translations" / "vi" / "LC_MESSAGES"


def test_every_message_is_translated_into_vietnamese(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(WEB / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            str(WEB),
        ],
        check=True,
        capture_output=True,
    )
    with template.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    with (CATALOG / "messages.po").open("rb") as handle:
        translated = {m.id: m.string for m in read_po(handle) if m.id}
    missing = sorted(str(i) for i in wanted if not translated.get(i))
    assert missing == []


def test_the_compiled_catalogue_matches_the_source() -> None:
    with (CATALOG / "messages.po").open("rb") as handle:
        source = {m.id: m.string for m in read_po(handle) if m.id}
    with (CATALOG / "messages.mo").open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source
