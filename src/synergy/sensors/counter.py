"""Unwrapping of cumulative hardware counters that wrap around (RAPL ``energy_uj``)."""

from __future__ import annotations

__all__ = ["CounterUnwrapper"]


class CounterUnwrapper:
    """Turns successive raw reads of a wrapping counter into one monotonic cumulative value.

    The counter counts up from 0 to ``range_`` and starts again at 0. Between two reads it may wrap at
    most once, which holds as long as reads are closer than one full range apart (a RAPL package counter
    of 262 kJ takes hours to wrap even at 100 W; read it at least every few minutes).

    Example:
        >>> u = CounterUnwrapper(range_=1000)
        >>> [u.update(raw) for raw in (900, 990, 20, 500)]
        [900, 990, 1020, 1500]
    """

    def __init__(self, range_: int) -> None:
        """Args:
        range_: the value at which the counter wraps back to 0 (RAPL ``max_energy_range_uj``), > 0.
        """
        if range_ <= 0:
            raise ValueError(f"range_ must be > 0, got {range_}")
        self.range_ = range_
        self.wraps = 0
        self._last: int | None = None

    def update(self, raw: int) -> int:
        """Feed one raw read; returns the unwrapped cumulative value (same unit as ``raw``)."""
        if self._last is not None and raw < self._last:
            self.wraps += 1
        self._last = raw
        return raw + self.wraps * self.range_
