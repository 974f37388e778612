"""Context channels in a measurement's results: the Parquet file, the per-layer rails, the sampler's hand-over.

The background sampler stores a channel's value only when it changes, with the last read before each change
(``t_prev_ns``). :func:`from_sampler` turns that into a context :class:`~synergy.sampling.timeline.Timeline`
of reads: each change row, plus the last read of the previous value (at ``t_prev_ns``) where it differs
from the change before, so a window between two changes sees the value that held there.

``context.parquet`` (:func:`context_frame`, :func:`read_context_parquet`) is in long format, one row per
rail per stored change: ``channel`` (``cpu_freq``, ``thermal``, …), ``rail`` (``cpu0_freq_hz``, …),
``t_ns`` (monotonic ns, the clock of the power samples and the layer events), ``t_prev_ns`` (the last read
before that value, ns) and ``value`` in the rail's unit (Hz, °C, fraction; NaN = that rail was a gap).

:func:`summary_rails` reduces the channels to the few rails summarised per layer: ``cpu_freq_hz`` (mean over
the cores sampled), ``gpu_freq_hz`` (Jetson devfreq, else the first NVIDIA GPU's SM clock), ``emc_freq_hz``
and ``temp_c`` (the hottest zone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.context.timeline import Span, Timeline

__all__ = [
    "LAYER_RAILS",
    "context_frame",
    "from_sampler",
    "layer_spans",
    "read_context_parquet",
    "summary_rails",
]

#: Rails summarised per layer, in column order (``layers.csv`` gets the clocks' medians and ``temp_c_max``).
LAYER_RAILS: tuple[str, ...] = ("cpu_freq_hz", "gpu_freq_hz", "emc_freq_hz", "temp_c")

_CPU_CORE = re.compile(r"cpu\d+_freq_hz")
_GPU = re.compile(r"gpu\d*_freq_hz")
_NVML_SM = re.compile(r"gpu\d+_sm_clock_hz")


def from_sampler(timeline: Any, poll_period_s: float | None = None) -> Timeline:
    """A context timeline of reads from a sampler's changes-only timeline.

    Args:
        timeline: has ``rails``, ``t_ns``, ``values`` and, from the sampler, ``t_prev_ns`` (the last read
            before each change) and ``t_end_ns`` (the last good read).
        poll_period_s: the channel's poll period; when given, the reads between changes are restored on that
            grid, so a median over a window weighs each value by how long it held (not by how often it changed).
    """
    t_ns = np.asarray(timeline.t_ns, dtype=np.int64)
    values = np.asarray(timeline.values, dtype=np.float64).reshape(len(t_ns), len(timeline.rails))
    t_prev = np.asarray(getattr(timeline, "t_prev_ns", t_ns), dtype=np.int64)
    rails = tuple(timeline.rails)
    if len(t_ns) == 0:
        return Timeline(rails, t_ns, values)
    t_end = int(getattr(timeline, "t_end_ns", None) or t_ns[-1])
    # Each value was read from its change until the last read before the next change (or the end).
    until = np.append(t_prev[1:], max(t_end, int(t_ns[-1])))
    step = int(poll_period_s * 1e9) if poll_period_s else 0
    stamps: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for i in range(len(t_ns)):
        start, stop = int(t_ns[i]), int(until[i])
        if step > 0 and stop > start:
            grid = np.arange(start, stop, step, dtype=np.int64)
            grid = np.append(grid, stop) if grid[-1] != stop else grid
        else:
            grid = np.array([start, stop] if stop > start else [start], dtype=np.int64)
        stamps.append(grid)
        rows.append(np.repeat(values[i : i + 1], len(grid), axis=0))
    return Timeline(rails, np.concatenate(stamps), np.concatenate(rows))


def context_frame(timelines: Mapping[str, Any]) -> pd.DataFrame:
    """The long-format frame of ``context.parquet`` from the sampler's timelines, channel name → timeline."""
    parts = []
    for channel, timeline in timelines.items():
        t_ns = np.asarray(timeline.t_ns, dtype=np.int64)
        t_prev = np.asarray(getattr(timeline, "t_prev_ns", t_ns), dtype=np.int64)
        values = np.asarray(timeline.values, dtype=np.float64).reshape(len(t_ns), len(timeline.rails))
        for column, rail in enumerate(timeline.rails):
            parts.append(
                pd.DataFrame(
                    {
                        "channel": channel,
                        "rail": rail,
                        "t_ns": t_ns,
                        "t_prev_ns": t_prev,
                        "value": values[:, column],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(
            {
                "channel": pd.Series(dtype=str),
                "rail": pd.Series(dtype=str),
                "t_ns": pd.Series(dtype=np.int64),
                "t_prev_ns": pd.Series(dtype=np.int64),
                "value": pd.Series(dtype=np.float64),
            }
        )
    return pd.concat(parts, ignore_index=True)


def read_context_parquet(path: str | Path) -> dict[str, Timeline]:
    """Channel name → its stored changes (``t_ns`` and one column per rail) from ``context.parquet``.

    Pass a channel's rows through :func:`from_sampler` with its poll period (``run.json``
    ``context.sampler.<channel>.poll_period_s``) to get the reads back.
    """
    frame = pd.read_parquet(path)
    out: dict[str, Timeline] = {}
    for channel, rows in frame.groupby("channel", sort=False):
        rails = tuple(dict.fromkeys(str(r) for r in rows["rail"]))
        first = rows[rows["rail"] == rails[0]]
        values = np.column_stack([rows.loc[rows["rail"] == rail, "value"].to_numpy(np.float64) for rail in rails])
        out[str(channel)] = Timeline(
            rails, first["t_ns"].to_numpy(np.int64), values, t_prev_ns=first["t_prev_ns"].to_numpy(np.int64)
        )
    return out


def _hold(timeline: Timeline, rail_values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Values of one derived rail of ``timeline`` held onto ``grid`` (NaN before its first sample)."""
    index = np.searchsorted(timeline.t_ns, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    ok = index >= 0
    out[ok] = rail_values[index[ok]]
    return out


def summary_rails(timelines: Sequence[Timeline]) -> Timeline | None:
    """One timeline with the rails of :data:`LAYER_RAILS` that the channels offer (see the module docstring),
    on the union of their stamps, each rail holding its last value; ``None`` when none is offered."""
    derived: list[tuple[str, Timeline, np.ndarray]] = []
    for timeline in timelines:
        cores = [r for r in timeline.rails if _CPU_CORE.fullmatch(r)]
        if cores:
            block = np.column_stack([timeline.column(r) for r in cores])
            with np.errstate(all="ignore"):
                mean = np.full(len(block), np.nan)
                some = ~np.all(np.isnan(block), axis=1)
                mean[some] = np.nanmean(block[some], axis=1)
            derived.append(("cpu_freq_hz", timeline, mean))
        gpu = [r for r in timeline.rails if _GPU.fullmatch(r)] or [r for r in timeline.rails if _NVML_SM.fullmatch(r)]
        if gpu:
            derived.append(("gpu_freq_hz", timeline, timeline.column(sorted(gpu)[0])))
        if "emc_freq_hz" in timeline.rails:
            derived.append(("emc_freq_hz", timeline, timeline.column("emc_freq_hz")))
        temps = [r for r in timeline.rails if r.endswith("_temp_c")]
        if temps:
            block = np.column_stack([timeline.column(r) for r in temps])
            hottest = np.full(len(block), np.nan)
            some = ~np.all(np.isnan(block), axis=1)
            hottest[some] = np.nanmax(block[some], axis=1)
            derived.append(("temp_c", timeline, hottest))
    chosen: dict[str, tuple[Timeline, np.ndarray]] = {}
    for rail, timeline, values in derived:
        if rail == "temp_c" and rail in chosen:  # several sources of temperatures: the hottest of all
            other_timeline, other = chosen[rail]
            grid = np.union1d(other_timeline.t_ns, timeline.t_ns)
            both = np.column_stack([_hold(other_timeline, other, grid), _hold(timeline, values, grid)])
            hottest = np.full(len(grid), np.nan)
            some = ~np.all(np.isnan(both), axis=1)
            hottest[some] = np.nanmax(both[some], axis=1)
            chosen[rail] = (Timeline(("temp_c",), grid, hottest), hottest)
        else:
            chosen.setdefault(rail, (timeline, values))
    rails = [r for r in LAYER_RAILS if r in chosen]
    if not rails:
        return None
    grid = np.unique(np.concatenate([chosen[r][0].t_ns for r in rails]))
    columns = np.column_stack([_hold(chosen[r][0], chosen[r][1], grid) for r in rails])
    return Timeline(tuple(rails), grid, columns)


def layer_spans(
    names: Sequence[str], layer: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray
) -> dict[str, list[Span]]:
    """Layer name → its (start_ns, end_ns) in every run, from the measurement's events."""
    spans: dict[str, list[Span]] = {name: [] for name in names}
    for index, a, b in zip(layer.tolist(), start_ns.tolist(), end_ns.tolist(), strict=True):
        spans[names[index]].append((int(a), int(b)))
    return spans
