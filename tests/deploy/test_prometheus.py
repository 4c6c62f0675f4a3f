"""deploy/prometheus: the scrape config and the alert rules. promtool checks them and runs
their unit tests (every alert has a case that fires and one that does not); a real
Prometheus scrapes a real recorder service and a real console on loopback and sees an
alert fire."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import ROOT
from tests.support.recorder_service import Service, serve
from tests.support.s3 import data_dir, random_segments, write_session

PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "sealroom.yml"
TESTS = PROMETHEUS / "tests" / "sealroom_test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, check=False)


def test_the_config_and_the_rules_are_valid_and_every_alert_has_unit_tests() -> None:
    checked = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", str(TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    cases = TESTS.read_text()
    firing = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels", cases))
    quiet = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts: \[\]", cases))
    assert len(alerts) >= 15
    assert firing == alerts, alerts ^ firing  # each alert seen firing…
    assert quiet == alerts, alerts ^ quiet  # …and each seen staying quiet


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_until(condition: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except OSError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[tuple[Service, int]]:
    """A room whose spool holds a sealed session written two hours ago, never uploaded."""
    data = data_dir(tmp_path / "room")
    session_id = write_session(data, random_segments(2, 4096))
    two_hours_ago = time.time() - timedelta(hours=2).total_seconds()
    for path in (data.evidence / "sessions" / session_id).rglob("*"):
        os.utime(path, (two_hours_ago, two_hours_ago))
    port = free_port()
    service = serve(tmp_path, data.root, extra=("--metrics-port", str(port)))
    yield service, port
    stop(service.process)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[int]:
    port, metrics = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALROOM_")}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sealroom", "console", "--port", str(port)),
            *("--metrics-port", str(metrics), "--data-dir", str(tmp_path / "console")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    wait_until(
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5),
        timeout=60,
        what="the console's metrics",
    )
    yield metrics
    stop(process)


def prometheus_config(tmp_path: Path, recorder_port: int, console_port: int) -> Path:
    """The shipped config and rules, with short intervals and the test's own ports."""
    rules = RULES.read_text()
    rules = re.sub(r"for: \d+[smh]", "for: 0s", rules)
    (tmp_path / "rules").mkdir(parents=True)
    (tmp_path / "rules" / "sealroom.yml").write_text(rules)
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace("scrape_interval: 15s", "scrape_interval: 1s")
    config = config.replace("evaluation_interval: 15s", "evaluation_interval: 1s")
    config = config.replace("127.0.0.1:9750", f"127.0.0.1:{recorder_port}")
    config = config.replace("127.0.0.1:9752", f"127.0.0.1:{console_port}")
    path = tmp_path / "prometheus.yml"
    path.write_text(config)
    return path


@pytest.mark.slow
def test_a_real_prometheus_scrapes_a_recorder_and_a_console_and_an_alert_fires(
    tmp_path: Path, recorder: tuple[Service, int], console: int
) -> None:
    service, recorder_metrics = recorder
    config = prometheus_config(tmp_path / "prometheus", recorder_metrics, console)
    port = free_port()
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:

        def up(job: str) -> bool:
            query = urllib.parse.quote(f'up{{job="{job}"}}')
            result = get_json(f"{api}/query?query={query}")["data"]["result"]
            return bool(result) and result[0]["value"][1] == "1"

        wait_until(
            lambda: up("sealroom-recorder") and up("sealroom-console"),
            timeout=60,
            what="both targets up",
        )

        def backlog_alert() -> dict[str, Any] | None:
            for alert in get_json(f"{api}/alerts")["data"]["alerts"]:
                if (
                    alert["labels"]["alertname"] == "SealroomUploadBacklogOld"
                    and alert["state"] == "firing"
                ):
                    return dict(alert)
            return None

        alert = wait_until(backlog_alert, timeout=60, what="the backlog alert to fire")
        assert alert["labels"]["job"] == "sealroom-recorder"
        assert float(alert["value"]) > 3600
        query = urllib.parse.quote('sealroom_recorder_state{state="idle"}')
        (idle,) = get_json(f"{api}/query?query={query}")["data"]["result"]
        assert idle["metric"]["room"] == "P2-VKS-HaNoi" and idle["value"][1] == "1"
        assert service.client().status().state == "idle"
    finally:
        prometheus.send_signal(signal.SIGTERM)
        prometheus.wait(timeout=60)
