"""Custody checkpoints are stamped too: each checkpoint's token sits beside it, and custody
verification checks every one (a token moved to another checkpoint is a custody failure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_store.custody import CustodyLog
from evidence_store.errors import CustodyError
from evidence_store.timestamping import TokenVerifier
from tests.support.evidence import new_data_dir
from tests.support.tsa import TsaServer, send_stamps, stamper


def test_every_checkpoint_is_stamped_and_custody_verification_checks_the_tokens(
    tmp_path: Path, tsa: TsaServer
) -> None:
    data = new_data_dir(tmp_path / "data")
    store, outbox = data.store(), tmp_path / "outbox"
    log = CustodyLog.open(
        f"sqlite:///{tmp_path / 'custody.db'}",
        store,
        data.signer(),
        on_checkpoint=stamper(outbox).on_checkpoint,
    )
    for action in ("show", "verify", "export"):
        log.record(actor="kiem-sat-vien", role="prosecutor", action=action)
    assert send_stamps(store, outbox, tsa) == 3
    tokens = TokenVerifier.from_file(tsa.ca_file)
    assert log.verify(tokens=tokens).stamped_checkpoints == 3
    assert log.verify().stamped_checkpoints == 0  # not checked without the authority's root

    first, second = sorted((data.evidence / "custody" / "checkpoints").glob("*.tsr"))[:2]
    first.chmod(0o644)
    first.write_bytes(second.read_bytes())
    with pytest.raises(CustodyError, match="stamps other data") as failure:
        log.verify(tokens=tokens)
    assert failure.value.location == "custody/checkpoints/000000000001.tsr"
