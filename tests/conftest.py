"""Shared fixtures. Tests import helpers from ``tests.support``, never from another test module;
the support modules that define fixtures are loaded here as plugins, so a test names the
fixture it needs and pytest finds it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import SMALL, RecordedSession, run_sealroom

pytest_plugins = [
    "tests.support.s3",
    "tests.support.postgres",
    "tests.support.browser",
    "tests.support.site.ca",
    "tests.support.site.topology",
    "tests.support.ldap",
    "tests.support.accounts",
    "tests.support.witness",
    "tests.support.tsa",
]


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """Each test starts with the umask a fresh process has (022), whatever an earlier test's
    console or command set (an installation restricts its process's umask), and leaves it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture(scope="session")
def recorded_session(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    """A short synthetic session recorded through the real CLI, shared read-only by tests."""
    data_dir = tmp_path_factory.mktemp("recorded") / "data"
    result = run_sealroom(
        "record",
        "--synthetic",
        "--room",
        "Phòng hỏi cung 1",
        "--case",
        "VKS-123/2026",
        "--accused",
        "Nguyễn Văn Án",
        "--duration",
        "4",
        *SMALL,
        "--json",
        data_dir=data_dir,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    return RecordedSession(data_dir, printed["session_id"], Path(printed["path"]))
