"""Exponential backoff with jitter, for waiting out a server that is down (the object store,
the witness, the time-stamp authority, the catalog).

"Equal jitter": the n-th wait is half of ``min(maximum, initial * 2**n)`` plus a random share
of the other half. Waits grow quickly to the cap, never drop to zero (so a site full of
appliances does not hammer a server the moment it returns), and are spread out (so they do
not all retry in the same second).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial: float = 1.0
    maximum: float = 60.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    attempt: int = 0

    def ceiling(self, attempt: int) -> float:
        return float(min(self.maximum, self.initial * 2 ** min(attempt, 62)))

    def next_delay(self) -> float:
        """The wait before the next retry; each call backs off further."""
        ceiling = self.ceiling(self.attempt)
        self.attempt += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """Call after a success: the next failure starts from the initial wait again."""
        self.attempt = 0
