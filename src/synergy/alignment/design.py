"""The linear measurement model: sensor readings as windows over a piecewise-constant power timeline.

Time is cut into *segments*, each carrying one unknown constant power: a layer, the runtime's overhead
inside an inference (the gaps between layers), or idle (outside inferences). A sensor reading is a linear
functional of that power (``docs/sensors.md`` §5):

- an energy **counter** change is ``∫ p`` over the interval since the previous change;
- a **box**-filtered value is the mean of ``p`` over ``[u − w, u]``, latched at ``u``;
- an **ema** value is ``∫ p(s) e^{−(u−s)/τ}/τ ds`` (truncated at 20 τ);
- an **instant** value is ``p(t)``.

The instant a sensor latched a new value (a counter tick, a rail update) is not observable: the sampler only
sees that the value differs from the previous poll. It lies in ``(max(t_prev, t − P), t]`` for poll time
``t``, previous poll ``t_prev`` and hardware update period ``P``; the midpoint of that interval is used, whose
error is zero-mean when inferences start at random phases of the sensor (the runtimes add random pauses).

Each reading becomes one row of the design matrix ``A`` (columns: the unknown powers), built from the
overlaps of its window with the segments, weighted by its kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.alignment.events import LayerEvents
from synergy.errors import AlignmentError
from synergy.sensors.base import FilterModel

__all__ = [
    "Observations",
    "Segments",
    "build_design",
    "build_segments",
    "observations_from_changes",
    "observations_from_samples",
]

FloatArray = npt.NDArray[np.floating[Any]]

#: EMA kernels are truncated this many time constants back (e^-20 ≈ 2e-9).
EMA_SPAN = 20.0
_FAR = 1e12  # seconds; stands for ±infinity at the ends of the timeline


@dataclass(frozen=True)
class Segments:
    """Contiguous segments covering all time, each labelled with the index of its unknown power.

    Not a time series of readings (that is :class:`synergy.sampling.Timeline`): the piecewise-constant
    layout of the unknowns that the readings are windows over.

    Attributes:
        origin_ns: monotonic ns of time 0; every time here is seconds since it.
        start_s: segment starts (sorted; the first is −∞ in effect).
        end_s: segment ends (``end_s[k] == start_s[k+1]``).
        label: unknown index of each segment: ``0..L−1`` layers, ``L`` overhead, ``L+1`` idle.
        n_layers: ``L``.
    """

    origin_ns: int
    start_s: FloatArray
    end_s: FloatArray
    label: npt.NDArray[np.int64]
    n_layers: int

    @property
    def overhead(self) -> int:
        """Column of the in-inference overhead power (gaps between layers)."""
        return self.n_layers

    @property
    def idle(self) -> int:
        """Column of the idle power (outside inferences)."""
        return self.n_layers + 1

    @property
    def n_unknowns(self) -> int:
        """Number of columns of the design matrix."""
        return self.n_layers + 2

    def label_at(self, t_s: FloatArray) -> npt.NDArray[np.int64]:
        """The unknown in force at each time."""
        k = np.searchsorted(self.start_s, t_s, side="right") - 1
        return self.label[np.clip(k, 0, len(self.label) - 1)]


def build_segments(events: LayerEvents, origin_ns: int) -> Segments:
    """Cut time into labelled segments from the layer events and run windows.

    Events overlapping a previous event of the same run are clipped to start at its end (ORT's µs rounding);
    a run window is widened to contain its events.

    Args:
        events: the layer events of all runs.
        origin_ns: monotonic ns taken as time 0.

    Raises:
        AlignmentError: runs overlap each other.
    """
    n_layers = len(events.layers)
    overhead, idle = n_layers, n_layers + 1
    run_start = events.run_start_ns.copy()
    run_end = events.run_end_ns.copy()
    if len(events.run):
        first = np.full(events.n_runs, np.iinfo(np.int64).max)
        last = np.full(events.n_runs, np.iinfo(np.int64).min)
        np.minimum.at(first, events.run, events.start_ns)
        np.maximum.at(last, events.run, events.end_ns)
        run_start = np.minimum(run_start, first)
        run_end = np.maximum(run_end, last)
    order_runs = np.argsort(run_start, kind="stable")
    if np.any(run_start[order_runs][1:] < run_end[order_runs][:-1]):
        raise AlignmentError("two runs overlap in time; runs must be executed one after another")

    # Clip overlapping events (sorted by start; runs do not overlap, so a running max of ends is per run).
    order = np.argsort(events.start_ns, kind="stable")
    start = events.start_ns[order]
    end = events.end_ns[order]
    label = events.layer[order]
    if len(start) > 1:
        previous_end = np.r_[np.iinfo(np.int64).min, np.maximum.accumulate(end)[:-1]]
        start = np.maximum(start, previous_end)
    keep = end > start
    start, end, label = start[keep], end[keep], label[keep]

    # Change points: (time, label after, priority for ties).
    times = np.concatenate([run_start, end, start, run_end])
    labels = np.concatenate(
        [np.full(len(run_start), overhead), np.full(len(end), overhead), label, np.full(len(run_end), idle)]
    ).astype(np.int64)
    priority = np.concatenate(
        [np.zeros(len(run_start)), np.ones(len(end)), np.full(len(start), 2), np.full(len(run_end), 3)]
    )
    order = np.lexsort((priority, times))
    t_s = (times[order] - origin_ns) * 1e-9
    labels = labels[order]
    seg_start = np.concatenate([[-_FAR], t_s])
    seg_end = np.concatenate([t_s, [_FAR]])
    seg_label = np.concatenate([[idle], labels])
    nonempty = seg_end > seg_start
    return Segments(
        origin_ns=origin_ns,
        start_s=seg_start[nonempty],
        end_s=seg_end[nonempty],
        label=seg_label[nonempty],
        n_layers=n_layers,
    )


@dataclass(frozen=True)
class Observations:
    """Sensor readings as linear measurements over known windows.

    Attributes:
        kind: ``counter``, ``box``, ``ema`` or ``instant``.
        start_s: window start, seconds since the timeline origin (for ``instant``: the read time).
        end_s: window end (the latch or read time).
        value: the measured quantity: joules for ``counter`` (an increment), watts otherwise.
        tau_s: EMA time constant (``ema`` only).
        knot_t_s: times of the value series used for direct integration (change instants or latch times).
        knot_value: the series: cumulative joules (``counter``) or watts.
        knot_sd_s: standard deviation of each knot's time where it is only known to lie in its bracket (a
            change not on a fitted grid: the bracket's width over √12), s; ``None`` where the knots lie on
            a fitted grid.
    """

    kind: str
    start_s: FloatArray
    end_s: FloatArray
    value: FloatArray
    tau_s: float = 0.0
    knot_t_s: FloatArray | None = None
    knot_value: FloatArray | None = None
    knot_sd_s: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.value)

    def shifted(self, lag_s: float) -> Observations:
        """The same readings with every window and knot ``lag_s`` seconds earlier."""
        if lag_s == 0:
            return self
        knots = None if self.knot_t_s is None else self.knot_t_s - lag_s
        return replace(self, start_s=self.start_s - lag_s, end_s=self.end_s - lag_s, knot_t_s=knots)

    def until(self, t_s: float) -> Observations:
        """The readings whose window ends by ``t_s``, and the knots up to it."""
        keep = self.end_s <= t_s
        if self.knot_t_s is None or self.knot_value is None:
            return self.select(keep)
        knots = self.knot_t_s <= t_s
        sd = None if self.knot_sd_s is None else self.knot_sd_s[knots]
        return replace(
            self.select(keep), knot_t_s=self.knot_t_s[knots], knot_value=self.knot_value[knots], knot_sd_s=sd
        )

    def window_sd_s(self) -> FloatArray:
        """Standard deviation of each window's length from the timing of its two knots, s (0 on a grid)."""
        if self.knot_sd_s is None or self.knot_t_s is None or len(self.knot_t_s) < 2:
            return np.zeros(len(self))
        end = np.clip(np.searchsorted(self.knot_t_s, self.end_s), 1, len(self.knot_t_s) - 1)
        return np.asarray(np.hypot(self.knot_sd_s[end - 1], self.knot_sd_s[end]), dtype=np.float64)

    def select(self, keep: npt.NDArray[np.bool_]) -> Observations:
        """Only the readings where ``keep`` is true (the knots, a description of the whole series, stay)."""
        return replace(self, start_s=self.start_s[keep], end_s=self.end_s[keep], value=self.value[keep])


def _latch_times(
    t_now: FloatArray, t_prev: FloatArray, period_s: float | None
) -> tuple[FloatArray, FloatArray | None, npt.NDArray[np.bool_]]:
    """Estimate the instant each observed change happened.

    The change lies in ``(t_prev, t]`` (and after ``t − P``). Sensors latch on a regular hardware period
    (RAPL ticks, INA3221 conversion cycles), so the latches are fitted to a local grid ``φ + nP``
    (:func:`_periodic_fit`); where the changes are not periodic, the midpoint of the bracket is used.

    Returns:
        ``(latch times, grid tick numbers or None, which changes to keep)``: a change the grid puts on the
        same tick as the next one is dropped (one of the two reads was stamped wrongly), which for a counter
        merges its increment into the next one.
    """
    lower = t_prev if period_s is None or period_s <= 0 else np.maximum(t_prev, t_now - period_s)
    middle = np.asarray(0.5 * (lower + t_now), dtype=np.float64)
    fit = _periodic_fit(middle, t_prev, t_now)
    if fit is None:
        return middle, None, np.ones(len(middle), dtype=bool)
    return fit


def _stab(lo: FloatArray, hi: FloatArray) -> float:
    """The point inside the most intervals ``(lo, hi]``: the middle of the best-covered stretch."""
    points = np.concatenate([lo, hi])
    step = np.concatenate([np.ones(len(lo)), -np.ones(len(hi))])
    order = np.lexsort((step, points))  # at a tie an interval closes before another opens
    points, cover = points[order], np.cumsum(step[order])
    k = int(np.argmax(cover))
    return float(0.5 * (points[k] + points[min(k + 1, len(points) - 1)]))


def _theil_sen(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Median-of-pairwise-slopes line ``(slope, intercept)`` through a few points."""
    i, j = np.triu_indices(len(x), 1)
    ok = x[j] != x[i]
    slope = float(np.median((y[j] - y[i])[ok] / (x[j] - x[i])[ok])) if ok.any() else 0.0
    return slope, float(np.median(y - slope * x))


def _chunk_grid(
    middle: FloatArray, prev: FloatArray, first: FloatArray, period0: float
) -> tuple[FloatArray, float] | None:
    """The grid instants of one chunk of consecutive changes: ``(latch of each change, period)``.

    Tick numbers come from rounding the steps between bracket midpoints, over the changes whose steps in
    and out are close to whole periods; a least-squares line through their midpoints numbers every change
    again and leaves out changes more than 0.3 periods off it (a read that was stamped late or early),
    three times over. The line is then moved onto the brackets themselves:
    in each quarter of the chunk the offset covered by the most brackets ``(last old read, first new
    read]`` (one read stamped wrongly cannot move it, unlike an envelope of extreme reads), and a
    median-of-slopes line through the four offsets.
    """
    ratio = np.diff(middle) / period0
    whole = (ratio > 0.5) & (np.abs(ratio - np.round(ratio)) < 0.3)
    trusted = np.flatnonzero(np.r_[True, whole] & np.r_[whole, True])
    if len(trusted) < 8:
        return None
    # Number the changes whose steps in and out are whole periods; a change next to a step that is not
    # (a read stamped late or early) is numbered from the line below, and mostly left out by it.
    n_trusted = np.concatenate([[0.0], np.cumsum(np.round(np.diff(middle[trusted]) / period0))])
    keep = np.zeros(len(middle), dtype=bool)
    keep[trusted] = True
    n = np.interp(np.arange(len(middle)), trusted, n_trusted)
    slope, intercept = period0, 0.0
    for _ in range(3):
        if keep.sum() < 8 or np.ptp(n[keep]) <= 0:
            return None
        slope, intercept = (float(v) for v in np.polyfit(n[keep], middle[keep], 1))
        if slope <= 0:
            return None
        n = np.round((middle - intercept) / slope)
        keep = np.abs(middle - intercept - slope * n) < 0.3 * slope
    line = intercept + slope * n
    lo, hi = prev - line, first - line
    idx = np.flatnonzero(keep)
    quarters = [q for q in np.array_split(idx, 4) if len(q) >= 8]
    if len(quarters) >= 2:
        x = np.asarray([float(np.mean(n[q])) for q in quarters])
        y = np.asarray([_stab(lo[q], hi[q]) for q in quarters])
        b, a = _theil_sen(x, y)
    else:
        b, a = 0.0, _stab(lo[idx], hi[idx])
    return np.asarray(line + a + b * n, dtype=np.float64), slope + b


def _periodic_fit(
    middle: FloatArray, prev: FloatArray, first: FloatArray, chunk: int = 256
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]] | None:
    """Fit change instants to a regular grid: ``(times, tick numbers, changes kept)``, or ``None``.

    The grid is fitted chunk by chunk (:func:`_chunk_grid`), so a hardware clock that drifts against the
    monotonic clock is followed. A few steps that do not fit (a poll that came late) are tolerated; the
    fit is refused (``None``: the sensor is not periodic) when under 60 % of the steps are close to whole
    periods, or when under 80 % of the brackets hold their fitted instant.

    Args:
        middle: midpoint of each change's bracket.
        prev: last read of the previous value (the bracket's start).
        first: first read of the new value (the bracket's end).
        chunk: changes per fitted piece of grid.
    """
    m = len(middle)
    if m < 16:
        return None
    step = np.diff(middle)
    period0 = float(np.median(step))
    if not period0 > 0:
        return None
    ratio = step / period0
    near = (np.round(ratio) >= 1) & (np.abs(ratio - np.round(ratio)) < 0.3)
    if np.mean(near) < 0.6:
        return None
    fitted = np.empty(m)
    period = np.empty(m)
    for lo in range(0, m, chunk):
        hi = min(m, lo + chunk)
        if hi - lo < chunk // 2 and lo > 0:
            lo = max(0, hi - chunk)
        piece = _chunk_grid(middle[lo:hi], prev[lo:hi], first[lo:hi], period0)
        if piece is None:
            return None
        fitted[lo:hi], period[lo:hi] = piece
    tolerance = 0.05 * period
    inside = (fitted > prev - tolerance) & (fitted <= first + tolerance)
    if np.mean(inside) < 0.8:
        return None
    gaps = np.round(np.diff(fitted) / period[1:])
    keep = np.r_[gaps > 0, True]  # of two changes put on one tick, the later value is the tick's
    n = np.concatenate([[0.0], np.cumsum(np.maximum(gaps, 0))])
    return fitted, n, keep


@dataclass(frozen=True)
class _Changes:
    """Value changes as a sampler sees them (seconds since the origin).

    ``t_now[i]``: first read of value ``value[i]``; ``t_prev[i]``: last read of the previous value;
    ``first_t``/``first_value``: the first read and its value (before any change); ``last_t``: the last read.
    """

    t_now: FloatArray
    t_prev: FloatArray
    value: FloatArray
    first_t: float
    first_value: float
    last_t: float


def _merge_dropped(ch: _Changes, keep: npt.NDArray[np.bool_]) -> _Changes:
    """The changes left after dropping some: each kept change's bracket starts where a dropped one's did."""
    if keep.all():
        return ch
    t_prev = ch.t_prev.copy()
    for i in np.flatnonzero(~keep):
        if i + 1 < len(t_prev):
            t_prev[i + 1] = min(t_prev[i + 1], t_prev[i])
    return replace(ch, t_now=ch.t_now[keep], t_prev=t_prev[keep], value=ch.value[keep])


def _fill_grid(ch: _Changes, latch: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Add the latches that repeated the previous value (invisible as changes) on a fitted grid.

    Between two observed changes ``Δn`` ticks apart the sensor latched ``Δn − 1`` times without changing
    its value; before the first and after the last change it latched on the same grid. An added latch keeps
    the value held at that time, and is added only when reads of that value continue at least half a period
    after it (the fitted time may be a little early) and began no later than a period after it.
    """
    period = float(np.median(np.diff(latch) / np.diff(n)))
    pieces = [latch]
    segment = [np.arange(len(latch))]  # index of the value held just after each latch (-1: initial value)
    gaps = np.diff(n).astype(np.int64)
    for m in np.flatnonzero(gaps > 1):
        k = np.arange(1, gaps[m])
        pieces.append(latch[m] + k * (latch[m + 1] - latch[m]) / gaps[m])
        segment.append(np.full(len(k), m))
    before = np.arange(1, int((latch[0] - ch.first_t) / period) + 1)
    pieces.append(latch[0] - before * period)
    segment.append(np.full(len(before), -1))
    after = np.arange(1, int((ch.last_t - latch[-1]) / period) + 1)
    pieces.append(latch[-1] + after * period)
    segment.append(np.full(len(after), len(latch) - 1))
    grid = np.concatenate(pieces)
    seg = np.concatenate(segment)
    observed = np.zeros(len(grid), dtype=bool)
    observed[: len(latch)] = True
    # Reads of the value held in each segment span [hold_start, hold_end].
    hold_start = np.where(seg >= 0, ch.t_now[np.clip(seg, 0, None)], ch.first_t)
    next_prev = np.concatenate([ch.t_prev[1:], [ch.last_t]])
    hold_end = np.where(seg >= 0, next_prev[np.clip(seg, 0, None)], ch.t_prev[0])
    value = np.where(seg >= 0, ch.value[np.clip(seg, 0, None)], ch.first_value)
    confirmed = (grid + 0.5 * period <= hold_end) & (grid + period >= hold_start)
    keep = observed | confirmed
    order = np.argsort(grid[keep], kind="stable")
    return grid[keep][order], value[keep][order]


def _observations(
    ch: _Changes, *, counter: bool, filter_model: FilterModel, update_period_s: float | None
) -> Observations:
    kind = "counter" if counter else filter_model.kind
    if kind == "counter":
        knots, cumulative, sd = _counter_knots(ch, update_period_s)
        return Observations(
            "counter",
            knots[:-1],
            knots[1:],
            np.diff(cumulative),
            knot_t_s=knots,
            knot_value=cumulative,
            knot_sd_s=sd,
        )
    if len(ch.t_now) < 1:
        raise AlignmentError("the power sensor never changed its value; run longer or check the sensor")
    window = filter_model.window_s or update_period_s or 0.0
    if window <= 0:
        raise AlignmentError(f"the {kind} filter needs a window or time constant; give the sensor's window")
    period = update_period_s if update_period_s else window
    latch, ticks, keep = _latch_times(ch.t_now, ch.t_prev, period)
    ch, latch = _merge_dropped(ch, keep), latch[keep]
    value: FloatArray = ch.value
    if ticks is not None:
        latch, value = _fill_grid(ch, latch, ticks[keep])
    if kind == "box":
        return Observations("box", latch - window, latch, value, knot_t_s=latch, knot_value=value)
    if kind == "ema":
        return Observations(
            "ema", latch - EMA_SPAN * window, latch, value, tau_s=window, knot_t_s=latch, knot_value=value
        )
    raise AlignmentError(f"unknown sensor filter kind {kind!r}; use counter, box, ema or instant")


def observations_from_samples(
    t_ns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    counter: bool,
    filter_model: FilterModel,
    update_period_s: float | None,
    origin_ns: int,
) -> Observations:
    """Turn every polled value (repeats included) into window observations.

    Args:
        t_ns: monotonic ns of each poll (increasing).
        values: the total value at each poll: cumulative joules for a counter, watts otherwise; NaN marks a
            failed read (a gap), which is skipped.
        counter: whether the sensor is a cumulative energy counter.
        filter_model: how a power value relates to the true power (ignored for counters).
        update_period_s: the hardware update period, seconds (``None`` if unknown: bounds latch times by the
            previous poll only).
        origin_ns: monotonic ns of time 0 (the timeline's origin).

    Raises:
        AlignmentError: fewer than two usable readings.
    """
    t = np.asarray(t_ns, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    if len(t) < 2:
        raise AlignmentError("fewer than two sensor readings were taken; run longer or poll faster")
    if np.any(np.diff(t) <= 0):
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        keep = np.r_[True, np.diff(t) > 0]
        t, v = t[keep], v[keep]
    t_s = (t - origin_ns) * 1e-9
    if not counter and filter_model.kind == "instant":
        return Observations("instant", t_s, t_s, v, knot_t_s=t_s, knot_value=v)
    changed = np.flatnonzero(np.diff(v) != 0) + 1
    changes = _Changes(t_s[changed], t_s[changed - 1], v[changed], float(t_s[0]), float(v[0]), float(t_s[-1]))
    return _observations(changes, counter=counter, filter_model=filter_model, update_period_s=update_period_s)


def observations_from_changes(
    t_ns: npt.ArrayLike,
    t_prev_ns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    t_end_ns: int,
    counter: bool,
    filter_model: FilterModel,
    update_period_s: float | None,
    origin_ns: int,
) -> Observations:
    """Window observations from a changes-only series (what :class:`synergy.sampling.Sampler` stores).

    Args:
        t_ns: first read of each value, ns; row 0 is the first read of all (it anchors the series).
        t_prev_ns: last read of the previous value, ns (row 0: equal to ``t_ns[0]``).
        values: the total value of each row; or, one column per rail, the rails' values (summed, except
            for a counter, see :func:`_counter_rails`).
        t_end_ns: the last good read, ns.
        counter: whether the values are a cumulative energy counter.
        filter_model: how a power value relates to the true power (ignored for counters).
        update_period_s: the hardware update period, s, or ``None``.
        origin_ns: monotonic ns of time 0.

    Raises:
        AlignmentError: fewer than two rows.
    """
    t = np.asarray(t_ns, dtype=np.int64)
    tp = np.asarray(t_prev_ns, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if len(t) < 2:
        raise AlignmentError("fewer than two sensor readings were taken; run longer or poll faster")
    t_s = (t - origin_ns) * 1e-9
    tp_s = (tp - origin_ns) * 1e-9
    t_end_s = (t_end_ns - origin_ns) * 1e-9
    if v.ndim == 2:
        if counter and v.shape[1] > 1:
            return _counter_rails(t_s, tp_s, v, t_end_s, update_period_s)
        v = v.sum(axis=1)
    if not counter and filter_model.kind == "instant":
        return Observations("instant", t_s, t_s, v, knot_t_s=t_s, knot_value=v)
    changes = _Changes(t_s[1:], tp_s[1:], v[1:], float(t_s[0]), float(v[0]), t_end_s)
    return _observations(changes, counter=counter, filter_model=filter_model, update_period_s=update_period_s)


def _counter_knots(ch: _Changes, update_period_s: float | None) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """A counter's latch instants, its value at each (the instants over which its energy accumulated), and
    the standard deviation of each instant where it is not on a fitted grid (``None`` where it is)."""
    if len(ch.t_now) < 2:
        raise AlignmentError("the energy counter changed fewer than twice; run longer")
    latch, ticks, keep = _latch_times(ch.t_now, ch.t_prev, update_period_s)
    ch, latch = _merge_dropped(ch, keep), latch[keep]
    value = ch.value.copy()
    sd: FloatArray | None = None
    if ticks is None:
        lower = ch.t_prev if not update_period_s else np.maximum(ch.t_prev, ch.t_now - update_period_s)
        sd = np.asarray((ch.t_now - lower) / np.sqrt(12.0), dtype=np.float64)
        if update_period_s:
            latch, value, sd = _merge_bunched(latch, value, sd, update_period_s)
    if len(latch) < 2:
        raise AlignmentError("the energy counter changed fewer than twice; run longer")
    return latch, value, sd


#: Changes of a counter closer than this fraction of its update period are one bunch of late publications.
BUNCH_FRACTION = 0.5


def _merge_bunched(
    latch: FloatArray, value: FloatArray, sd: FloatArray, period_s: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Merge counter changes that came closer than :data:`BUNCH_FRACTION` of a period into the last of them.

    A counter accumulates over at least one period between two updates; changes seen closer together are
    updates a late writer published at once (or one update read twice around a stamp error). Their
    increments belong to the periods before them, so each bunch becomes one change at its last instant,
    carrying the bunch's whole increment (the cumulative value there): a late publication is not a burst.
    """
    kept = [0]
    for i in range(1, len(latch)):
        if latch[i] - latch[kept[-1]] < BUNCH_FRACTION * period_s:
            kept[-1] = i  # the earlier change of the bunch: its increment moves into this one
        else:
            kept.append(i)
    keep = np.asarray(kept, dtype=np.int64)
    return latch[keep], value[keep], sd[keep]


def _counter_rails(
    t_s: FloatArray, tp_s: FloatArray, v: FloatArray, t_end_s: float, update_period_s: float | None
) -> Observations:
    """Observations of the sum of several counters, each of which latches on its own grid.

    A row of the sampler's series is a change of *any* rail: the sum's increment between two rows is one
    rail's energy over its own update period, not the total's over the time between the rows (a 1 W rail
    changing between two updates of a 16 W one reads as 2 W, the next update of the 16 W one as a burst).
    So each rail's latches are found from its own changes, and the total is taken at the latches of the rail
    carrying the most energy, every other rail's cumulative energy interpolated there between its own
    latches (energy is conserved; a small rail's power is taken as constant within one of its periods).
    """
    knots: list[tuple[FloatArray, FloatArray, FloatArray | None]] = []
    constant = 0.0
    for r in range(v.shape[1]):
        col = v[:, r]
        changed = np.flatnonzero(np.diff(col) != 0) + 1
        if len(changed) < 2:
            constant += float(col[-1])  # a rail that did not count: no energy, its value only offsets the sum
            continue
        ch = _Changes(t_s[changed], tp_s[changed], col[changed], float(t_s[0]), float(col[0]), t_end_s)
        knots.append(_counter_knots(ch, update_period_s))
    if not knots:
        raise AlignmentError("the energy counter changed fewer than twice; run longer")
    main = int(np.argmax([float(value[-1] - value[0]) for _, value, _ in knots]))
    latch, total, sd = knots[main]
    lo = max(float(k[0]) for k, _, _ in knots)
    hi = min(float(k[-1]) for k, _, _ in knots)
    inside = (latch >= lo) & (latch <= hi)
    if inside.sum() < 2:
        raise AlignmentError("the energy counter's rails overlap in fewer than two updates; run longer")
    latch = latch[inside]
    total = total[inside] + constant
    sd = None if sd is None else sd[inside]
    for i, (k, value, _) in enumerate(knots):
        if i != main:
            total = total + np.interp(latch, k, value)
    return Observations(
        "counter", latch[:-1], latch[1:], np.diff(total), knot_t_s=latch, knot_value=total, knot_sd_s=sd
    )


def build_design(timeline: Segments, obs: Observations) -> tuple[FloatArray, FloatArray]:
    """The design matrix and measurement vector, every row in watts.

    Box rows are means (overlap / window). Counter rows stay integrals (overlap in seconds, increment in
    joules) scaled by one constant, the median window length: dividing each row by its own *estimated*
    length would bias every power upwards by the relative variance of that estimate.

    Returns:
        ``(A, y)`` with ``A`` of shape ``(len(obs), timeline.n_unknowns)``.
    """
    n, j = len(obs), timeline.n_unknowns
    if obs.kind == "instant":
        A0: FloatArray = np.zeros((n, j))
        A0[np.arange(n), timeline.label_at(obs.end_s)] = 1.0
        return A0, obs.value.copy()
    a, b = obs.start_s, obs.end_s
    lo = np.searchsorted(timeline.end_s, a, side="right")
    hi = np.searchsorted(timeline.start_s, b, side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    row = np.repeat(np.arange(n), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seg = lo[row] + (np.arange(total) - offsets[row])
    left = np.maximum(timeline.start_s[seg], a[row])
    right = np.minimum(timeline.end_s[seg], b[row])
    if obs.kind == "ema":
        tau = obs.tau_s
        weight = np.exp(-(b[row] - right) / tau) - np.exp(-(b[row] - left) / tau)
    else:
        weight = right - left
    flat = row * j + timeline.label[seg]
    A: FloatArray = np.bincount(flat, weights=weight, minlength=n * j).reshape(n, j).astype(np.float64)
    y = obs.value.astype(np.float64).copy()
    if obs.kind == "box":
        A /= (b - a)[:, None]
    elif obs.kind == "counter":
        scale = float(np.median(b - a))
        A /= scale
        y /= scale
    return A, y
