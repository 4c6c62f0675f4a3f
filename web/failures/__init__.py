"""Why a verification failed, in the console's language (see ``web.failures.reasons``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web.failures.reasons import REASONS, WORDS


def failure_text(detail: Mapping[str, Any]) -> str:
    """The reason of a recorded failure (a custody detail or an outcome: ``reason`` and,
    when the core gave them, ``reason_code`` and ``reason_params``) in the console's
    language; the recorded English when it has no code this console knows."""
    english = str(detail.get("reason") or "")
    template = REASONS.get(str(detail.get("reason_code") or ""))
    params = detail.get("reason_params")
    if template is None or not isinstance(params, dict):
        return english
    values = {
        k: str(WORDS[v]) if isinstance(v, str) and v in WORDS else v for k, v in params.items()
    }
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):  # values from another version of the core
        return english


__all__ = ["failure_text"]
