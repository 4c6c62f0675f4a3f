"""Running an export package's own verifier and its documented procedures."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"


@functools.cache
def standalone_python() -> str:
    """A Python without the project: Debian's, with its `cryptography` (scripts/setup
    installs python3-cryptography). Missing, the run fails rather than test less."""
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c", "import cryptography"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail(f"{SYSTEM_PYTHON} has no cryptography: run scripts/setup")
    return SYSTEM_PYTHON


def run_verify(package: Path, *args: str, language: str = "en") -> subprocess.CompletedProcess[str]:
    """`python verify.py --lang <language>` in the package, isolated from this checkout and
    its environment. English unless asked: most tests read the report's English wording;
    ``language=""`` runs it as a reader would, with no flag (Vietnamese)."""
    chosen = ["--lang", language] if language else []
    return subprocess.run(
        [standalone_python(), "-I", "verify.py", *chosen, *args],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def readme_procedure(readme: Path) -> str:
    """The README's hand procedure of the recording: the script it prints."""
    text = readme.read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return next(b for b in blocks if b.startswith("#!/bin/sh"))


def readme_run_line(readme: Path) -> str:
    """How the README says to run the procedure (the block naming procedure.sh)."""
    text = readme.read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return next(b for b in blocks if "procedure.sh" in b and not b.startswith("#!"))


def package_procedure(readme: Path) -> str:
    """The README's first block: the exporter's signature, checked at the package's root."""
    text = readme.read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return next(b for b in blocks if "# P1. " in b)


# Each package's own verify.py, loaded from its bytes and run as its main() runs, in one
# process of the system's Python: the same program as `python3 verify.py --lang en`, without
# starting a Python for each of many packages.
_MANY = """
import contextlib, io, json, sys, types
results = []
for package, args in json.loads(sys.argv[1]):
    path = package + "/verify.py"
    module = types.ModuleType("verify")
    module.__file__ = path
    exec(compile(open(path, "rb").read(), path, "exec"), module.__dict__)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = module.main([package, "--lang", "en", *args])
    results.append([status, out.getvalue()])
print(json.dumps(results))
"""


def run_verify_many(runs: list[tuple[Path, list[str]]]) -> list[tuple[int, str]]:
    """verify.py of each package with its arguments: (exit status, what it printed) each."""
    done = subprocess.run(
        [standalone_python(), "-I", "-c", _MANY, json.dumps([(str(p), a) for p, a in runs])],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return [(int(status), str(out)) for status, out in json.loads(done.stdout)]
