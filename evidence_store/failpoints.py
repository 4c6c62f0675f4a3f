"""Named points where a test may have the process kill itself, to show that a kill exactly
there loses nothing (``SIGKILL`` leaves no chance to clean up, as a power cut does).

``SEALROOM_FAILPOINT=NAME`` kills the process the first time it reaches ``NAME``;
``NAME@N`` the N-th time. Unset, as in every real installation, ``failpoint`` only reads the
environment. The names in use are listed in ``docs/operations.md`` ("Surviving a kill").
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "SEALROOM_FAILPOINT"
_hits: dict[str, int] = {}
_lock = threading.Lock()


def failpoint(name: str) -> None:
    """Kill this process here if the environment names this point (and this is the hit)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if hit == (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
