"""``python -m evidence_store.verify SESSION_DIR [--trust ROOT.pem ...] [--json]``

Verifies one session directory with the format core alone: it needs only ``cryptography``
and ``pydantic``, writes nothing, and exits 0 when the session is intact, 1 when it is
tampered with, incomplete or signed by a key the trust roots do not anchor, 2 on a usage
error. Without ``--trust``, the trust roots of the data directory holding the session
(``<data_dir>/trust``) are used when there is one; the roots used are always printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from evidence_store import layout
from evidence_store.errors import UsageError, VerificationError
from evidence_store.receipts import key_id
from evidence_store.signing import TrustStore
from evidence_store.store import SessionFolder
from evidence_store.verify.session import verify_session


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evidence_store.verify",
        description="Verify one sealroom session directory. Exit 0 intact, 1 tampered or "
        "incomplete or untrusted, 2 usage error.",
    )
    parser.add_argument("session_dir", type=Path, help="the session's directory (s-...)")
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        help="a trusted root certificate or public key (PEM), or a folder of them; repeatable "
        "(default: the trust/ folder of the data directory that holds the session)",
    )
    parser.add_argument(
        "--witness-key",
        type=Path,
        action="append",
        default=[],
        help="the off-box witness's public key (PEM), for the session's receipts; repeatable "
        "(default: the data directory's trust/witness/ folder)",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    args = parser.parse_args(argv)
    try:
        folder = SessionFolder(args.session_dir)
        roots = args.trust or default_trust(args.session_dir)
        witnesses = args.witness_key or [
            p / "witness" for p in roots if p.is_dir() and (p / "witness").is_dir()
        ]
        trust = TrustStore.from_paths(roots).with_witness_keys(witnesses)
    except (UsageError, OSError, ValueError) as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    outcome = verify_folder(folder, trust)
    outcome["trust"] = describe_trust(trust)
    report(outcome, as_json=args.json)
    return 0 if outcome["intact"] else 1


def default_trust(session_dir: Path) -> list[Path]:
    """``<data_dir>/trust`` for a session at ``<data_dir>/evidence/sessions/<id>``."""
    resolved = session_dir.resolve()
    candidate = resolved.parent.parent.parent / "trust"
    if resolved.parent.name == layout.SESSIONS and candidate.is_dir():
        return [candidate]
    raise UsageError("no trust root given: name the organisation's root with --trust ROOT.pem")


def verify_folder(folder: SessionFolder, trust: TrustStore) -> dict[str, Any]:
    try:
        return verify_session(folder, folder.session_id, trust).as_dict()
    except VerificationError as failure:
        return {
            "session_id": folder.session_id,
            "intact": False,
            "result": failure.kind,
            "location": failure.location,
            "reason": failure.reason,
        }


def describe_trust(trust: TrustStore) -> list[str]:
    """Which roots were used, by name and SHA-256 fingerprint, so a reader can compare them
    with the fingerprint the organisation publishes."""
    described = [
        f"{root.subject.rfc4514_string()} sha256:{root.fingerprint(hashes.SHA256()).hex()}"
        for root in trust.roots
        if isinstance(root, x509.Certificate)
    ]
    described += [f"pinned public key sha256:{digest}" for digest in sorted(trust.pinned_keys)]
    described += [f"witness key sha256:{key_id(key)}" for key in trust.witness_keys]
    return described


def report(outcome: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(outcome, ensure_ascii=False, indent=2))
        return
    session_id = outcome["session_id"]
    if outcome["intact"]:
        print(
            f"{session_id}: INTACT — {outcome['segments']} segments, "
            f"{outcome['duration_seconds']} s, chain of {outcome['chain_length']} links, "
            f"head {outcome['head']}, signed by {outcome['signer']}"
        )
    else:
        where = f"{outcome['location']}: " if outcome["location"] else ""
        print(
            f"{session_id}: {outcome['result'].upper()} — first failure: {where}{outcome['reason']}"
        )
    if outcome.get("unchecked_time_stamps"):  # checking them needs RFC 3161: not here
        print(
            f"  {outcome['unchecked_time_stamps']} time-stamp token(s) NOT checked: use "
            "`sealroom verify --tsa-ca TSA.pem`"
        )
    for root in outcome["trust"]:
        print(f"  trusted root: {root}")


if __name__ == "__main__":
    sys.exit(main())
