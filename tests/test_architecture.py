"""The import direction of docs/architecture.md, checked on the source, not from memory.

sealroom (the CLI shell) ──> web, recorder, evidence_store, hardware
web ──> evidence_store, recorder.control.client (and nothing else of recorder; never av/cv2)
recorder ──> evidence_store, hardware
evidence_store ──> (nothing of the project)
hardware ──> (nothing of the project)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["sealroom", "web", "recorder", "evidence_store", "hardware"]
ALLOWED = {
    "sealroom": {"sealroom", "web", "recorder", "evidence_store", "hardware"},
    "web": {"web", "evidence_store", "recorder.control.client"},
    "recorder": {"recorder", "evidence_store", "hardware"},
    "evidence_store": {"evidence_store"},
    "hardware": {"hardware"},
}
FORBIDDEN_THIRD_PARTY = {"web": {"av", "cv2"}}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def allowed(package: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in PACKAGES:
        return top not in FORBIDDEN_THIRD_PARTY.get(package, set())
    return any(module == rule or module.startswith(rule + ".") for rule in ALLOWED[package])


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_architecture(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in imported_modules(path)
        if not allowed(package, module)
    ]
    assert violations == []


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import cv2\nfrom recorder.session_recorder import SessionRecorder\n")
    modules = [m for _, m in imported_modules(bad)]
    assert not allowed("web", modules[0])
    assert not allowed("web", modules[1])
    assert allowed("web", "recorder.control.client")
    assert not allowed("evidence_store", "hardware.synthetic")


def test_the_console_never_loads_the_capture_pipeline() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, web.app, web.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'av', 'cv2', 'hardware'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
