"""A live copy of what the sampler reads from the monitored sensor, readable while sampling goes on.

:class:`Sampler` hands its timelines over only when it stops. A monitor needs a window's energy while
sampling continues, so it gives the sampler a :class:`Tap`: a channel that reads the sensor and also keeps
each *change* (first read of a new value, with the last read before it, as the sampler stores them) in a
bounded in-memory :class:`Record`. :meth:`Record.timeline` turns the rows around a window into a
:class:`~synergy.sampling.timeline.Timeline`, so windows are integrated by the same code as measurements.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from typing import Any

from synergy.sampling.timeline import Timeline
from synergy.sensors.base import Reading, Sensor

__all__ = ["Record", "Tap"]


class Record:
    """Value changes of one sensor, thread-safe, bounded to ``max_rows`` (the oldest half is dropped).

    Args:
        sensor: the sensor whose reads are recorded (its kind, rails and filter model describe the rows).
        max_rows: rows kept; at 1 kHz updates, 3.6 million rows are an hour.
    """

    def __init__(self, sensor: Sensor, max_rows: int = 3_600_000) -> None:
        self.sensor = sensor
        self.max_rows = max(16, int(max_rows))
        self._lock = threading.Lock()
        self._t: list[int] = []
        self._tp: list[int] = []
        self._v: list[tuple[float, ...]] = []
        self.last_read_ns = 0
        self.first_ns: int | None = None
        """Time of the oldest row still kept, ns."""

    def add(self, reading: Reading) -> None:
        """Keep a read if its value changed (called from the sampling thread)."""
        t = int(reading.t_ns)
        values = tuple(float(v) for v in reading.values)
        if len(values) != len(self.sensor.rails) or not all(math.isfinite(v) for v in values):
            return  # the sampler records this read as a gap
        with self._lock:
            if not self._v:
                self._t.append(t)
                self._tp.append(t)
                self._v.append(values)
                self.first_ns = t
            elif values != self._v[-1] and t > self._t[-1]:
                self._t.append(t)
                self._tp.append(max(self.last_read_ns, self._t[-2]))
                self._v.append(values)
                if len(self._t) > self.max_rows:
                    drop = len(self._t) // 2
                    del self._t[:drop], self._tp[:drop], self._v[:drop]
                    self._tp[0] = self._t[0]
                    self.first_ns = self._t[0]
            self.last_read_ns = max(self.last_read_ns, t)

    def changes_since(self, t_ns: int) -> int:
        """How many value changes were first read after ``t_ns``."""
        with self._lock:
            return len(self._t) - bisect.bisect_right(self._t, t_ns)

    def observed_period_s(self) -> float | None:
        """Median interval between the last changes, seconds (the update period as seen), or ``None``."""
        with self._lock:
            tail = self._t[-65:]
        if len(tail) < 4:
            return None
        steps = sorted(b - a for a, b in itertools.pairwise(tail[1:]))
        return steps[len(steps) // 2] / 1e9

    def timeline(self, t0_ns: int, t1_ns: int, update_period_s: float | None, margin: int = 3) -> Timeline | None:
        """The rows around ``[t0_ns, t1_ns]`` (``margin`` changes either side) as a timeline, or ``None``."""
        with self._lock:
            lo = max(0, bisect.bisect_left(self._t, t0_ns) - margin)
            hi = min(len(self._t), bisect.bisect_right(self._t, t1_ns) + margin)
            t, tp, v = self._t[lo:hi], self._tp[lo:hi], self._v[lo:hi]
            last = self.last_read_ns
        if not t:
            return None
        if hi == len(self._t) and last > t[-1]:  # the value held until the last read: a closing row
            t, tp, v = [*t, last], [*tp, last], [*v, v[-1]]
        s = self.sensor
        return Timeline(
            kind=s.kind,
            rails=s.rails,
            t_ns=t,
            values=v,
            t_prev_ns=tp,
            filter_model=s.filter_model,
            total_rails=s.total_rails,
            sensor=s.describe(),
            update_period_s=update_period_s,
        )


class Tap:
    """A sampler channel that reads a sensor and records every change into a :class:`Record`.

    It presents the sensor's name, rails, kind, filter model and update period, so the sampler plans
    and stores it exactly as it would the sensor itself.
    """

    def __init__(self, sensor: Sensor, record: Record) -> None:
        self.sensor = sensor
        self.record = record
        self.name = sensor.name
        self.rails = sensor.rails
        self.kind = sensor.kind
        self.filter_model = sensor.filter_model
        self.total_rails = sensor.total_rails
        self.update_period_s = sensor.update_period_s

    def read(self) -> Reading:
        """Read the sensor, record the value, return it."""
        reading = self.sensor.read()
        self.record.add(reading)
        return reading

    def describe(self) -> dict[str, Any]:
        """The sensor's description."""
        return self.sensor.describe()
