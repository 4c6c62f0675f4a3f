"""nginx in front of the console replicas, running the shipped deploy/nginx/sealroom.conf with
the site files a test writes (the replicas' addresses, the port, the certificate)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from evidence_store.installation import Issued
from tests.support.paths import ROOT

SHIPPED = ROOT / "deploy" / "nginx" / "sealroom.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        pytest.fail("nginx is not installed: run scripts/setup")
    return found


class Nginx:
    """nginx with the shipped configuration, on 127.0.0.1:``port``, in ``directory``."""

    def __init__(self, directory: Path, port: int, certificate: Issued) -> None:
        self.directory = directory
        self.port = port
        self.certificate = certificate
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self, upstreams: list[str]) -> None:
        """Write the main configuration and the site files (``upstreams``: host:port)."""
        d = self.directory
        for sub in ("sealroom", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        lines = "".join(f"server {u} max_fails=1 fail_timeout=10s;\n" for u in upstreams)
        (d / "sealroom" / "upstreams.conf").write_text(lines)
        (d / "sealroom" / "site.conf").write_text(
            f"listen 127.0.0.1:{self.port} ssl;\nserver_name localhost;\n"
            f"ssl_certificate {self.certificate.certificate};\n"
            f"ssl_certificate_key {self.certificate.key};\n"
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(
            f"{kind}_temp_path {d / 'tmp' / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (d / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {d / 'nginx.pid'};\n"
            f"error_log {d / 'error.log'} warn;\nevents {{ worker_connections 512; }}\n"
            f"http {{\naccess_log {d / 'access.log'};\n{temp}include {SHIPPED};\n}}\n"
        )

    def start(self, upstreams: list[str]) -> None:
        self.configure(upstreams)
        binary = nginx_binary()
        config = str(self.directory / "nginx.conf")
        checked = subprocess.run(
            [binary, "-t", "-c", config, "-p", str(self.directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            [binary, "-c", config, "-p", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "stderr.log").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"nginx did not start: {(self.directory / 'error.log').read_text()}"
                    ) from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the master and its workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
