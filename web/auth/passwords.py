"""Passwords: the policy, hashing (argon2), and checking with the same work in every case.

Every login attempt runs exactly one argon2 verification, whatever the outcome: an unknown
user, a disabled or locked account and a directory account are checked against a stand-in
hash, so the time a login takes does not tell them apart from a wrong password.
"""

from __future__ import annotations

import contextlib
import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from evidence_store import UsageError, plain_text_problem

hasher = PasswordHasher()
MIN_PASSWORD = 12
MAX_PASSWORD = 256
# A common password with digits or signs stuck on its end is still a common password.
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


class PasswordRefused(UsageError):
    """The password does not meet the policy; the message says why."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, as zxcvbn bundles them (lower case)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, username: str) -> None:
    """Raise PasswordRefused unless ``password`` has 12+ characters, is not a common password
    (nor one with digits or signs added), and does not contain the username."""
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(f"a password has at most {MAX_PASSWORD} characters")
    if plain_text_problem(password) is not None:
        raise PasswordRefused("a password may not contain control characters")
    folded = password.casefold()
    common = common_passwords()
    if folded in common or _DECORATION.sub("", folded) in common:
        raise PasswordRefused("that password is one of the most common ones; choose another")
    if username and username.casefold() in folded:
        raise PasswordRefused("a password may not contain the username")


def hash_password(password: str) -> str:
    return hasher.hash(password)


@functools.cache
def _stand_in_hash() -> str:
    # Same parameters as every real hash, so checking against it costs the same.
    return hasher.hash("stand-in: no account has this password")


def verify(stored: str | None, password: str) -> bool:
    """One argon2 verification: against ``stored``, or against a stand-in when there is no
    usable hash (no such account, a directory account), which always fails."""
    real = bool(stored) and stored != _stand_in_hash()
    try:
        return bool(hasher.verify(stored if real and stored else _stand_in_hash(), password))
    except VerificationError:
        return False
    except InvalidHashError:
        # Refused before any work: a hash that cannot be read still costs a verification.
        with contextlib.suppress(VerificationError):
            hasher.verify(_stand_in_hash(), password)
        return False


def needs_rehash(stored: str) -> bool:
    return hasher.check_needs_rehash(stored)
