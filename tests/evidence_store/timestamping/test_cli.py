"""Trusted time from the command line, as a user runs it: a recording configured with an
authority carries its tokens, ``openssl ts -verify`` and ``sealroom verify`` accept them, and
what commands queue (custody checkpoints) is sent by ``sealroom timestamps send``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence_store.custody import CustodyLog
from evidence_store.installation import DataDir
from evidence_store.settings import EvidenceSettings
from tests.support.cli import SMALL, run_sealroom
from tests.support.tsa import TsaServer, openssl_ts_verify


@dataclass(frozen=True)
class Installation:
    data: DataDir

    def custody_log(self) -> CustodyLog:
        store = self.data.store(create=True)
        return self.data.custody(store, self.data.signer())


def installation(data_dir: Path, tsa: TsaServer) -> Installation:
    """The installation as the commands see it, configured with the authority."""
    return Installation(
        DataDir.resolve(data_dir, EvidenceSettings(tsa_url=tsa.url, tsa_ca=tsa.ca_file))
    )


def config_file(tmp_path: Path, tsa: TsaServer) -> Path:
    path = tmp_path / "sealroom.toml"
    path.write_text(f'[evidence]\ntsa_url = "{tsa.url}"\ntsa_ca = "{tsa.ca_file}"\n')
    return path


@pytest.mark.slow
def test_a_recorded_session_carries_tokens_that_every_checker_accepts(
    tmp_path: Path, tsa: TsaServer
) -> None:
    config, data_dir = config_file(tmp_path, tsa), tmp_path / "data"
    recorded = run_sealroom(
        "--config", str(config), "record", "--synthetic", "--room", "Phòng 1",
        "--case", "VKS-9/2026", "--duration", "2", *SMALL, "--json", data_dir=data_dir,
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    session = json.loads(recorded.stdout)
    path = Path(session["path"])
    for stamped in ("chain/000000.json", "manifest.json"):
        token = path / stamped.replace(".json", ".tsr")
        checked = openssl_ts_verify(path / stamped, token, tsa.ca_file)
        assert checked.returncode == 0, (stamped, checked.stderr)

    verified = run_sealroom(
        "--config", str(config), "verify", session["session_id"], "--json", data_dir=data_dir
    )
    assert verified.returncode == 0, verified.stdout
    outcome = json.loads(verified.stdout)
    assert outcome["time_stamps"][0]["file"] == "chain/000000.json"
    assert outcome["time_stamps"][-1]["file"] == "manifest.json"
    assert outcome["unchecked_time_stamps"] == 0
    # Without the authority's root, the tokens are not called checked.
    bare = run_sealroom("verify", session["session_id"], data_dir=data_dir)
    assert bare.returncode == 0 and "NOT checked" in bare.stdout

    # `verify` recorded itself in the custody log; its checkpoint waits to be stamped.
    sent = run_sealroom("--config", str(config), "timestamps", "send", "--json", data_dir=data_dir)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] >= 1 and json.loads(sent.stdout)["waiting"] == 0
    custody = run_sealroom(
        "--config", str(config), "custody", "verify", "--json", data_dir=data_dir
    )
    assert custody.returncode == 0, custody.stdout
    assert json.loads(custody.stdout)["stamped_checkpoints"] >= 1
    stamps = installation(data_dir, tsa).custody_log().entries(action="time_stamped")
    assert {"chain/000000.json", "manifest.json"} <= {row.detail["file"] for row in stamps}


def test_sending_with_the_authority_down_keeps_the_requests_and_says_so(
    tmp_path: Path, tsa: TsaServer
) -> None:
    config, data_dir = config_file(tmp_path, tsa), tmp_path / "data"
    tsa.stop()
    # A custody row makes a checkpoint, and the checkpoint a request to stamp.
    installation(data_dir, tsa).custody_log().record(actor="test", role="operator", action="x")
    waiting = run_sealroom("--config", str(config), "timestamps", "send", data_dir=data_dir)
    assert waiting.returncode == 1
    assert "0 sent, 1 waiting" in waiting.stdout and "cannot be reached" in waiting.stdout
    tsa.start()
    sent = run_sealroom("--config", str(config), "timestamps", "send", "--json", data_dir=data_dir)
    assert sent.returncode == 0 and json.loads(sent.stdout) == {
        "sent": 1, "waiting": 0, "set_aside": 0, "error": None,
    }  # fmt: skip
    assert list((data_dir / "evidence" / "custody" / "checkpoints").glob("*.tsr"))
