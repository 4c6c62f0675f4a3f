"""A real PostgreSQL server for the tests, from Debian's postgresql package.

``SEALROOM_TEST_POSTGRES_URL`` points the same tests at an existing server instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*command: str) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if url := os.environ.get("SEALROOM_TEST_POSTGRES_URL"):
        yield url
        return
    with private_postgres() as url:
        yield url


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """A PostgreSQL server of its own, in a temporary directory, for as long as the block
    runs (the tests' fixture, and the benchmarks)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert binaries, "Debian's postgresql package is missing: run scripts/setup"
    bin_dir = Path(binaries[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="sealroom-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
    subprocess.run(
        _as_postgres(
            str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "sealroom", "-E", "UTF8"
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        _as_postgres(
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(root),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"postgresql+psycopg://sealroom@127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            engine = sqlalchemy.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.exec_driver_sql("CREATE DATABASE sealroom")
            engine.dispose()
            break
        except sqlalchemy.exc.OperationalError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.2)
    try:
        yield f"{base}/sealroom"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A new, empty database of its own on the test server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sqlalchemy.engine.make_url(postgres_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
