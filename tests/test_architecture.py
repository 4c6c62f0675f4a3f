"""The rules of docs/architecture.md, checked on the source, not from memory.

sealroom (the CLI shell) ──> web, recorder, evidence_store, hardware, witness
web ──> evidence_store, recorder.control (and nothing else of recorder; never av/cv2)
witness ──> evidence_store (nothing imports witness but the shell)
recorder ──> evidence_store, hardware
evidence_store ──> (nothing of the project)
hardware ──> (nothing of the project)

Across packages, imports go through a package's ``__init__`` (its declared API), never into
another package's modules. The format core (the modules at the top of ``evidence_store``)
needs only ``cryptography`` and ``pydantic``. A folder holds at most 20 modules, and no three
of them share a name prefix (a prefix is a folder trying to get out).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGES = ["sealroom", "web", "recorder", "evidence_store", "hardware", "witness"]
ALLOWED = {
    "sealroom": {"sealroom", "web", "recorder", "evidence_store", "hardware", "witness"},
    "witness": {"witness", "evidence_store"},
    "web": {"web", "evidence_store", "recorder.control"},
    "recorder": {"recorder", "evidence_store", "hardware"},
    "evidence_store": {"evidence_store"},
    "hardware": {"hardware"},
}
FORBIDDEN_THIRD_PARTY = {"web": {"av", "cv2"}, "witness": {"av", "cv2"}}
CORE = ROOT / "evidence_store"
HEAVY = {"minio", "sqlalchemy", "alembic", "flask", "click", "rich", "urllib3", "av", "cv2"}
# Files that are not modules of the package: assets shipped as data, and Alembic's scripts.
NOT_MODULES = {"assets", "migrations"}
MAX_MODULES = 20


def project_files(package: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / package).rglob("*.py"))
        if not NOT_MODULES & set(path.relative_to(ROOT).parts)
    ]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(module: str) -> bool:
    return (ROOT.joinpath(*module.split(".")) / "__init__.py").is_file()


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


def reaches_inside(importer: str, module: str) -> bool:
    """True when ``importer`` imports a module of a package it is not part of, bypassing that
    package's declared API. Importing a package itself, or a module of a package one is
    inside (siblings, or a parent package's modules), is fine."""
    if module.split(".")[0] not in PACKAGES or is_package(module):
        return False
    owner = module.rpartition(".")[0]
    return not (importer == owner or importer.startswith(owner + "."))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_architecture(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in project_files(package)
        for line, module in imported_modules(path)
        if not allowed(package, module)
    ]
    assert violations == []


@pytest.mark.parametrize("package", PACKAGES)
def test_other_packages_are_used_only_through_their_declared_api(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in project_files(package)
        for line, module in imported_modules(path)
        if reaches_inside(module_name(path), module)
    ]
    assert violations == []


def test_the_rules_catch_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import cv2\nfrom recorder.session_recorder import SessionRecorder\n")
    modules = [m for _, m in imported_modules(bad)]
    assert not allowed("web", modules[0])
    assert not allowed("web", modules[1])
    assert allowed("web", "recorder.control")
    assert not allowed("evidence_store", "hardware.synthetic")
    assert allowed("witness", "evidence_store")
    assert not allowed("recorder", "witness.service")
    assert not allowed("web", "witness")
    assert reaches_inside("web.review.views", "evidence_store.bucket.store")
    assert reaches_inside("evidence_store.upload.uploader", "evidence_store.bucket.store")
    assert not reaches_inside("web.review.views", "evidence_store.bucket")
    assert not reaches_inside("evidence_store.bucket.layered", "evidence_store.bucket.store")
    assert not reaches_inside("evidence_store.bucket.layered", "evidence_store.model")


def core_modules() -> list[Path]:
    """The modules at the top of evidence_store, and the verifier package among them."""
    return sorted([*CORE.glob("*.py"), *(CORE / "verify").glob("*.py")])


def test_the_format_core_imports_only_itself_and_light_libraries() -> None:
    core = {module_name(path) for path in core_modules()} | {"evidence_store"}
    violations = []
    for path in core_modules():
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in HEAVY or (top == "evidence_store" and module not in core):
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert violations == []


def test_the_format_core_loads_no_heavy_library() -> None:
    probe = (
        "import sys, evidence_store, evidence_store.verify; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def test_the_console_never_loads_the_capture_pipeline() -> None:
    probe = (
        "import sys, web.app, web.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'av', 'cv2', 'hardware'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def packages() -> list[str]:
    return sorted(
        module_name(init)
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
        if not NOT_MODULES & set(init.relative_to(ROOT).parts)
    )


@pytest.mark.parametrize("package", packages())
def test_every_package_declares_its_api(package: str) -> None:
    loaded = importlib.import_module(package)
    declared = getattr(loaded, "__all__", None)
    assert declared is not None, f"{package}/__init__.py has no __all__"
    for name in declared:
        assert hasattr(loaded, name), f"{package}.__all__ names {name}, which it lacks"


def folders() -> list[Path]:
    return sorted(
        {path.parent for package in PACKAGES for path in project_files(package)}
        | {path.parent for path in (ROOT / "tests").rglob("*.py")}
    )


@pytest.mark.parametrize("folder", folders(), ids=lambda f: str(f.relative_to(ROOT)))
def test_every_folder_is_small_and_has_no_hidden_subfolder(folder: Path) -> None:
    in_tests = folder.relative_to(ROOT).parts[0] == "tests"
    modules = [p.stem for p in folder.glob("*.py") if p.stem not in {"__init__", "conftest"}]
    if in_tests:  # every test module starts with test_: the name after it is what counts
        modules = [m.removeprefix("test_") for m in modules]
    assert len(modules) <= MAX_MODULES, f"{folder} holds {len(modules)} modules"
    prefixes = Counter(m.split("_")[0] for m in modules if "_" in m)
    crowded = sorted(prefix for prefix, count in prefixes.items() if count >= 3)
    assert crowded == [], f"{folder}: modules sharing a prefix want a folder: {crowded}"


def test_no_test_module_imports_another() -> None:
    """Shared fixtures and helpers live in tests/support; a test module stands alone."""
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for line, module in imported_modules(path)
        if module.startswith("tests.") and not module.startswith("tests.support")
    ]
    assert violations == []
