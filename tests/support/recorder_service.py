"""``sealroom recorder serve`` in its own process on 127.0.0.1, driven through
``recorder.control.client`` exactly as the console drives it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder.control.client import RecorderClient
from recorder.control.models import RecorderStatusView

# Deadlines only stop a hung test: on a loaded machine a request or a seal may take long.
PATIENCE = 120.0
TOKEN = "test-token-7d1c0b9e4f2a"  # the tests' own service token
ROOM = "P2-VKS-HaNoi"
CONFIG = """
[recorder]
width = 320
height = 240
fps = 15
segment_seconds = 1
estimated_video_bitrate = 400000
max_session_seconds = 600
disk_reserve_bytes = 1048576
"""
METADATA: dict[str, Any] = {
    "case_number": "VKS-42/2026",
    "room": "Phòng hỏi cung 2",
    "unit": "VKSND-HN",
    "accused": ["Nguyễn Văn Án"],
    "investigators": ["Trần Thị Bình"],
    "others_present": [{"name": "Lê Văn Cường", "role": "luật sư"}],
}


@dataclass
class Service:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    token: str | None = TOKEN  # the token it was started with

    def client(self, token: str | None = None) -> RecorderClient:
        return RecorderClient(self.url, token or self.token or TOKEN, timeout=PATIENCE)


def service_command(
    tmp_path: Path, data_dir: Path, *, config: str = CONFIG, extra: tuple[str, ...] = ()
) -> list[str]:
    path = tmp_path / "sealroom.toml"
    path.write_text(config, encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "sealroom",
        "--config",
        str(path),
        "recorder",
        "serve",
        "--room",
        ROOM,
        "--synthetic",
        "--unit",
        METADATA["unit"],  # the room's registered unit: the only one a request may name
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def service_env(token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    if token is not None:
        env["SEALROOM_RECORDER_TOKEN"] = token
    return {**env, **extra}


def serve(
    tmp_path: Path,
    data_dir: Path,
    *,
    token: str | None = TOKEN,
    config: str = CONFIG,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Service:
    """Start the service and wait until it listens (AssertionError with its stderr if it
    does not). Its log goes to a file: a pipe nobody reads fills up, and a service blocked
    writing its log never stops."""
    log = tmp_path / f"recorder-service-{time.monotonic_ns()}.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            service_command(tmp_path, data_dir, config=config, extra=extra),
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            env=service_env(token, **(env or {})),
        )
    assert process.stdout is not None
    line = process.stdout.readline()  # the service prints its address once it listens
    found = re.search(r"listening on (http://\S+)", line)
    if found is None:
        process.kill()
        process.wait()
        raise AssertionError(f"the service did not start: {line}{log.read_text()}")
    return Service(process, found.group(1), data_dir, token)


def wait_for(service: Service, condition: str, timeout: float = PATIENCE) -> RecorderStatusView:
    """Poll the status until ``condition`` (a field that must become truthy) holds."""
    client = service.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.status()
        if getattr(status, condition):
            return status
        time.sleep(0.1)
    raise AssertionError(f"status never had {condition}: {client.status()}")


def raw_request(
    url: str, *, token: str | None, body: bytes | None = None, method: str = "GET"
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
