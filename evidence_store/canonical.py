"""Canonical JSON: the one byte form of every hashed or signed document.

Rules (format version 1): UTF-8, object keys sorted by code point, no insignificant whitespace,
non-ASCII characters written as themselves, no floating-point numbers. The same document
therefore always has the same bytes, in any implementation that follows these rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evidence_store.errors import Reason, TamperedError


def _reject_floats(value: Any, path: str = "$") -> None:
    if isinstance(value, float):
        raise ValueError(f"floating-point value at {path} is not allowed in canonical JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_floats(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _reject_floats(item, f"{path}[{i}]")


def canonical_json(document: Any) -> bytes:
    """Serialise ``document`` to its canonical bytes."""
    _reject_floats(document)
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def parse_canonical(data: bytes, *, location: str) -> dict[str, Any]:
    """Parse bytes that must already be canonical JSON; anything else is tampering."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TamperedError(
            Reason("valid_json_exc", "not valid JSON ({exc})", exc=exc), location=location
        ) from exc
    if not isinstance(document, dict):
        raise TamperedError(Reason("json_object", "not a JSON object"), location=location)
    try:
        again = canonical_json(document)
    except ValueError as exc:
        raise TamperedError(str(exc), location=location) from exc
    if again != data:
        raise TamperedError(
            Reason("canonical_form_bytes_edited", "not in canonical form (bytes were edited)"),
            location=location,
        )
    return document


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()  # a field the document does not have, as opposed to a null one


@dataclass(frozen=True)
class Difference:
    """Where two JSON documents first differ, and the value each holds there."""

    path: str  # e.g. "metadata.room", "pauses[0].reason", or "" for the whole document
    stored: Any  # ABSENT when the stored document lacks the field
    expected: Any  # ABSENT when the field should not be there

    @property
    def field(self) -> str:
        return self.path or "(whole document)"


def first_difference(stored: Any, expected: Any, path: str = "") -> Difference | None:
    """The first place, in key order, where ``stored`` is not ``expected``; None if equal.

    A field that is absent differs from one that is null: canonical JSON never writes null.
    """
    if isinstance(stored, dict) and isinstance(expected, dict):
        for key in sorted(set(stored) | set(expected)):
            here = f"{path}.{key}" if path else str(key)
            found = first_difference(stored.get(key, ABSENT), expected.get(key, ABSENT), here)
            if found is not None:
                return found
        return None
    if isinstance(stored, list) and isinstance(expected, list) and len(stored) == len(expected):
        for i, (a, b) in enumerate(zip(stored, expected, strict=True)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if type(stored) is type(expected) and stored == expected:
        return None
    return Difference(path, stored, expected)
