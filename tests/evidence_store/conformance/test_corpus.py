"""One rule, three verifiers: `sealroom verify`, an export's verify.py and the hand procedure
give the same verdict on every case of the conformance corpus.

The corpus is built by its script (build.py, run as a reader would run it) from sessions
sealroom records, and broken in every way we know. Each case records the verdict the format
gives; all three verifiers must give it and name the same first failing file. A
disagreement is a bug in one of them, or in the spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

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


def witness_pin(directory: Path) -> str | None:
    """The witness key's published fingerprint, pinned where the case is witnessed."""
    pin = directory / "witness.fp"
    return pin.read_text(encoding="utf-8") if pin.is_file() else None


def by_verify_py(corpus: Corpus) -> dict[str, Verdict]:
    """Each package's own verify.py, on the system's Python, with the case's root and the
    witness key's fingerprint."""
    runs = []
    for c in corpus.cases:
        directory = corpus.directory / c["directory"]
        pin = witness_pin(directory)
        pinned = ["--expect-witness", pin] if pin else []
        runs.append((directory / "package", ["--root", str(directory / "root.pem"), *pinned]))
    verdicts = {}
    for case, (status, out) in zip(corpus.cases, run_verify_many(runs), strict=True):
        assert status in (0, 1), out
        found = re.search(r"^  file:   (.+)$", out, re.MULTILINE)
        file = found.group(1).removeprefix(f"sessions/{case['session']}/") if found else None
        verdicts[case["name"]] = Verdict(status == 0, file)
    return verdicts


def by_hand(directory: Path, session_id: str) -> Verdict:
    """The hand procedure, under dash, in the package's session directory."""
    done = run_procedure(
        directory / "package" / "sessions" / session_id,
        directory / "root.pem",
        witness_fp=witness_pin(directory),
    )
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
    # The hand procedures (dash subprocesses, reading only the session) run beside the
    # others; verify.py goes before `sealroom verify`, whose custody record it would count.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hands = {
            case["name"]: pool.submit(
                by_hand, corpus.directory / case["directory"], case["session"]
            )
            for case in corpus.cases
        }
        standalones = by_verify_py(corpus)
        programs = {
            case["name"]: by_sealroom(corpus.directory / case["directory"], case["session"])
            for case in corpus.cases
        }
    for case in corpus.cases:
        expected = Verdict(case["verdict"] == "intact", case["file"])
        program = programs[case["name"]]
        standalone = standalones[case["name"]]
        hand = hands[case["name"]].result()
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


def test_keys_the_package_carries_are_not_trusted_unless_pinned(corpus: Corpus) -> None:
    # Defence finding 3: receipts signed by a key of the insider's making, the key carried in
    # the package. Without a pin both readers' verdicts stand on the device's signatures only,
    # and say loudly that the receipts prove nothing; the corpus (pinned) finds them NOT INTACT.
    case = corpus.case("receipts signed by a substitute witness key the package carries")
    directory = corpus.directory / case["directory"]
    package = directory / "package"
    exporter_der = serialization.load_pem_public_key(
        (package / "exporter" / "public_key.pem").read_bytes()
    ).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    exporter_fp = hashlib.sha256(exporter_der).hexdigest()
    root = ["--root", str(directory / "root.pem")]
    unpinned, exporter_pinned, exporter_wrong = run_verify_many(
        [
            (package, root),
            (package, [*root, "--expect-exporter", exporter_fp.upper()]),
            (package, [*root, "--expect-exporter", "00" * 32]),
        ]
    )
    status, out = unpinned
    assert status == 0, out
    assert "carried by the package, NOT pinned" in out
    assert "WARNING: these receipts are signed by a key the package itself carries" in out
    closing = out.split("RESULT: INTACT", 1)[1]
    assert "The witness's receipts are not part of this result" in closing
    assert (
        exporter_pinned[0] == 0
        and "matches the fingerprint you gave (--expect-exporter)" in (exporter_pinned[1])
    )
    assert exporter_wrong[0] == 1, exporter_wrong[1]
    assert "  file:   exporter/public_key.pem" in exporter_wrong[1]
    session = package / "sessions" / case["session"]
    hand = run_procedure(session, directory / "root.pem")
    assert hand.intact, hand.out
    assert "WARNING: these receipts are signed by a key the package itself carries" in hand.out
    closing = hand.out.split("RESULT: INTACT", 1)[1]
    assert "here, the witness's receipts" not in closing
    assert "never one taken from the package" in closing
    # The genuine key, pinned: the genuine receipts are cited.
    genuine = corpus.case("a witnessed session")
    genuine_dir = corpus.directory / genuine["directory"]
    pinned = run_procedure(
        genuine_dir / "package" / "sessions" / genuine["session"],
        genuine_dir / "root.pem",
        witness_fp=witness_pin(genuine_dir),
    )
    assert pinned.intact and "matches WITNESS_FP" in pinned.out, pinned.out
    assert "here, the witness's receipts, under the key you gave" in pinned.out
