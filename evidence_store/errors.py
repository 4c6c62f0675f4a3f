"""Errors of sealroom. Every message is written for the person who will read it."""

from __future__ import annotations


class SealroomError(Exception):
    """Base of every error sealroom raises on purpose. ``exit_code`` is the CLI's exit status."""

    exit_code = 1


class UsageError(SealroomError):
    """Bad input from a user: wrong argument, unknown session, unusable directory."""

    exit_code = 2


class UnknownSessionError(UsageError):
    """No session with that id exists in the store."""


class StoreError(SealroomError):
    """The evidence store refused or failed an operation."""


class ObjectExistsError(StoreError):
    """A write-once object already exists; sealed objects are never overwritten."""


class SigningError(SealroomError):
    """The device key or certificate cannot be used for signing."""


class Reason(str):
    """A failure's reason: its English text (what the CLI and the custody log say), with a
    stable ``code`` and the ``params`` that fill it, so that the console can say it in its
    own language. Being a str, it passes wherever a reason did."""

    code: str
    params: dict[str, str | int | None]

    def __new__(cls, code: str, template: str, **params: object) -> Reason:
        values = {
            k: v if isinstance(v, str | int) or v is None else str(v) for k, v in params.items()
        }
        made = super().__new__(cls, template.format(**values))
        made.code = code
        made.params = values
        return made


def reason_fields(reason: object) -> dict[str, object]:
    """What a record keeps of a reason beside its English text: its code and values, when
    it has them (for the console to word it in its language)."""
    if not isinstance(reason, Reason):
        return {}
    return {"reason_code": reason.code, "reason_params": dict(reason.params)}


class VerificationError(SealroomError):
    """Evidence failed verification. ``location`` names the first failing object; ``code``
    and ``params`` say why in a form any language can word (None: a reason without a code)."""

    exit_code = 1
    kind = "failed"

    def __init__(self, reason: str, *, location: str | None = None) -> None:
        self.reason = reason
        self.location = location
        super().__init__(f"{location}: {reason}" if location else reason)

    @property
    def code(self) -> str | None:
        return self.reason.code if isinstance(self.reason, Reason) else None

    @property
    def params(self) -> dict[str, str | int | None]:
        return dict(self.reason.params) if isinstance(self.reason, Reason) else {}


class TamperedError(VerificationError):
    """Something was altered, added, removed or reordered."""

    kind = "tampered"


class IncompleteError(VerificationError):
    """The evidence is intact so far but not sealed (recording, or interrupted and unrecovered)."""

    kind = "incomplete"


class UntrustedSignerError(VerificationError):
    """The signature is valid but the key or certificate is not anchored in the trust roots."""

    kind = "untrusted"


class CustodyError(VerificationError):
    """The custody log was rewritten, truncated or rolled back."""

    kind = "custody"
