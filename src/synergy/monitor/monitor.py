"""Energy of any block of your own code: named windows over one sensor sampled in the background.

A :class:`Monitor` opens the sensor (``auto`` finds one as ``synergy measure`` does) and one
:class:`~synergy.sampling.sampler.Sampler` for its whole life. Windows are named, may overlap and nest,
and cost two clock reads each: their energy is integrated from the sampled timeline the first time it is
asked for, so a loop pays microseconds per window and reads the figures when it wants them.

Example::

    from synergy import Monitor

    with Monitor() as monitor:              # opens the sensor, measures idle power for 1 s
        with monitor.window("infer") as w:
            model(batch)
        print(w.energy_j, w.duration_s, w.flags)
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from synergy.clock import now_ns
from synergy.errors import SamplingError, UsageError
from synergy.monitor.record import Record, Tap
from synergy.monitor.window import FLAGS, Window, WindowEnergy
from synergy.sensors.base import NullSensor, Sensor, SensorKind
from synergy.units import human

__all__ = ["Monitor"]

P = ParamSpec("P")
R = TypeVar("R")

_NAN = float("nan")

#: A counter that does not change for this many update periods around a window is flagged ``stale``.
STALE_PERIODS = 4.0

#: Peak power is the highest mean over bins of this many update periods, and at least ``PEAK_MIN_S``.
PEAK_PERIODS = 10.0
PEAK_MIN_S = 0.1

#: Longest wait for a counter to change after a window's end, seconds (at least 20 update periods).
COUNTER_WAIT_S = 1.0

#: Extra wait for the reads that cover a window's end, beyond two update periods, seconds.
_COVER_MARGIN_S = 0.05


class Monitor:
    """Measure the time and energy of named windows of your own code.

    Args:
        sensor: ``auto`` (the first usable sensor, as ``synergy measure --sensor auto``), ``none``, a
            backend name (``rapl``, ``jetson``, ``nvml``, ``amdgpu``, ``power-supply``), ``trace:FILE``, or an
            open :class:`~synergy.sensors.base.Sensor` (which the monitor then does not close).
        sysfs_root: the directory that replaces ``/`` for sysfs sensors.
        idle_s: how long to sample the idle machine when the monitor starts, seconds; its mean power is
            subtracted in ``dynamic_energy_j`` (0: no idle measurement, unless ``idle_w`` is given).
        idle_w: an idle power to subtract instead of measuring one, W.
        sync_cuda: synchronise CUDA at each window edge (default: when ``torch`` is already imported and a
            CUDA context exists; torch is never imported by the monitor).
        max_windows: ended windows kept in :attr:`windows` (the oldest are dropped).
        history_s: how much of the sensor's readings to keep in memory, seconds at 1 kHz updates.
        **sampler_options: passed to :class:`~synergy.sampling.sampler.Sampler` (``poll_period_s``, ...).

    Raises:
        UsageError: an unknown sensor name.
        SensorUnavailable, SensorPermissionError: the named sensor is absent or unreadable.
    """

    def __init__(
        self,
        sensor: str | Sensor = "auto",
        *,
        sysfs_root: str | Path = Path("/"),
        idle_s: float = 1.0,
        idle_w: float | None = None,
        sync_cuda: bool | None = None,
        max_windows: int = 100_000,
        history_s: float = 3600.0,
        **sampler_options: Any,
    ) -> None:
        from synergy.sampling.sampler import Sampler
        from synergy.sensors.discovery import open_sensor

        if idle_s < 0:
            raise UsageError(f"idle_s must be at least 0, got {idle_s}")
        self._owns_sensor = isinstance(sensor, str)
        self.sensor: Sensor = open_sensor(sensor, root=Path(sysfs_root)) if isinstance(sensor, str) else sensor
        self.sync_cuda = sync_cuda
        self.windows: collections.deque[Window] = collections.deque(maxlen=max(1, max_windows))
        """Ended windows, oldest first."""
        self._open: dict[str, Window] = {}
        self._record = Record(self.sensor, max_rows=int(history_s * 1000))
        self._final: Any = None  # the sampler's full timeline once stopped
        self._closed = False
        self.idle: Any = None
        """The idle power measured at start (:class:`~synergy.sampling.idle.IdlePower`), or ``None``."""
        self.idle_w = float(idle_w) if idle_w is not None else _NAN
        self._sampler: Any = None
        self.energy_unavailable: str | None = self.sensor.reason if isinstance(self.sensor, NullSensor) else None
        """Why windows have no energy (``None`` when a sensor is sampled)."""
        if self.energy_unavailable is None:
            self._sampler = Sampler(Tap(self.sensor, self._record), **sampler_options)
            try:
                self._sampler.start()
            except BaseException:
                self._close_sensor()
                raise
            if idle_s > 0 and idle_w is None:
                self._measure_idle(idle_s)
        # A monitor left open (a notebook cell re-run, a lost reference) still releases its sensor.
        self._finalizer = weakref.finalize(self, _release, self._sampler, self.sensor if self._owns_sensor else None)

    # ------------------------------------------------------------------ lifecycle
    def _measure_idle(self, idle_s: float) -> None:
        from synergy.sampling.idle import idle_from_timeline

        t0 = now_ns()
        time.sleep(idle_s)
        t1 = now_ns()
        self._wait_covered(t1)
        timeline = self._timeline(t0, t1)
        if timeline is None or len(timeline) < 2:
            return
        lo, hi = timeline.coverage_ns
        with contextlib.suppress(SamplingError, ValueError):
            self.idle = idle_from_timeline(timeline, max(t0, lo), min(t1, hi))
            self.idle_w = self.idle.mean_w

    def close(self) -> None:
        """Stop sampling and close the sensor (if the monitor opened it); windows stay readable. Idempotent."""
        if self._closed:
            return
        if self.windows and self.windows[-1].t1_ns is not None:
            self._wait_covered(self.windows[-1].t1_ns)  # so that every ended window can be resolved
        self._closed = True
        try:
            if self._sampler is not None:
                result = self._sampler.stop()
                self._final = result.timeline(self.sensor.name)
        finally:
            self._close_sensor()

    def _close_sensor(self) -> None:
        if self._owns_sensor:
            self.sensor.close()
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def timeline(self) -> Any:
        """The whole sampled :class:`~synergy.sampling.timeline.Timeline` after :meth:`close` (else ``None``)."""
        return self._final

    # ------------------------------------------------------------------ windows
    def _sync(self) -> None:
        if self.sync_cuda is False:
            return
        torch = sys.modules.get("torch")
        if torch is None:
            return
        cuda = getattr(torch, "cuda", None)
        if cuda is not None and cuda.is_available() and cuda.is_initialized():
            cuda.synchronize()

    def begin_window(self, name: str) -> Window:
        """Open the window ``name`` now; windows of other names may be open too (overlapping, nested).

        Raises:
            UsageError: a window of that name is already open, or the monitor is closed.
        """
        if name in self._open:
            raise UsageError(f"window {name!r} is already open; end it first, or give this one another name")
        if self._closed:
            raise UsageError("the monitor is closed; make a new Monitor to measure more")
        self._sync()
        window = Window(name, now_ns(), None, self)
        self._open[name] = window
        return window

    def end_window(self, name: str) -> Window:
        """Close the window ``name`` now and return it (its energy is computed when first read).

        Raises:
            UsageError: no window of that name is open.
        """
        self._sync()
        t1 = now_ns()
        window = self._open.pop(name, None)
        if window is None:
            raise UsageError(f"no window {name!r} is open; open it with begin_window({name!r}) first")
        window.t1_ns = t1
        self.windows.append(window)
        return window

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """``with monitor.window("infer") as w: ...``; the window ends even if the block raises."""
        window = self.begin_window(name)
        try:
            yield window
        finally:
            if self._open.get(name) is window:
                self.end_window(name)

    def measure(self, name: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator: every call of the function is a window (named after the function by default).

        The windows go to :attr:`windows`; the last one is the decorated function's ``last_window``.
        """

        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            label: str = name or str(getattr(func, "__qualname__", "function"))

            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                with self.window(label) as w:
                    try:
                        return func(*args, **kwargs)
                    finally:
                        wrapper.last_window = w  # type: ignore[attr-defined]

            wrapper.last_window = None  # type: ignore[attr-defined]
            return wrapper

        return decorate

    # ------------------------------------------------------------------ resolution
    def update_period_s(self) -> float | None:
        """The sensor's update period: stated, else as observed so far, seconds (``None`` if unknown)."""
        stated = self.sensor.update_period_s
        if stated:
            return float(stated)
        if self._final is not None and self._final.update_period_s:
            return float(self._final.update_period_s)
        return self._record.observed_period_s()

    def _wait_covered(self, t1_ns: int) -> None:
        """Wait (bounded) until the readings settle the window's end.

        A counter must have changed twice after ``t1_ns`` (its value held at ``t1_ns`` says nothing until
        the next increment); a power sensor must have been read two update periods past it.
        """
        if self._closed or self._sampler is None:
            return
        period = self.update_period_s() or 0.01
        counter = self.sensor.kind is SensorKind.ENERGY
        limit_s = max(COUNTER_WAIT_S, 20 * period) if counter else 4 * period + _COVER_MARGIN_S
        deadline = now_ns() + int(limit_s * 1e9)
        target = t1_ns + int(2 * period * 1e9)
        while now_ns() < deadline and self._sampler.running:
            if counter and self._record.changes_since(t1_ns) >= 2:
                return
            if not counter and self._record.last_read_ns >= target:
                return
            time.sleep(min(period / 4, 0.005))

    def _timeline(self, t0_ns: int, t1_ns: int) -> Any:
        if self._final is not None:
            return self._final
        return self._record.timeline(t0_ns, t1_ns, self.update_period_s())

    def _resolve(self, window: Window) -> WindowEnergy:
        assert window.t1_ns is not None
        t0, t1 = window.t0_ns, window.t1_ns
        rails = tuple(self.sensor.rails)
        if self.energy_unavailable is not None:
            return WindowEnergy.unknown(rails, self.idle_w, "no-energy", f"no energy: {self.energy_unavailable}")
        self._wait_covered(t1)
        timeline = self._timeline(t0, t1)
        return window_energy(timeline, t0, t1, self.idle_w, self.update_period_s())

    def to_frame(self) -> Any:
        """The ended windows as a data frame: one row each, figures in SI units."""
        import pandas as pd

        rows = []
        for w in self.windows:
            d = w.to_dict()
            rails = d.pop("rails_j")
            d.pop("rails_peak_w")
            d["flags"] = ",".join(d["flags"])
            d["notes"] = " | ".join(d["notes"])
            rows.append({**d, **{f"{rail}_j": value for rail, value in rails.items()}})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "sampling"
        idle = f", idle {self.idle_w:.3g} W" if math.isfinite(self.idle_w) else ""
        return f"Monitor({self.sensor.name}, {state}, {len(self.windows)} window(s){idle})"


def _release(sampler: Any, sensor: Sensor | None) -> None:
    """Finalizer of an unclosed monitor: stop its sampler, close the sensor it opened."""
    with contextlib.suppress(Exception):
        if sampler is not None:
            sampler.close()
    if sensor is not None:
        with contextlib.suppress(Exception):
            sensor.close()


def window_energy(
    timeline: Any, t0_ns: int, t1_ns: int, idle_w: float = _NAN, update_period_s: float | None = None
) -> WindowEnergy:
    """The energy figures of ``[t0_ns, t1_ns]`` from a power or energy timeline, with their quality flags.

    The estimate integrates the timeline's model with interpolated edges (a counter's energy is spread
    evenly over each update). Its error bound comes from the updates that straddle the edges: the true
    energy lies between the increments wholly inside the window and those that touch it.
    """
    import numpy as np

    rails = tuple(timeline.rails) if timeline is not None else ()
    duration_s = (t1_ns - t0_ns) / 1e9
    flags: list[str] = []
    notes: list[str] = []
    if timeline is None or len(timeline) < 2:
        return WindowEnergy.unknown(rails, idle_w, "not-covered", FLAGS["not-covered"] + " (fewer than two readings)")
    lo, hi = timeline.coverage_ns
    if t0_ns < lo or t1_ns > hi:
        note = f"{FLAGS['not-covered']}: readings span [{lo}, {hi}] ns, the window [{t0_ns}, {t1_ns}] ns"
        if timeline.end_reason:
            note += f"; the sensor ended: {timeline.end_reason}"
        return WindowEnergy.unknown(rails, idle_w, "not-covered", note)

    energy = float(timeline.energy_j(t0_ns, t1_ns, edges="interpolate"))
    rails_j = {r: float(timeline.energy_j(t0_ns, t1_ns, rail=r, edges="interpolate")) for r in rails}
    c = timeline.t_change_ns
    inner = (int(np.searchsorted(c, t0_ns, side="left")), int(np.searchsorted(c, t1_ns, side="right")) - 1)
    outer = (
        max(int(np.searchsorted(c, t0_ns, side="right")) - 1, 0),
        min(int(np.searchsorted(c, t1_ns, side="left")), len(c) - 1),
    )
    starts = np.array([c[inner[0]], c[outer[0]]], dtype=np.int64)
    ends = np.array([c[max(inner[1], inner[0])], c[outer[1]]], dtype=np.int64)
    low, high = (float(x) for x in timeline.energy_j(starts, ends, edges="interpolate"))
    low = low if inner[1] > inner[0] else 0.0
    error = max(energy - low, high - energy, 0.0)
    period = update_period_s or timeline.update_period_s or timeline.sensor_period_s()
    if timeline.model != "counter" and period:
        # A power sensor repeats its value while the power holds, so its stored changes are not its updates:
        # bound each edge by the energy of one update period around it.
        error = _edge_bound(timeline, t0_ns, t1_ns, int(period * 1e9), energy)
    gaps = timeline.gaps_in(t0_ns, t1_ns)
    if gaps:
        flags.append("gaps")
        notes.append(f"{FLAGS['gaps']}: {sum(g.n_errors for g in gaps)} read(s), first: {gaps[0].reason}")
    # The updates that straddle the edges decide the estimate; one far longer than a period is a late sensor.
    edge_spans = [c[min(inner[0], outer[1])] - c[outer[0]], c[outer[1]] - c[max(inner[1], outer[0])]]
    longest_s = float(max(edge_spans)) / 1e9
    held = timeline.model == "counter" and _held_at_end(timeline, outer[1])
    if held:  # no increment after the end yet: what the counter will add for the window is unknown
        error = _NAN
    if held or (period and timeline.model == "counter" and longest_s > STALE_PERIODS * period):
        flags.append("stale")
        how = "no update after the window's end was read" if held else f"{longest_s * 1e3:.3g} ms without an update"
        notes.append(f"{FLAGS['stale']}: {how} (update period {(period or 0) * 1e3:.3g} ms)")
    if period and duration_s < period:
        flags.insert(0, "short")
        bound = f"the true energy lies within ±{human(error, 'J')} of it" if math.isfinite(error) else "no bound yet"
        notes.insert(
            0,
            f"shorter than the sensor's update period ({human(period, 's')}): the energy is interpolated across "
            f"the update(s) spanning it, assuming constant power within an update; {bound}",
        )
    power = energy / duration_s if duration_s > 0 else _NAN
    peak_w, rails_peak = _peaks(timeline, t0_ns, t1_ns, rails, max(PEAK_PERIODS * (period or 0.01), PEAK_MIN_S))
    if not math.isfinite(idle_w):
        flags.append("idle-unknown")
        notes.append(FLAGS["idle-unknown"])
    dynamic = energy - idle_w * duration_s if math.isfinite(idle_w) else _NAN
    return WindowEnergy(energy, rails_j, error, power, peak_w, rails_peak, idle_w, dynamic, tuple(flags), tuple(notes))


def _edge_bound(timeline: Any, t0_ns: int, t1_ns: int, period_ns: int, energy: float) -> float:
    """Error bound of a power sensor's window: the energy of the update around each edge (one if they share it)."""
    lo, hi = timeline.coverage_ns

    def update_energy(t_ns: int) -> float:
        a = max(lo, t_ns - period_ns // 2)
        b = min(hi, a + period_ns)
        return float(timeline.energy_j(max(lo, b - period_ns), b, edges="interpolate"))

    if t1_ns - t0_ns < period_ns:
        one = update_energy((t0_ns + t1_ns) // 2)
        return max(one - energy, energy)
    return update_energy(t0_ns) + update_energy(t1_ns)


def _held_at_end(timeline: Any, index: int) -> bool:
    """Whether row ``index`` only repeats the value before it: the closing row of a counter that stopped."""
    if index < len(timeline) - 1 or index < 1:
        return False
    return bool((timeline.values[index] == timeline.values[index - 1]).all())


def _peaks(
    timeline: Any, t0_ns: int, t1_ns: int, rails: tuple[str, ...], bin_s: float
) -> tuple[float, dict[str, float]]:
    """Highest mean power over consecutive bins of ``bin_s`` inside the window: total and per rail, W.

    Bins of several update periods keep one late or early update from passing for a power spike; a window
    shorter than one bin gives its mean power.
    """
    import numpy as np

    n = max(int((t1_ns - t0_ns) / 1e9 // bin_s), 1)
    edges = np.linspace(t0_ns, t1_ns, n + 1).round().astype(np.int64)
    if t1_ns <= t0_ns:
        return _NAN, dict.fromkeys(rails, _NAN)
    total = np.atleast_1d(timeline.mean_power_w(edges[:-1], edges[1:], edges="interpolate"))
    per_rail = {
        r: float(np.max(timeline.mean_power_w(edges[:-1], edges[1:], rail=r, edges="interpolate"))) for r in rails
    }
    return float(total.max()), per_rail
