"""Unwrapping of cumulative hardware counters that wrap around (RAPL ``energy_uj``, meter logs).

This module holds the one definition of what a decrease of a counter means. A counter counts up from 0
to ``range_`` and starts again at 0, so a decrease is a **wrap** only when the drop fits the range: the
value before was near the top and the value after near zero, that is, the increment the wrap implies,
``range_ - before + after``, is at most ``max_increment`` (by default half the range: a RAPL package
counter of 262 kJ then accepts a wrap that implies up to 131 kJ since the previous read). Any other
decrease (a 5 J step back, a reset, a garbled read) is a **read fault**: no energy is invented for it.

* :class:`CounterUnwrapper` (a sensor's stream of reads) raises :class:`~synergy.errors.SensorReadError`
  for the faulty read, so the sampler records a gap; when the next read continues from the faulty value
  (the counter was reset, not garbled) the stream is rebased there and goes on.
* :func:`unwrap_array` (a whole log at once, as :func:`synergy.sampling.timeline.unwrap_counter` and the
  meter traces use it) applies the same rule and returns the unwrapped values and a mask of the faults.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from synergy.errors import SensorReadError

__all__ = ["WRAP_FRACTION", "CounterUnwrapper", "is_wrap", "unwrap_array"]

#: The default largest increment a wrap may imply, as a fraction of the range.
WRAP_FRACTION = 0.5


def is_wrap(before: float, after: float, range_: float, max_increment: float | None = None) -> bool:
    """Whether a decrease from ``before`` to ``after`` is one wrap of a counter that wraps at ``range_``.

    Example:
        >>> is_wrap(990, 20, 1000), is_wrap(700, 695, 1000)
        (True, False)
    """
    if after >= before:
        return False
    limit = range_ * WRAP_FRACTION if max_increment is None else max_increment
    return 0 <= after < range_ and before <= range_ and (range_ - before) + after <= limit


class CounterUnwrapper:
    """Turns successive raw reads of a wrapping counter into one monotonic cumulative value.

    Between two reads the counter may wrap at most once, which holds as long as reads are closer than half a
    range apart (a RAPL package counter of 262 kJ takes hours to wrap even at 100 W).

    Example:
        >>> u = CounterUnwrapper(range_=1000)
        >>> [u.update(raw) for raw in (900, 990, 20, 500)]
        [900, 990, 1020, 1500]
    """

    def __init__(self, range_: float, max_increment: float | None = None, what: str = "the counter") -> None:
        """Args:
        range_: the value at which the counter wraps back to 0 (RAPL ``max_energy_range_uj``), > 0.
        max_increment: the largest increment a wrap may imply (default: half the range).
        what: how read errors name the counter (its file).
        """
        if not range_ > 0:
            raise ValueError(f"range_ must be > 0, got {range_}")
        self.range_ = range_
        self.max_increment = max_increment
        self.what = what
        self.wraps = 0
        self.faults = 0
        self._last: float | None = None
        self._offset: float = 0
        self._pending: float | None = None

    def update(self, raw: float) -> float:
        """Feed one raw read; returns the unwrapped cumulative value (same unit and type as ``raw``).

        Raises:
            SensorReadError: a negative, non-finite or above-range value, or a decrease that is no wrap.
        """
        if not (math.isfinite(raw) and 0 <= raw <= self.range_):
            raise SensorReadError(f"{self.what} reads {raw!r}, outside its range [0, {self.range_}]")
        last = self._last
        if last is None or raw >= last:
            self._pending = None
        elif is_wrap(last, raw, self.range_, self.max_increment):
            self._pending = None
            self.wraps += 1
            self._offset += self.range_
        elif self._pending is not None and raw >= self._pending:
            # Two reads agree on a new base: the counter was reset. The energy since the reset is lost
            # (the gap already recorded); counting goes on from here.
            self._offset += last - self._pending
            self._pending = None
            self.faults += 1
        else:
            self._pending = raw
            self.faults += 1
            raise SensorReadError(
                f"{self.what} stepped back from {last} to {raw}, which is not a wrap of its range {self.range_}"
            )
        self._last = raw
        return raw + self._offset


def unwrap_array(
    raw: npt.ArrayLike, range_: float, max_increment: float | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Unwrap a whole column (or columns) of counter readings by the rule of :class:`CounterUnwrapper`.

    Returns:
        (values, faults): cumulative values starting at ``raw[0]`` and non-decreasing, and a mask of the
        readings that were read faults (each holds the previous cumulative value: no energy is invented).
    """
    values = np.asarray(raw, dtype=np.float64)
    out = values.copy()
    faults = np.zeros(values.shape, dtype=bool)
    if values.shape[0] == 0:
        return out, faults
    limit = range_ * WRAP_FRACTION if max_increment is None else max_increment
    before, after = values[:-1], values[1:]
    drops = after < before
    if bool(np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= range_))) and bool(
        np.all(~drops | ((range_ - before) + after <= limit))
    ):  # the common case, vectorised: every decrease is a wrap
        steps = np.where(drops, after - before + range_, after - before)
        out[1:] = values[0] + np.cumsum(steps, axis=0)
        return out, faults
    columns = values.reshape(values.shape[0], -1)
    out_columns = out.reshape(values.shape[0], -1)
    fault_columns = faults.reshape(values.shape[0], -1)
    for j in range(columns.shape[1]):
        unwrapper = CounterUnwrapper(range_, max_increment)
        held = float("nan")
        for i, value in enumerate(columns[:, j]):
            try:
                held = unwrapper.update(float(value))
            except SensorReadError:
                fault_columns[i, j] = True
                if math.isnan(held):
                    held = 0.0
            out_columns[i, j] = held
    return out, faults
