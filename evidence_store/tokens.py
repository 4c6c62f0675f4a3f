"""Time-stamp tokens: where they sit, and the rules a session's tokens obey.

An RFC 3161 time-stamp token (a DER ``TimeStampResp``) sits beside the file it stamps, with
``.tsr`` for ``.json``: ``chain/000000.tsr`` stamps ``chain/000000.json``, ``manifest.tsr``
stamps ``manifest.json``, ``custody/checkpoints/000000000012.tsr`` stamps that checkpoint.
Tokens arrive after what they stamp (they go through the outbox, however late the
authority answers), so no seal lists them: each proves itself, by the authority's signature
over the SHA-256 of the file beside it.

Checking a token needs an RFC 3161 implementation, which the format core does not carry;
the check is passed in as a ``TokenCheck`` (``evidence_store.timestamping.TokenVerifier``).
The rules here are the format's: a token stamps exactly the file beside it, chains to the
configured authority, and no token's time is before the time of the token of an earlier
file (the chain's links in order, then the manifest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from evidence_store.errors import Reason, TamperedError
from evidence_store.timefmt import format_utc, parse_utc

TSR_SUFFIX = ".tsr"
STAMPED_SUFFIX = ".json"


class TokenCheck(Protocol):
    """Checks one token against the file it stamps and returns the authority's time
    (genTime); raises TamperedError, at ``location``, when it does not verify."""

    def __call__(self, data: bytes, token: bytes, *, location: str) -> datetime: ...


def token_name(name: str) -> str:
    """Where the token of ``name`` (a ``.json`` file) sits: ``chain/000003.tsr``."""
    if not name.endswith(STAMPED_SUFFIX):
        raise ValueError(f"only .json documents are time-stamped, not {name}")
    return name.removesuffix(STAMPED_SUFFIX) + TSR_SUFFIX


def stamped_name(token: str) -> str:
    """The file a token stamps: ``chain/000003.json`` for ``chain/000003.tsr``."""
    return token.removesuffix(TSR_SUFFIX) + STAMPED_SUFFIX


def is_token(name: str) -> bool:
    return name.endswith(TSR_SUFFIX)


@dataclass(frozen=True)
class StampedTime:
    """One checked token: the file it stamps, the device's time in that file, and the
    authority's. ``late_seconds`` is how long after the device's time the authority saw it
    (a queue that waited for the authority, or a device clock behind; a negative value is a
    device clock ahead)."""

    name: str
    device_time: str
    tsa_time: datetime

    @property
    def late_seconds(self) -> float:
        return (self.tsa_time - parse_utc(self.device_time)).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "device_time": self.device_time,
            "tsa_time": format_utc(self.tsa_time),
            "late_seconds": round(self.late_seconds, 3),
        }


def check_tokens(
    stamped: Iterable[tuple[str, str]],
    present: Callable[[str], bool],
    tsa_time: Callable[[str], datetime],
) -> list[StampedTime]:
    """Check the tokens of ``stamped`` ((name, device time), in the order the files were
    written) that are ``present``; ``tsa_time(name)`` checks the token of ``name`` and
    returns the authority's time. Raise TamperedError at the first token that fails, or
    whose time is before the time of the token before it."""
    found: list[StampedTime] = []
    for name, device_time in stamped:
        token = token_name(name)
        if not present(token):
            continue
        when = tsa_time(name)
        if found and when < found[-1].tsa_time:
            raise TamperedError(
                Reason(
                    "stamped_when_before_name",
                    "stamped at {when}, before {name} was stamped ({tsa_time}): a token was moved "
                    "or replaced",
                    when=format_utc(when),
                    name=found[-1].name,
                    tsa_time=format_utc(found[-1].tsa_time),
                ),
                location=token,
            )
        found.append(StampedTime(name, device_time, when))
    return found
