"""The shipped deployment files: the systemd units pass `systemd-analyze verify` (with the
installation's paths pointed at this checkout, whose `sealroom` exists), one templated
recorder and uploader per room. (nginx checks the shipped deploy/nginx/sealroom.conf with
`nginx -t` each time the site tests start it.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import ROOT

UNITS = ROOT / "deploy" / "systemd"
INSTALLED_AT = "/opt/sealroom"
PER_ROOM = ("sealroom-recorder@.service", "sealroom-uploader@.service")
CENTRAL = ("sealroom-console.service", "sealroom-worker.service", "sealroom-witness.service")


def test_every_process_has_a_unit_and_each_room_an_instance_of_a_template() -> None:
    shipped = sorted(p.name for p in UNITS.glob("*.service"))
    assert shipped == sorted([*PER_ROOM, *CENTRAL])
    for template in PER_ROOM:
        text = (UNITS / template).read_text()
        assert "--room %i" in text or "rooms/%i" in text


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    names = []
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace(INSTALLED_AT, str(ROOT))
        name = unit.name.replace("@.", "@phong-1.")  # a template is checked as an instance
        (tmp_path / name).write_text(text)
        names.append(f"./{name}")
    checked = subprocess.run(
        ["systemd-analyze", "verify", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.strip() == ""


def test_a_unit_with_a_mistake_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    text = (UNITS / "sealroom-console.service").read_text().replace(INSTALLED_AT, str(ROOT))
    (tmp_path / "broken.service").write_text(text.replace("Restart=", "Restrat="))
    checked = subprocess.run(
        ["systemd-analyze", "verify", "./broken.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Restrat" in checked.stderr
