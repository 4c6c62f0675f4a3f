"""Where things are, for every test: the project's root and the folder for test artifacts."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots and logs a failing test leaves behind
TESTS = ROOT / "tests"
