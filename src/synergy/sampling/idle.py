"""Idle power: what the machine draws before a run, with its spread.

:func:`measure_idle` samples a sensor for a given time while the caller does nothing, then splits the
window into sub-windows and takes each one's mean power (energy over time, so an energy counter's spread is
measured the same way as a power sensor's). The mean is the whole window's energy over its length; the
spread is the standard deviation of the sub-window means, and its standard error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from synergy.errors import SamplingError
from synergy.sampling.sampler import Readable, Sampler
from synergy.sampling.timeline import Timeline

__all__ = ["IdlePower", "idle_from_timeline", "measure_idle"]


@dataclass(frozen=True)
class IdlePower:
    """Idle power of a sensor's total (and of each rail).

    Attributes:
        mean_w: energy over the whole window divided by its length, watts.
        std_w: standard deviation of the sub-window mean powers, watts.
        sem_w: standard error of ``mean_w`` from the sub-windows (``std_w / sqrt(n)``), watts.
        n: number of sub-windows.
        window_s: length of one sub-window, seconds.
        duration_s: length of the whole window, seconds.
        t0_ns: start of the window, monotonic ns.
        t1_ns: end of the window, monotonic ns.
        rails_w: mean power of each rail, watts.
        n_gaps: failed-read runs inside the window.
    """

    mean_w: float
    std_w: float
    sem_w: float
    n: int
    window_s: float
    duration_s: float
    t0_ns: int
    t1_ns: int
    rails_w: dict[str, float] = field(default_factory=dict)
    n_gaps: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def idle_from_timeline(
    timeline: Timeline,
    t0_ns: int | None = None,
    t1_ns: int | None = None,
    *,
    n_windows: int | None = None,
    min_window_periods: float = 10.0,
) -> IdlePower:
    """Idle power over ``[t0_ns, t1_ns]`` of a timeline (default: its whole coverage).

    Args:
        timeline: a power or energy timeline.
        t0_ns: window start, monotonic ns.
        t1_ns: window end, monotonic ns.
        n_windows: sub-windows for the spread; default as many as fit with each at least
            ``min_window_periods`` sensor update periods long, between 2 and 20.
        min_window_periods: shortest sub-window, in update periods (quantisation noise of a counter is
            one increment per edge, so short sub-windows inflate the spread).

    Raises:
        SamplingError: the timeline is too short, or not power or energy.
    """
    lo, hi = timeline.coverage_ns
    t0 = lo if t0_ns is None else max(int(t0_ns), lo)
    t1 = hi if t1_ns is None else min(int(t1_ns), hi)
    if t1 <= t0 or len(timeline) < 2:
        raise SamplingError(
            f"the idle window holds {len(timeline)} reading(s) over {(t1 - t0) / 1e9:.3f} s, too few for a "
            "mean and a spread; idle for longer (several sensor update periods)"
        )
    duration_s = (t1 - t0) / 1e9
    if n_windows is None:
        period = (
            timeline.sensor.get("update_period_s_used")
            or timeline.sensor.get("update_period_s")
            or timeline.sensor_period_s()
            or duration_s / 20
        )
        n_windows = int(min(20, max(2, duration_s // max(period * min_window_periods, 1e-9))))
    n_windows = max(1, int(n_windows))
    edges = np.linspace(t0, t1, n_windows + 1).round().astype(np.int64)
    # Interpolated edges keep sub-windows additive, so the sub-window energies sum to the total exactly.
    sub = np.atleast_1d(timeline.mean_power_w(edges[:-1], edges[1:], edges="interpolate"))
    total_j = float(timeline.energy_j(t0, t1, edges="interpolate"))
    std = float(np.std(sub, ddof=1)) if sub.size > 1 else math.nan
    rails = {rail: float(timeline.mean_power_w(t0, t1, rail=rail, edges="interpolate")) for rail in timeline.rails}
    return IdlePower(
        mean_w=total_j / duration_s,
        std_w=std,
        sem_w=std / math.sqrt(sub.size) if sub.size > 1 else math.nan,
        n=int(sub.size),
        window_s=duration_s / n_windows,
        duration_s=duration_s,
        t0_ns=t0,
        t1_ns=t1,
        rails_w=rails,
        n_gaps=len(timeline.gaps_in(t0, t1)),
    )


def measure_idle(
    sensor: Readable,
    duration_s: float,
    *,
    n_windows: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **sampler_options: Any,
) -> IdlePower:
    """Sample ``sensor`` for ``duration_s`` seconds while this thread sleeps, and return the idle power.

    Args:
        sensor: a power or energy sensor.
        duration_s: how long to idle, seconds (several seconds for a stable figure; at least a few sensor
            update periods).
        n_windows: sub-windows for the spread (see :func:`idle_from_timeline`).
        sleep: how to idle (the default sleeps).
        **sampler_options: passed to :class:`~synergy.sampling.sampler.Sampler`.

    Raises:
        SamplingError: the sensor ended or gave too few readings.
    """
    if not duration_s > 0:
        raise SamplingError(f"idle duration must be positive, got {duration_s!r} s")
    sampler = Sampler(sensor, **sampler_options)
    with sampler:
        sleep(duration_s)
    assert sampler.result is not None
    timeline = sampler.result.timeline(sensor.name)
    if timeline.end_reason is not None and len(timeline) < 2:
        raise SamplingError(f"idle power could not be measured: {timeline.end_reason}")
    return idle_from_timeline(timeline, n_windows=n_windows)
