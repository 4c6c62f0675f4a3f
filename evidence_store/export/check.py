"""Check a staged package with the verifier it ships, before it is moved into place.

The staged ``verify.py`` itself is run (compiled from its bytes in the package, in this
process, writing no bytecode into the package), so what the export accepts and what the
recipient's verifier accepts can never disagree.
"""

from __future__ import annotations

import types
from pathlib import Path

from evidence_store.errors import VerificationError

VERIFIER = "verify.py"


def load_verifier(path: Path) -> types.ModuleType:
    """The verifier at ``path`` as a module of its own, not registered in sys.modules."""
    module = types.ModuleType("sealroom_package_verifier")
    module.__file__ = str(path)
    code = compile(path.read_bytes(), str(path), "exec")
    exec(code, module.__dict__)  # noqa: S102 - the verifier this very package ships
    return module


def check_package(package: Path) -> str:
    """Raise VerificationError with the first failure the package's own verify.py finds;
    return who signed the recording, as verify.py reports it."""
    verifier = load_verifier(package / VERIFIER)
    try:
        result = verifier.verify(package, None, None, report=lambda _line: None)
    except verifier.Failure as failure:
        raise VerificationError(failure.reason, location=failure.where) from failure
    except verifier.UsageProblem as problem:
        raise VerificationError(str(problem)) from problem
    return str(result["signer"])
