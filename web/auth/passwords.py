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
from flask import has_request_context
from flask_babel import gettext
from zxcvbn import zxcvbn

from evidence_store import UsageError, plain_text_problem

hasher = PasswordHasher()
MIN_PASSWORD = 12
MAX_PASSWORD = 256
MIN_SCORE = 3  # zxcvbn's 0-4 scale; 3: "safely unguessable", about 10^8 guesses or more
# A common password with digits or signs stuck on its end is still a common password.
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


class PasswordRefused(UsageError):
    """The password does not meet the policy; the message says why (in the person's
    language in the console, in English at the command line)."""


def _say(message: str, **values: object) -> str:
    # Only in a request is there a person whose language is known.
    if has_request_context():
        return str(gettext(message, **values))
    return message % values if values else message


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, as zxcvbn bundles them (lower case)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, username: str, min_score: int = MIN_SCORE) -> None:
    """Raise PasswordRefused unless ``password`` has 12+ characters, is not a common password
    (nor one with digits or signs added), does not contain the username, and zxcvbn rates it
    at least ``min_score`` (which refuses repeats, keyboard rows and number runs)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(
            _say("a password needs at least %(count)s characters", count=MIN_PASSWORD)
        )
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(
            _say("a password has at most %(count)s characters", count=MAX_PASSWORD)
        )
    if plain_text_problem(password) is not None:
        raise PasswordRefused(_say("a password may not contain control characters"))
    folded = password.casefold()
    common = common_passwords()
    undecorated = _DECORATION.sub("", folded)
    # All digits or signs leaves nothing once undecorated: that is no word at all.
    if folded in common or not undecorated or undecorated in common:
        raise PasswordRefused(_say("that password is one of the most common ones; choose another"))
    if username and username.casefold() in folded:
        raise PasswordRefused(_say("a password may not contain the username"))
    if zxcvbn(password, user_inputs=[username] if username else [])["score"] < min_score:
        raise PasswordRefused(
            _say(
                "that password is too easy to guess (repeats, keyboard rows, sequences or "
                "common words): add more words that do not belong together"
            )
        )


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
