"""How long a refused login takes, by why it was refused.

    python -m benchmarks.login_timing [--rounds 40]

The penetration test told accounts apart by time: about 190 ms for an unknown user against
10-12 ms for a locked or disabled one, which skipped the password hash. Every login now does
the same argon2 work (``web.auth.login``). This posts real login forms to a console (the
whole request: CSRF, rate limit, back-off, custody event) for an unknown user, an account
waiting after failed logins, a disabled account and one awaiting a second administrator's
approval, interleaved round by round, and prints p50 and p99 of each with its ratio to a real
failed login (an existing account, a wrong password), measured in the same run. A ratio near
1.0 means the time tells nothing. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.support.accounts import attempt_login
from tests.support.console import PASSWORD, build_console
from web.auth import create_user
from web.extensions import db
from web.models import User
from web.settings import ConsoleSettings

ADDRESS = "198.51.100.50"
CASES = {
    "wrong password (baseline)": ("prosecutor", "not the password"),
    "unknown user": ("no-such-user", PASSWORD),
    "locked (waiting)": ("locked-one", PASSWORD),
    "disabled": ("disabled-one", PASSWORD),
    "awaiting approval": ("waiting-one", PASSWORD),
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        settings = ConsoleSettings(login_attempts_per_minute=10_000, lockout_minutes=60)
        console = build_console(Path(root), settings=settings)
        with console.app.app_context():
            for name in ("locked-one", "disabled-one"):
                create_user(name, role="auditor", unit="hanoi", password=PASSWORD)
            create_user(
                "waiting-one", role="auditor", unit="hanoi", password=PASSWORD, approved=False
            )
            db.session.query(User).filter_by(username="disabled-one").one().active = False
            db.session.commit()
        client = console.app.test_client()
        for _ in range(settings.max_failed_logins):  # locked-one now waits at this address
            attempt_login(client, "locked-one", "wrong", address=ADDRESS)
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.rounds):
            for name, (username, password) in CASES.items():
                start = time.perf_counter()
                response = attempt_login(client, username, password, address=ADDRESS)
                times[name].append(time.perf_counter() - start)
                assert response.status_code == 401, (name, response.status_code)
    base = statistics.median(times["wrong password (baseline)"])
    print(f"refused logins, {args.rounds} each, interleaved (ms)")
    print(f"{'case':28} {'p50':>8} {'p99':>8} {'p50 / baseline':>15}")
    for name, values in times.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"{name:28} {p50 * 1000:8.1f} {p99 * 1000:8.1f} {p50 / base:15.2f}")


if __name__ == "__main__":
    main()
