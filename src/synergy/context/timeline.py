"""Context time series and their summaries over the measured windows (runs, layers).

A context channel's samples are a :class:`synergy.sampling.Timeline` with ``kind=None`` (the one time series
of the package): monotonic stamps ``t_ns`` (ns, the clock of :func:`synergy.clock.now_ns`) and one column of
values per rail (NaN = gap), built from reads as ``Timeline(rails, t_ns, values)``. :func:`summarize` reduces
it to min / median / max per named window set, e.g. ``{"run": [(t0, t1), …], "conv1": [(a, b), …]}``.

Which samples belong to a window ``[start, end]``:

* state rails (frequencies, temperatures, masks) hold their value until the next sample, so a window sees
  the sample in force at ``start`` (the last one at or before it) plus every sample inside;
* interval rails (``…_util``) describe the interval *ending* at their stamp, so a window sees every sample
  inside plus the first one after ``end`` (the one covering the window's tail).

A window shorter than the sampling period therefore still gets the value in force, never nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synergy.context.base import Channel
from synergy.errors import ChannelReadError
from synergy.sampling.timeline import Timeline

__all__ = [
    "ContextSummary",
    "RailStats",
    "Span",
    "Timeline",
    "as_timeline",
    "is_interval_rail",
    "record",
    "samples_in",
    "summarize",
]

#: A measured window on the monotonic clock: (start_ns, end_ns), end included.
Span = tuple[int, int]


def is_interval_rail(rail: str) -> bool:
    """True for rails whose value describes the interval before their stamp (utilisation)."""
    return rail.endswith("_util")


def as_timeline(obj: Any, rails: Sequence[str] | None = None) -> Timeline:
    """A :class:`Timeline` from what a sampler may hand over.

    Accepted: a :class:`Timeline`; any object with ``rails``, ``t_ns`` and ``values`` attributes; a data frame
    with a ``t_ns`` column (every other numeric column but ``t_prev_ns`` and ``t_change_ns`` is a rail); a
    sequence of readings with ``rails`` given.

    Raises:
        TypeError: none of these.
    """
    if isinstance(obj, Timeline):
        return obj
    if isinstance(obj, pd.DataFrame):
        if "t_ns" not in obj.columns:
            raise TypeError("a timeline data frame needs a 't_ns' column")
        times = {"t_ns", "t_prev_ns", "t_change_ns"}
        columns = [c for c in obj.columns if c not in times and pd.api.types.is_numeric_dtype(obj[c])]
        if rails is not None:
            columns = [c for c in columns if c in rails]
        return Timeline(tuple(str(c) for c in columns), obj["t_ns"].to_numpy(), obj[columns].to_numpy(dtype=float))
    if all(hasattr(obj, name) for name in ("rails", "t_ns", "values")):
        return Timeline(tuple(obj.rails), np.asarray(obj.t_ns), np.asarray(obj.values, dtype=float))
    if rails is not None and isinstance(obj, Sequence):
        return Timeline.from_readings(rails, obj)
    raise TypeError(f"cannot make a timeline from {type(obj).__name__}")


def samples_in(t_ns: np.ndarray, spans: Sequence[Span], *, interval: bool) -> np.ndarray:
    """Indices of the samples that describe any of ``spans`` (see the module docstring), sorted and unique."""
    picked: list[np.ndarray] = []
    for start, end in spans:
        first = int(np.searchsorted(t_ns, start, side="left"))
        last = int(np.searchsorted(t_ns, end, side="right"))  # one past the last sample <= end
        if interval:
            last = min(last + 1, len(t_ns))
        else:
            first = max(first - 1, 0) if first == len(t_ns) or t_ns[first] > start else first
        if first < last:
            picked.append(np.arange(first, last))
    if not picked:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(picked))


@dataclass(frozen=True)
class RailStats:
    """Min, median and max of one rail over a window set, in the rail's unit; ``samples`` non-gap samples used."""

    min: float
    median: float
    max: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"min": self.min, "median": self.median, "max": self.max, "samples": self.samples}


@dataclass(frozen=True)
class ContextSummary:
    """Per window set (``run``, each layer name, …), per rail: :class:`RailStats` (absent when no sample)."""

    stats: Mapping[str, Mapping[str, RailStats]]

    def to_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{window: {rail: {min, median, max, samples}}}`` for ``run.json``."""
        return {key: {rail: s.to_dict() for rail, s in rails.items()} for key, rails in self.stats.items()}

    def to_frame(
        self, stats: Sequence[str] = ("min", "median", "max"), rails: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One row per window set (index ``window``), columns ``<rail>_<stat>``, e.g. ``gpu_freq_hz_median``.

        Args:
            stats: which of min, median, max to include.
            rails: which rails (default: every rail seen), e.g. to keep ``layers.csv`` narrow.
        """
        rows = {}
        for key, per_rail in self.stats.items():
            row: dict[str, float] = {}
            for rail, s in per_rail.items():
                if rails is not None and rail not in rails:
                    continue
                for stat in stats:
                    row[f"{rail}_{stat}"] = float(getattr(s, stat))
            rows[key] = row
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "window"
        return frame


def summarize(timelines: Any, windows: Mapping[str, Sequence[Span]]) -> ContextSummary:
    """Min / median / max of every rail over every named window set.

    Args:
        timelines: one timeline or an iterable of them (anything :func:`as_timeline` accepts).
        windows: name → spans on the monotonic clock, e.g. ``{"run": run_spans, "features.0": layer_spans}``.

    Returns:
        The summary; a rail with no non-gap sample in a window set is left out of that set.
    """
    if isinstance(timelines, (Timeline, pd.DataFrame)) or hasattr(timelines, "rails"):
        timelines = [timelines]
    converted = [as_timeline(t) for t in timelines]
    result: dict[str, dict[str, RailStats]] = {}
    for key, spans in windows.items():
        per_rail: dict[str, RailStats] = {}
        for timeline in converted:
            for column, rail in enumerate(timeline.rails):
                index = samples_in(timeline.t_ns, spans, interval=is_interval_rail(rail))
                values = timeline.values[index, column]
                values = values[~np.isnan(values)]
                if values.size:
                    per_rail[rail] = RailStats(
                        min=float(values.min()),
                        median=float(np.median(values)),
                        max=float(values.max()),
                        samples=int(values.size),
                    )
        result[key] = per_rail
    return ContextSummary(result)


def record(channel: Channel, *, samples: int, period_s: float) -> Timeline:
    """Read a channel ``samples`` times, ``period_s`` apart, in this thread (gaps are left out).

    A small synchronous recorder for ``synergy system`` and tests; measurements use the background sampler.
    """
    readings = []
    for i in range(samples):
        if i:
            time.sleep(period_s)
        try:
            readings.append(channel.read())
        except ChannelReadError:
            continue
    return Timeline.from_readings(channel.rails, readings)
