"""``sealroom doctor``: the clock is kept right, and the time-stamp authority and the witness
answer. A wrong clock puts wrong times into every link; the authority and the witness are
what prove the times and the seals off the box."""

from __future__ import annotations

import shutil
import subprocess

from evidence_store.errors import SealroomError
from evidence_store.installation import DataDir, Problem, Severity
from evidence_store.witnessing import WitnessClient, WitnessUnavailable, witness_url

COMMAND_SECONDS = 5.0
TIMEDATECTL = ["timedatectl", "show", "-p", "NTPSynchronized", "--value"]


def ntp_synchronised_from_timedatectl(output: str) -> bool | None:
    """``timedatectl show -p NTPSynchronized --value``: yes, no (None: not that answer)."""
    value = output.strip().lower()
    return {"yes": True, "no": False}.get(value)


def synchronised_from_chronyc(output: str) -> bool | None:
    """``chronyc -n tracking``: its ``Leap status`` line says whether it is synchronised."""
    for line in output.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "leap status":
            return value.strip().lower() != "not synchronised"
    return None


def check_clock_sync(data: DataDir) -> list[Problem]:
    """The system clock is synchronised (systemd-timesyncd through timedatectl, or chrony)."""
    asked = []
    for command, parse in (
        (
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            ntp_synchronised_from_timedatectl,
        ),
        (["chronyc", "-n", "tracking"], synchronised_from_chronyc),
    ):
        if shutil.which(command[0]) is None:
            continue
        asked.append(command[0])
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        state = parse(done.stdout) if done.returncode == 0 else None
        if state is True:
            return []
        if state is False:
            return [
                Problem(
                    "clock",
                    Severity.SERIOUS,
                    f"the clock is not synchronised ({command[0]} says so): every link "
                    "carries the device's time; start NTP (timesyncd or chrony)",
                )
            ]
    tried = " or ".join(asked) if asked else "neither timedatectl nor chronyc is installed"
    return [
        Problem(
            "clock",
            Severity.WARNING,
            f"cannot tell whether the clock is synchronised ({tried} gave no answer); "
            "make sure NTP runs",
        )
    ]


def check_tsa(data: DataDir) -> list[Problem]:
    """The time-stamp authority stamps, and its answer checks out against its root."""
    try:
        config = data.tsa()
    except SealroomError as exc:
        return [Problem("time-stamps", Severity.SERIOUS, f"time-stamp settings: {exc}")]
    if config is None or config.url is None:
        return [
            Problem(
                "time-stamps",
                Severity.INFO,
                "no time-stamp authority configured: times rest on the device's clock alone",
            )
        ]
    try:
        config.client().stamp(b"sealroom doctor: is the authority there?")
    except SealroomError as exc:
        return [
            Problem(
                "time-stamps",
                Severity.WARNING,
                f"the time-stamp authority {config.url} did not stamp: {exc}; requests wait "
                "in the outbox until it does",
            )
        ]
    return []


def check_witness(data: DataDir) -> list[Problem]:
    """The off-box witness answers with its tree head."""
    url = witness_url(data.settings)
    if url is None:
        return [
            Problem(
                "witness",
                Severity.INFO,
                "no witness configured: a seal removed from the box is not proved by "
                "anything off it",
            )
        ]
    try:
        WitnessClient(url, timeout=data.settings.witness_timeout_seconds).tree_head()
    except (WitnessUnavailable, SealroomError, OSError) as exc:
        return [
            Problem(
                "witness",
                Severity.WARNING,
                f"the witness {url} does not answer: {exc}; heads wait in the outbox until it does",
            )
        ]
    return []
