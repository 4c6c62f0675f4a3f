"""The hand procedure of docs/evidence-format.md section 9, run as a person runs it: the
script, with dash (a POSIX shell and nothing more), in the session's directory."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT

SPEC = ROOT / "docs" / "evidence-format.md"
ASSETS = ROOT / "evidence_store" / "export" / "assets"
PROCEDURE = ASSETS / "procedure.session.en.sh"


def documented_procedure() -> str:
    """The shell block of section 9, as a reader copies it."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("## 9.", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    script = [block for block in blocks if block.startswith("#!/bin/sh")]
    assert len(script) == 1, "section 9 prints no script, or more than one"
    return str(script[0])


@dataclass(frozen=True)
class HandResult:
    """What a person running the procedure sees: its output and exit status."""

    returncode: int
    out: str

    @property
    def intact(self) -> bool:
        return self.returncode == 0 and "RESULT: INTACT" in self.out

    @property
    def file(self) -> str | None:
        """The file the first failure names."""
        found = re.search(r"^  file:   (.+)$", self.out, re.MULTILINE)
        return found.group(1) if found else None

    @property
    def reason(self) -> str | None:
        found = re.search(r"^  reason: (.+)$", self.out, re.MULTILINE)
        return found.group(1) if found else None


def run_procedure(
    session: Path,
    root: Path,
    *,
    clip: str | None = None,
    script: Path = PROCEDURE,
    shell: str = "dash",
    witness_fp: str | None = None,
    tsa: Path | None = None,
    tsa_fp: str | None = None,
) -> HandResult:
    """Run the procedure in ``session``'s directory with ``ROOT`` naming ``root`` (and
    ``WITNESS_FP`` pinning the witness's key, ``TSA`` naming the time-stamp authority's root
    and ``TSA_FP`` pinning it, when given)."""
    env = {"PATH": "/usr/bin:/bin", "ROOT": str(root.resolve())}
    if tsa is not None:
        env["TSA"] = str(tsa.resolve())
    if tsa_fp is not None:
        env["TSA_FP"] = tsa_fp
    if clip is not None:
        env["CLIP"] = clip
    if witness_fp is not None:
        env["WITNESS_FP"] = witness_fp
    done = subprocess.run(
        [shell, str(script)],
        cwd=session,
        env={**env, "HOME": os.environ.get("HOME", "/root")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return HandResult(done.returncode, done.stdout + done.stderr)
