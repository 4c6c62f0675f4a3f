"""A real PostgreSQL server for the tests, from Debian's postgresql package.

``SEALROOM_TEST_POSTGRES_URL`` points the same tests at an existing server instead.
``PostgresServer`` is a private server a test may stop and restart (the site's fault tests).
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


class PostgresServer:
    """A PostgreSQL cluster of its own on a free 127.0.0.1 port, with a ``sealroom``
    database; it can be stopped and started again on the same data and port."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert binaries, "Debian's postgresql package is missing: run scripts/setup"
        self.bin_dir = Path(binaries[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="sealroom-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)
        subprocess.run(
            _as_postgres(
                str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust",
                "-U", "sealroom", "-E", "UTF8",
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip

    @property
    def base(self) -> str:
        return f"postgresql+psycopg://sealroom@127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/sealroom"

    def start(self, *, create: bool = True) -> None:
        self.process = subprocess.Popen(
            _as_postgres(
                str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-h", "127.0.0.1", "-k", str(self.root),
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                engine = sqlalchemy.create_engine(
                    f"{self.base}/postgres", isolation_level="AUTOCOMMIT"
                )
                with engine.connect() as connection:
                    if create:
                        connection.exec_driver_sql("CREATE DATABASE sealroom")
                engine.dispose()
                return
            except sqlalchemy.exc.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """A fast shutdown: every client connection is cut, as in a restart."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run(
                _as_postgres(
                    str(self.bin_dir / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.data)
                ),
                check=False,
                capture_output=True,
                timeout=60,
            )
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start(create=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def new_database(url: str, name: str) -> str:
    """A fresh database ``name`` on the server of ``url``; returns its URL."""
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return str(sqlalchemy.engine.make_url(url).set(database=name).render_as_string(False))


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
    server = PostgresServer()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


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
