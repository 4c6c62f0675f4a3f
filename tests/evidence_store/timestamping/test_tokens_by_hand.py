"""The hand procedure (docs/evidence-format.md section 9, step 6) checks time-stamp tokens as
section 13 says, under dash, with the real local authority: a genuine session's tokens are
checked and counted; a swapped token, another session's token, garbage bytes, a wrong root and
a token stamped out of order are each NOT INTACT at that ``.tsr``, where ``sealroom verify``
(and, in a package, verify.py) fails at the same file. Without the authority's root the tokens
are said to be NOT checked, never that they passed.

One data directory with two stamped sessions is recorded per module; each test tampers a copy.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificates

from evidence_store import TamperedError, layout
from evidence_store.custody import CustodyLog
from evidence_store.export import ExportSpec, build_package
from evidence_store.session import SessionWriter
from evidence_store.timestamping import TokenVerifier
from evidence_store.verify import verify_session
from tests.support.evidence import (
    MEDIA,
    METADATA,
    STOP_REASON,
    DataDir,
    new_data_dir,
    seal_next,
    segment_media,
)
from tests.support.hand_procedure import HandResult, run_procedure
from tests.support.tsa import TsaAuthority, TsaServer, send_stamps, stamper, tsa_client

TOKENS = ["chain/000000.tsr", "chain/000002.tsr", "manifest.tsr"]


class Ticks:
    """A monotonic clock the test moves: the stamper's interval passes without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Stamped:
    """A data directory holding ``genuine`` (tokens beside links 0, 2 and the manifest) and
    ``late`` (link 2 stamped before link 0: rule 3 fails), and the authority's root."""

    data: DataDir
    genuine: str
    late: str
    tsa_root: Path


def record(data: DataDir, media: list[Path], server: TsaServer, *, late: bool = False) -> str:
    """Start, two segments (the stamping interval passes after the first), stop: 4 links."""
    ticks = Ticks()
    stamps = stamper(data.root / "outbox", interval_seconds=300, monotonic=ticks)
    writer = SessionWriter.start(
        data.store(), data.signer(), METADATA, MEDIA, on_head=stamps.on_head
    )
    seal_next(writer, media[0])
    ticks.now = 301.0
    seal_next(writer, media[1])
    writer.stop(STOP_REASON)
    store = data.store()
    if late:  # link 2 stamped by hand first; the queue stamps link 0 a second later
        key = layout.session_prefix(writer.session_id) + layout.link_name(2)
        store.put_bytes(
            key.replace(".json", ".tsr"), tsa_client(server).stamp(store.read_bytes(key))
        )
        time.sleep(1.1)  # the authority's time is read to the second
    send_stamps(store, data.root / "outbox", server)
    return writer.session_id


@pytest.fixture(scope="module")
def stamped(
    tmp_path_factory: pytest.TempPathFactory, tsa_authority: TsaAuthority
) -> Iterator[Stamped]:
    server = TsaServer(tsa_authority)
    server.start()
    try:
        media = segment_media(tmp_path_factory)
        data = new_data_dir(tmp_path_factory.mktemp("stamped") / "data")
        genuine = record(data, media, server)
        late = record(data, media, server, late=True)
        yield Stamped(data, genuine, late, tsa_authority.ca_file)
    finally:
        server.stop()


@pytest.fixture
def copy(stamped: Stamped, tmp_path: Path) -> Stamped:
    """The data directory copied with writable files, as an attacker copies it."""
    target = tmp_path / "data"
    shutil.copytree(stamped.data.root, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return Stamped(DataDir(target), stamped.genuine, stamped.late, stamped.tsa_root)


def by_hand(stamped: Stamped, session: str, tsa: Path | None) -> HandResult:
    return run_procedure(
        stamped.data.session_dir(session), stamped.data.root_certificate(), tsa=tsa
    )


def by_sealroom(stamped: Stamped, session: str, tsa: Path) -> TamperedError | None:
    """``sealroom verify``'s check of the session with the authority's root ``tsa``."""
    try:
        verify_session(
            stamped.data.store(), session, stamped.data.trust(), tokens=TokenVerifier.from_file(tsa)
        )
    except TamperedError as failure:
        return failure
    return None


def fingerprint(root: Path) -> str:
    [certificate] = load_pem_x509_certificates(root.read_bytes())
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def stamped_times(out: str) -> tuple[str, str]:
    found = re.search(r"first (\S+) \(chain/000000\.tsr\), last (\S+) \(manifest\.tsr\)", out)
    assert found, out
    return found.group(1), found.group(2)


# -- a genuine session -------------------------------------------------------------------------


def test_a_genuine_sessions_tokens_are_checked_by_hand_under_dash(stamped: Stamped) -> None:
    hand = by_hand(stamped, stamped.genuine, stamped.tsa_root)
    assert hand.intact, hand.out
    assert "3 time-stamp token(s) checked (openssl ts -verify)" in hand.out
    assert f"against the authority's root {stamped.tsa_root} (given (TSA))" in hand.out
    printed = subprocess.run(
        ["openssl", "x509", "-in", str(stamped.tsa_root), "-noout", "-fingerprint", "-sha256"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert printed in hand.out
    # The first and last times are the authority's, as sealroom verify reads them.
    verified = verify_session(
        stamped.data.store(),
        stamped.genuine,
        stamped.data.trust(),
        tokens=TokenVerifier.from_file(stamped.tsa_root),
    )
    times = [s.tsa_time.strftime("%Y-%m-%dT%H:%M:%SZ") for s in verified.time_stamps]
    assert len(times) == 3
    assert stamped_times(hand.out) == (times[0], times[-1])


def test_without_the_authoritys_root_the_tokens_are_said_not_checked(stamped: Stamped) -> None:
    hand = by_hand(stamped, stamped.genuine, None)
    assert hand.intact, hand.out  # the session's own seal holds; the tokens are not judged
    assert "3 time-stamp token(s) NOT CHECKED: no authority's root" in hand.out
    assert "checked (openssl ts -verify)" not in hand.out


# -- tampered tokens: NOT INTACT at that .tsr, where sealroom verify fails too ----------------


def swap_two_links_tokens(copy: Stamped) -> None:
    chain = copy.data.session_dir(copy.genuine) / "chain"
    first, second = (chain / "000000.tsr").read_bytes(), (chain / "000002.tsr").read_bytes()
    (chain / "000000.tsr").write_bytes(second)
    (chain / "000002.tsr").write_bytes(first)


def another_sessions_token(copy: Stamped) -> None:
    other = copy.data.session_dir(copy.late) / "chain" / "000000.tsr"
    shutil.copyfile(other, copy.data.session_dir(copy.genuine) / "chain" / "000000.tsr")


def garbage_bytes(copy: Stamped) -> None:
    token = copy.data.session_dir(copy.genuine) / "chain" / "000002.tsr"
    token.write_bytes(b"\x30\x82garbage, not a TimeStampResp" * 3)


@pytest.mark.parametrize(
    ("tamper", "token", "reason"),
    [
        (swap_two_links_tokens, "chain/000000.tsr", "the token stamps other data"),
        (another_sessions_token, "chain/000000.tsr", "the token stamps other data"),
        (garbage_bytes, "chain/000002.tsr", "not a time-stamp token"),
    ],
    ids=["swapped-between-links", "another-session", "garbage"],
)
def test_a_tampered_token_is_not_intact_at_that_token(
    copy: Stamped, tamper: Callable[[Stamped], None], token: str, reason: str
) -> None:
    tamper(copy)
    hand = by_hand(copy, copy.genuine, copy.tsa_root)
    assert hand.returncode == 1 and not hand.intact, hand.out
    assert (hand.file, (hand.reason or "")[: len(reason)]) == (token, reason), hand.out
    program = by_sealroom(copy, copy.genuine, copy.tsa_root)
    assert program is not None and program.location == token
    # Without a root the tampered token is not judged, and never called checked.
    unjudged = by_hand(copy, copy.genuine, None)
    assert unjudged.intact and "NOT CHECKED" in unjudged.out


def test_a_wrong_authority_root_is_not_intact_at_the_first_token(
    stamped: Stamped, tmp_path: Path
) -> None:
    impostor = TsaAuthority.create(tmp_path / "impostor", name="Impostor TSA").ca_file
    hand = by_hand(stamped, stamped.genuine, impostor)
    assert hand.returncode == 1, hand.out
    assert hand.file == "chain/000000.tsr", hand.out
    assert "does not verify against the time-stamp authority's root" in (hand.reason or "")
    program = by_sealroom(stamped, stamped.genuine, impostor)
    assert program is not None and program.location == "chain/000000.tsr"


def test_a_token_stamped_before_an_earlier_links_is_not_intact(stamped: Stamped) -> None:
    hand = by_hand(stamped, stamped.late, stamped.tsa_root)
    assert hand.returncode == 1, hand.out
    assert hand.file == "chain/000002.tsr", hand.out
    assert "before chain/000000.tsr was stamped" in (hand.reason or "")
    program = by_sealroom(stamped, stamped.late, stamped.tsa_root)
    assert program is not None and program.location == "chain/000002.tsr"


# -- in an export package: TSA_FP pins the root it carries; verify.py agrees -----------------


def run_verify_py(package: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The package's verify.py on this environment's Python, which has rfc3161-client."""
    return subprocess.run(
        [sys.executable, "-I", "verify.py", "--lang", "en", *args],
        cwd=package, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_in_a_package_the_pinned_root_checks_the_tokens_as_verify_py_does(
    copy: Stamped, tmp_path: Path
) -> None:
    data = copy.data
    custody = CustodyLog.open(f"sqlite:///{data.root / 'custody.db'}", data.store(), data.signer())
    package = build_package(
        data.store(),
        ExportSpec(copy.genuine),
        data.trust(),
        tmp_path / "package",
        custody=custody.entries(session_id=copy.genuine),
        exported_by="test",
        signer=data.signer(),
        tsa=TokenVerifier.from_file(copy.tsa_root),
    ).path
    session = package / "sessions" / copy.genuine
    pin = fingerprint(copy.tsa_root)
    root = data.root_certificate()
    hand = run_procedure(session, root, tsa_fp=pin)
    assert hand.intact, hand.out
    assert "3 time-stamp token(s) checked" in hand.out and "matches TSA_FP" in hand.out
    program = run_verify_py(package, "--expect-tsa", pin)
    assert program.returncode == 0 and "3 token(s), each checked" in program.stdout
    wrong = run_procedure(session, root, tsa_fp="ab" * 32)
    assert wrong.returncode == 1 and wrong.file == "../../tsa-ca.pem", wrong.out
    # A token replaced in the package: both name it.
    token = session / "manifest.tsr"
    token.chmod(0o644)
    token.write_bytes((session / "chain" / "000000.tsr").read_bytes())
    hand = run_procedure(session, root, tsa_fp=pin)
    assert hand.returncode == 1 and hand.file == "manifest.tsr", hand.out
    program = run_verify_py(package, "--expect-tsa", pin)
    assert program.returncode == 1 and "manifest.tsr" in program.stdout, program.stdout
