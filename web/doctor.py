"""``sealroom doctor``'s checks of a console, which need the console's settings: the key that
signs its login sessions is strong, and the installation's room key (from which each room's
recorder token is derived) can be read. ``sealroom.cli``
hands them to the doctor (``evidence_store.installation``'s framework)."""

from __future__ import annotations

import os

from evidence_store.installation import Check, DataDir, Problem, Severity
from web.settings import ConsoleSettings

MIN_SECRET_BYTES = 32


def console_checks(settings: ConsoleSettings) -> list[Check]:
    """The console's checks, bound to its settings."""
    return [Check("console secret", lambda data: check_console_secret(data, settings))]


def check_console_secret(data: DataDir, settings: ConsoleSettings) -> list[Problem]:
    """The session-signing key (``$SEALROOM_SECRET_KEY``, ``[console] secret_key_file`` or
    the one generated in the data directory) is long enough that no one guesses it, and the
    room key file, if one is named, can be read."""
    problems = []
    if from_env := os.environ.get("SEALROOM_SECRET_KEY"):
        secret, where = from_env, "$SEALROOM_SECRET_KEY"
    else:
        path = settings.secret_key_file or data.root / "console-secret"
        where = str(path)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            secret = None  # generated at the console's first start
        except OSError as exc:
            secret = ""
            problems.append(
                Problem("console secret", Severity.SERIOUS, f"cannot read {where}: {exc.strerror}")
            )
    if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
        problems.append(
            Problem(
                "console secret",
                Severity.SERIOUS,
                f"the console's session key in {where} has {len(secret.encode())} bytes: anyone "
                f"who guesses it can forge a login; use at least {MIN_SECRET_BYTES} random bytes",
            )
        )
    key_file = settings.room_key_file
    if key_file is not None and not os.access(key_file, os.R_OK):
        problems.append(
            Problem(
                "console secret",
                Severity.SERIOUS,
                f"the room key file {key_file} cannot be read: the room terminals will find "
                "every room unreachable",
            )
        )
    return problems
