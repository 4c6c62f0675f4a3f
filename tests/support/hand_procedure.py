"""The hand procedure of docs/evidence-format.md, run step by step as a person would."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.support.paths import ROOT

SPEC = ROOT / "docs" / "evidence-format.md"


def procedure_steps() -> dict[int, str]:
    """The shell block of section 9, split into its numbered steps ("# 1. …")."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("## 9.", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "section 9 has no sh block"
    steps: dict[int, str] = {}
    current = 0
    for line in match.group(1).splitlines():
        if heading := re.match(r"# (\d+)\. ", line):
            current = int(heading.group(1))
        steps[current] = steps.get(current, "") + line + "\n"
    assert sorted(steps) == [1, 2, 3, 4, 5], sorted(steps)
    return steps


@dataclass(frozen=True)
class Step:
    returncode: int
    out: str

    def count(self, text: str) -> int:
        return self.out.count(text)


@dataclass(frozen=True)
class HandCheck:
    """What a person running the procedure sees, step by step."""

    steps: dict[int, Step]

    @property
    def signer_ok(self) -> bool:
        out = self.steps[1].out
        return "signer/certificate.pem: OK" in out and "key matches certificate" in out

    @property
    def signatures_ok(self) -> bool:
        return self.steps[2].count("Signature Verified Successfully") == 2

    @property
    def checksums_ok(self) -> bool:
        return self.steps[3].returncode == 0 and "FAILED" not in self.steps[3].out

    @property
    def checksum_list_sealed(self) -> bool:
        out = self.steps[4].out
        listed = re.search(r"^([0-9a-f]{64})  SHA256SUMS$", out, re.MULTILINE)
        sealed = re.search(r'"checksums_sha256":"([0-9a-f]{64})"', out)
        return bool(listed and sealed and listed.group(1) == sealed.group(1))

    @property
    def links_signed(self) -> bool:
        return "BAD SIGNATURE" not in self.steps[5].out

    @property
    def chain_unbroken(self) -> bool:
        return "BROKEN CHAIN" not in self.steps[5].out

    @property
    def head_matches(self) -> bool:
        out = self.steps[5].out
        last = re.search(r"^last head: ([0-9a-f]{64})$", out, re.MULTILINE)
        sealed = re.search(r'"head":"([0-9a-f]{64})"', out)
        return bool(last and sealed and last.group(1) == sealed.group(1))

    @property
    def length_matches(self) -> bool:
        out = self.steps[5].out
        counted = re.search(r"^\s*(\d+)$", out, re.MULTILINE)
        sealed = re.search(r'"length":(\d+)', out)
        return bool(counted and sealed and counted.group(1) == sealed.group(1))

    def failures(self) -> set[str]:
        checks = [
            "signer_ok",
            "signatures_ok",
            "checksums_ok",
            "checksum_list_sealed",
            "links_signed",
            "chain_unbroken",
            "head_matches",
            "length_matches",
        ]
        return {name for name in checks if not getattr(self, name)}
