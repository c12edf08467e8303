"""Injected time. Everything in outreach asks a `Clock` for "now", so tests and the bench control time.

A clock returns naive UTC (the storage form). `CompressedClock` runs simulated time faster than real time,
from a shared epoch, so separate worker processes agree on "now" without sleeping through a real hour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from clinical_api.util import utcnow

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return utcnow()


class CompressedClock:
    """Simulated now = sim_start + (real elapsed since real_start) * factor."""

    def __init__(self, sim_start: datetime, real_start: float, factor: float) -> None:
        self.sim_start = sim_start
        self.real_start = real_start
        self.factor = factor

    def __call__(self) -> datetime:
        elapsed = (time.time() - self.real_start) * self.factor
        return self.sim_start + timedelta(seconds=elapsed)


class ManualClock:
    """A clock a test moves by hand (forward, or backward to simulate a clock jump)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now
