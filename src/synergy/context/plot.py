"""Context beside a power profile: clocks on a second y axis, temperature on a third.

The measurement draws power against time on ``ax`` (seconds since ``t0_ns``) and calls
:func:`add_context_axes` with the context timelines recorded on the same clock. Only matplotlib's object API
is used (no pyplot state), so the caller chooses the backend (Agg for PNG files).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from synergy.context.timeline import Timeline, as_timeline

__all__ = ["add_context_axes", "clock_series", "temperature_series"]

_CPU_CORE = re.compile(r"cpu\d+_freq_hz")


def clock_series(timelines: Sequence[Timeline]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, t_ns, Hz) for the clocks worth plotting: GPU (devfreq or NVML SM), EMC, and the CPU mean over cores."""
    series = []
    for timeline in timelines:
        cores = [r for r in timeline.rails if _CPU_CORE.fullmatch(r)]
        if cores:
            values = np.column_stack([timeline.column(r) for r in cores])
            keep = ~np.all(np.isnan(values), axis=1)
            mean = np.nanmean(values[keep], axis=1) if keep.any() else np.zeros(0)
            series.append((f"CPU (mean of {len(cores)} cores)", timeline.t_ns[keep], mean))
        for rail in timeline.rails:
            if rail in {"gpu_freq_hz", "emc_freq_hz"} or re.fullmatch(r"gpu\d+_(freq|sm_clock)_hz", rail):
                column = timeline.column(rail)
                keep = ~np.isnan(column)
                label = rail.removesuffix("_hz").replace("_freq", "").replace("_", " ").upper()
                series.append((label, timeline.t_ns[keep], column[keep]))
    return series


def temperature_series(timelines: Sequence[Timeline]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, t_ns, °C): the hottest zone at each sample (one line, whatever the number of zones)."""
    series = []
    for timeline in timelines:
        rails = [r for r in timeline.rails if r.endswith("_temp_c")]
        if not rails:
            continue
        values = np.column_stack([timeline.column(r) for r in rails])
        keep = ~np.all(np.isnan(values), axis=1)
        if keep.any():
            series.append(("hottest zone", timeline.t_ns[keep], np.nanmax(values[keep], axis=1)))
    return series


def add_context_axes(ax: Any, timelines: Any, *, t0_ns: int, x_unit_s: float = 1.0) -> dict[str, Any]:
    """Draw clocks (GHz, right axis) and the hottest temperature (°C, outer right axis) over ``ax``'s time axis.

    Args:
        ax: the matplotlib axes holding the power profile, x in seconds since ``t0_ns`` (or in units of ``x_unit_s``).
        timelines: the context timelines (anything :func:`~synergy.context.as_timeline` takes, or a list).
        t0_ns: the monotonic time of x = 0.
        x_unit_s: seconds per unit of ``ax``'s x axis (``1e-3`` for a profile drawn in milliseconds).

    Returns:
        The axes created, ``{"clock": …, "temperature": …}`` (only those with something to draw).
    """
    if isinstance(timelines, Timeline) or hasattr(timelines, "rails"):
        timelines = [timelines]
    converted = [as_timeline(t) for t in timelines]
    created: dict[str, Any] = {}
    clocks = clock_series(converted)
    if clocks:
        axis = ax.twinx()
        for label, t_ns, hz in clocks:
            axis.step((t_ns - t0_ns) / 1e9 / x_unit_s, hz / 1e9, where="post", linewidth=1.0, label=label)
        axis.set_ylabel("clock (GHz)")
        axis.legend(loc="upper right", fontsize="small")
        created["clock"] = axis
    temps = temperature_series(converted)
    if temps:
        axis = ax.twinx()
        if clocks:
            axis.spines["right"].set_position(("axes", 1.12))
        for label, t_ns, celsius in temps:
            x = (t_ns - t0_ns) / 1e9 / x_unit_s
            axis.plot(x, celsius, color="tab:red", linestyle=":", linewidth=1.0, label=label)
        axis.set_ylabel("temperature (°C)", color="tab:red")
        axis.legend(loc="lower right", fontsize="small")
        created["temperature"] = axis
    return created
