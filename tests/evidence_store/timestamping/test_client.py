"""The RFC 3161 client against a real local authority (``openssl ts -reply``): what it keeps
verifies with ``openssl ts -verify``, and what it cannot check it never keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_store import TamperedError, UsageError
from evidence_store.settings import EvidenceSettings
from evidence_store.timestamping import (
    TokenVerifier,
    TsaClient,
    TsaUnavailable,
    tsa_config,
)
from tests.support.tsa import TsaAuthority, TsaServer, openssl_ts_verify

DATA = b'{"kind":"event","seq":0}'


def client_for(server: TsaServer, ca_file: Path | None = None) -> TsaClient:
    return TsaClient(server.url, TokenVerifier.from_file(ca_file or server.ca_file), timeout=5)


def test_a_stamp_is_what_openssl_ts_verify_accepts_for_that_data_only(
    tsa: TsaServer, tmp_path: Path
) -> None:
    token = client_for(tsa).stamp(DATA)
    data_file, token_file = tmp_path / "000000.json", tmp_path / "000000.tsr"
    data_file.write_bytes(DATA)
    token_file.write_bytes(token)
    checked = openssl_ts_verify(data_file, token_file, tsa.ca_file)
    assert checked.returncode == 0, checked.stderr
    assert "Verification: OK" in checked.stdout
    data_file.write_bytes(DATA + b" ")
    assert openssl_ts_verify(data_file, token_file, tsa.ca_file).returncode != 0


def test_the_verifier_gives_the_authoritys_time_and_names_what_fails(tsa: TsaServer) -> None:
    client = client_for(tsa)
    token = client.stamp(DATA)
    assert client.verifier(DATA, token, location="chain/000000.tsr").tzinfo is not None
    with pytest.raises(TamperedError, match="stamps other data") as other:
        client.verifier(b"other", token, location="chain/000000.tsr")
    assert other.value.location == "chain/000000.tsr"
    broken = bytearray(token)
    broken[len(broken) // 2] ^= 0x01
    with pytest.raises(TamperedError):
        client.verifier(DATA, bytes(broken), location="chain/000000.tsr")


def test_a_token_from_another_authority_is_never_kept(
    tsa: TsaServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = TsaAuthority.create(tmp_path_factory.mktemp("other-tsa"), name="Other TSA")
    with pytest.raises(TsaUnavailable, match="fails"):
        client_for(tsa, stranger.ca_file).stamp(DATA)
    token = client_for(tsa).stamp(DATA)
    with pytest.raises(TamperedError, match="does not verify"):
        TokenVerifier.from_file(stranger.ca_file)(DATA, token, location="x.tsr")


def test_an_authority_that_is_down_is_unavailable_not_refused(tsa: TsaServer) -> None:
    client = client_for(tsa)
    tsa.stop()
    with pytest.raises(TsaUnavailable, match="cannot be reached"):
        client.stamp(DATA)
    tsa.start()
    assert client.stamp(DATA)


def test_configuration_comes_from_the_environment_first_and_a_url_needs_its_root(
    tsa: TsaServer, tmp_path: Path
) -> None:
    settings = EvidenceSettings(tsa_url="http://127.0.0.1:1/unused", tsa_ca=tmp_path / "none.pem")
    config = tsa_config(
        settings, {"SEALROOM_TSA_URL": tsa.url, "SEALROOM_TSA_CA": str(tsa.ca_file)}
    )
    assert config is not None and config.url == tsa.url and config.ca_file == tsa.ca_file
    assert tsa_config(EvidenceSettings(), {}) is None
    with pytest.raises(UsageError, match="SEALROOM_TSA_CA"):
        tsa_config(EvidenceSettings(), {"SEALROOM_TSA_URL": tsa.url})
    with pytest.raises(UsageError, match="http or https"):
        tsa_config(EvidenceSettings(tsa_url="ftp://x", tsa_ca=tsa.ca_file), {})
    verifying_only = tsa_config(EvidenceSettings(tsa_ca=tsa.ca_file), {})
    assert verifying_only is not None and not verifying_only.stamping
