"""One rule, three verifiers: `sealroom verify`, an export's verify.py and the hand procedure
give the same verdict on every case of the conformance corpus.

The corpus is built by its script (build.py, run as a reader would run it) from sessions
sealroom records, and broken in every way we know. Each case records the verdict the format
gives; all three verifiers must give it and name the same first failing file. A
disagreement is a bug in one of them, or in the spec.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sealroom.cli import main as sealroom
from tests.support.exports import run_verify_many
from tests.support.hand_procedure import run_procedure
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Corpus:
    directory: Path
    cases: list[dict[str, Any]]

    def case(self, name: str) -> dict[str, Any]:
        return next(case for case in self.cases if case["name"] == name)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    out = tmp_path_factory.mktemp("conformance") / "corpus"
    built = subprocess.run(
        [sys.executable, "-m", "tests.evidence_store.conformance.build", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return Corpus(out, json.loads((out / "cases.json").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Verdict:
    intact: bool
    file: str | None

    def __str__(self) -> str:
        return "intact" if self.intact else f"not intact at {self.file}"


def by_sealroom(directory: Path, session_id: str) -> Verdict:
    """`sealroom verify SESSION --json` on the case's data directory, with the case's root."""
    out = io.StringIO()
    args = ["verify", session_id, "--json", "--data-dir", str(directory / "data")]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = sealroom([*args, "--trust", str(directory / "root.pem")])
    assert status in (0, 1), f"sealroom verify: exit {status}"
    outcome = json.loads(out.getvalue())
    return Verdict(status == 0 and outcome["intact"], outcome.get("location"))


def by_verify_py(corpus: Corpus) -> dict[str, Verdict]:
    """Each package's own verify.py, on the system's Python, with the case's root."""
    runs = [
        (
            corpus.directory / c["directory"] / "package",
            ["--root", str(corpus.directory / c["directory"] / "root.pem")],
        )
        for c in corpus.cases
    ]
    verdicts = {}
    for case, (status, out) in zip(corpus.cases, run_verify_many(runs), strict=True):
        assert status in (0, 1), out
        found = re.search(r"^  file:   (.+)$", out, re.MULTILINE)
        file = found.group(1).removeprefix(f"sessions/{case['session']}/") if found else None
        verdicts[case["name"]] = Verdict(status == 0, file)
    return verdicts


def by_hand(directory: Path, session_id: str) -> Verdict:
    """The hand procedure, under dash, in the package's session directory."""
    done = run_procedure(directory / "package" / "sessions" / session_id, directory / "root.pem")
    assert done.returncode in (0, 1), done.out
    return Verdict(done.intact, done.file)


def test_the_corpus_holds_what_issue_11_asks_for(corpus: Corpus) -> None:
    names = {case["name"] for case in corpus.cases}
    assert len(corpus.cases) >= 40
    for wanted in [
        "shortened and sealed again with the device key",
        "link times out of order",
        "manifest resealed with whitespace between tokens",
        "manifest resealed without a field that has a default",
        "a certificate two directories deeper",
        "a full forgery with its own root",
        "first link and manifest deleted",
        # Receipts of the off-box witness, checked by all three (format section 14).
        "a witnessed session",
        "shortened and sealed again, the removed links' receipts left",
        "a receipt's inclusion proof altered",
        "a receipt's tree head signed by another witness key",
        "a time-stamp token beside no link",
    ]:
        assert wanted in names
    assert sum(case["verdict"] == "not intact" for case in corpus.cases) >= 40


def test_all_three_verifiers_agree_on_every_case(corpus: Corpus) -> None:
    disagreements = []
    standalones = by_verify_py(corpus)
    for case in corpus.cases:
        directory, session_id = corpus.directory / case["directory"], case["session"]
        expected = Verdict(case["verdict"] == "intact", case["file"])
        program = by_sealroom(directory, session_id)
        standalone = standalones[case["name"]]
        hand = by_hand(directory, session_id)
        # The verdict and the first failing file, from all three.
        if program != expected or standalone != expected or hand != expected:
            disagreements.append(
                f"{case['name']}: expected {expected}; sealroom verify: {program}; "
                f"verify.py: {standalone}; by hand: {hand}"
            )
    assert disagreements == [], "\n".join(disagreements)


def test_the_shortened_copy_is_intact_to_all_three_as_the_spec_says(corpus: Corpus) -> None:
    # Only the witness off the box can tell (format section 14); the hand procedure says so.
    case = corpus.case("shortened and sealed again with the device key")
    directory = corpus.directory / case["directory"]
    hand = run_procedure(
        directory / "package" / "sessions" / case["session"], directory / "root.pem"
    )
    assert hand.intact and "only a record off the box" in hand.out
    manifest = json.loads(
        (directory / "package" / "sessions" / case["session"] / "manifest.json").read_bytes()
    )
    assert manifest["interrupted"] and len(manifest["segments"]) == 3
