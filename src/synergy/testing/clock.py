"""A clock that a test drives: virtual monotonic time that advances only when someone sleeps or waits on it.

Pass it to :class:`synergy.sampling.Sampler` (``clock=``) and to the fake sensors it reads
(:class:`synergy.sensors.scripted.ScriptedSensor` takes ``clock=clock.now_ns``): the sampling thread then
runs through virtual seconds as fast as the CPU allows, and a test never sleeps. With ``until_ns`` the
clock stops at that time: the sampler's next wait holds (it returns when the sampler is stopped), and
:attr:`ManualClock.reached` is set, so a test waits for it and then stops the sampler::

    clock = ManualClock(until_ns=ManualClock.START_NS + 2_000_000_000)
    sampler = Sampler(ScriptedSensor(5.0, clock=clock.now_ns), clock=clock).start()
    clock.reached.wait(30)
    result = sampler.stop()
"""

from __future__ import annotations

import threading

__all__ = ["ManualClock"]


class ManualClock:
    """Virtual monotonic time.

    Args:
        start_ns: the time it starts at, ns.
        until_ns: where virtual time stops (``None``: never); waits then hold until their event is set.
        min_step_ns: what a zero-length sleep advances (a thread that yields still lets time pass).
        hold_s: the longest a held wait lasts in real time, s (a test that forgets to stop cannot hang).
    """

    START_NS = 10**12

    def __init__(
        self, start_ns: int = START_NS, *, until_ns: int | None = None, min_step_ns: int = 1_000, hold_s: float = 60.0
    ) -> None:
        self._t = int(start_ns)
        self._lock = threading.Lock()
        self.until_ns = until_ns
        self.min_step_ns = max(1, int(min_step_ns))
        self.hold_s = hold_s
        self.reached = threading.Event()
        """Set once virtual time got to ``until_ns``."""

    def now_ns(self) -> int:
        """The current virtual time, ns."""
        return self._t

    def advance(self, seconds: float) -> bool:
        """Move time on by ``seconds`` (at least ``min_step_ns``), up to ``until_ns``; whether it got there."""
        with self._lock:
            target = self._t + max(int(seconds * 1e9), self.min_step_ns)
            if self.until_ns is not None and target >= self.until_ns:
                self._t = max(self._t, self.until_ns)
                self.reached.set()
                return True
            self._t = target
            return False

    def sleep(self, seconds: float) -> None:
        """Virtual sleep; at ``until_ns`` it returns at once (the next wait holds)."""
        self.advance(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Virtual wait; at ``until_ns`` it holds (in real time) until ``event`` is set."""
        if event.is_set():
            return True
        if self.advance(seconds):
            return event.wait(self.hold_s)
        return event.is_set()
