"""The clock the sampler reads, sleeps and waits on: the monotonic clock, or one a test drives.

Everything the sampler does with time goes through a :class:`Clock`, so logic tests run on a
:class:`synergy.testing.clock.ManualClock` that advances only when the sampler sleeps, and never sleep.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

from synergy.clock import now_ns

__all__ = ["Clock", "MonotonicClock"]

#: Waits longer than this go to the stop event (so a stop ends them); shorter ones are plain sleeps.
_EVENT_WAIT_S = 5e-3


@runtime_checkable
class Clock(Protocol):
    """What the sampler needs of a clock."""

    def now_ns(self) -> int:
        """The current time, ns, on the clock of every mark and reading."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (0: only yield to other threads)."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Let up to ``seconds`` pass, ending early when ``event`` is set; whether it is set."""
        ...


class MonotonicClock:
    """``CLOCK_MONOTONIC`` (:func:`synergy.clock.now_ns`) with real sleeps."""

    def now_ns(self) -> int:
        return now_ns()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if seconds > _EVENT_WAIT_S:
            return event.wait(seconds)
        if seconds > 0:
            time.sleep(seconds)
        return event.is_set()
