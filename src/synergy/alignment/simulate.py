"""Simulated workloads and sensors with known per-layer powers, for testing attribution.

Everything here is numpy only (no threads, no files): a sequence of runs with random pauses, layer durations
and powers that vary a little from run to run, and sensors that observe the resulting power exactly as the
hardware would: an energy counter that ticks every millisecond and is quantised, or a rail that latches a
box (or exponential) average every update interval, both seen through a poller that only knows the time of
its own reads. The truth of a layer is the energy delivered during its own events, averaged over runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.alignment.events import LayerEvents

__all__ = [
    "PowerTrace",
    "SimulatedRuns",
    "Workload",
    "simulate_box",
    "simulate_counter",
    "simulate_ema",
    "simulate_runs",
]

FloatArray = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True)
class Workload:
    """A network's layers as the simulator runs them.

    Attributes:
        names: layer names.
        duration_s: mean duration of each layer, s.
        power_w: mean power while each layer runs, W.
        idle_w: power during pauses, W.
        overhead_w: power in the gaps between layers inside an inference, W.
        gap_s: mean gap between consecutive layers (and before the first / after the last), s.
        duration_jitter: relative standard deviation of a layer's duration from run to run.
        power_jitter: relative standard deviation of a layer's power from run to run.
    """

    names: tuple[str, ...]
    duration_s: FloatArray
    power_w: FloatArray
    idle_w: float = 5.0
    overhead_w: float = 12.0
    gap_s: float = 20e-6
    duration_jitter: float = 0.05
    power_jitter: float = 0.03

    @classmethod
    def random(cls, n_layers: int, rng: np.random.Generator, min_s: float = 0.3e-3, max_s: float = 10e-3) -> Workload:
        """Layers with log-uniform durations in ``[min_s, max_s]`` (both ends included) and powers of 8–25 W."""
        duration = np.exp(rng.uniform(np.log(min_s), np.log(max_s), n_layers))
        duration[0], duration[-1] = min_s, max_s
        rng.shuffle(duration)
        power = rng.uniform(8.0, 25.0, n_layers)
        return cls(tuple(f"layer{i}" for i in range(n_layers)), duration, power)


@dataclass(frozen=True)
class PowerTrace:
    """Piecewise-constant true power: ``power_w[k]`` over ``[t_s[k], t_s[k+1])``.

    Attributes:
        origin_ns: monotonic ns of ``t = 0``.
        t_s: segment boundaries, s (one more than ``power_w``).
        power_w: power of each segment, W.
    """

    origin_ns: int
    t_s: FloatArray
    power_w: FloatArray

    def energy_at(self, t: FloatArray) -> FloatArray:
        """Cumulative energy from the trace's start to each time, J."""
        cumulative = np.concatenate([[0.0], np.cumsum(self.power_w * np.diff(self.t_s))])
        k = np.clip(np.searchsorted(self.t_s, t, side="right") - 1, 0, len(self.power_w) - 1)
        return np.asarray(cumulative[k] + self.power_w[k] * (np.clip(t, self.t_s[0], self.t_s[-1]) - self.t_s[k]))

    def ema_at(self, t: FloatArray, tau_s: float) -> FloatArray:
        """Exponential moving average (time constant ``tau_s``) of the power at each (sorted) time, W."""
        knots = np.union1d(self.t_s, t)
        k = np.clip(np.searchsorted(self.t_s, knots[:-1], side="right") - 1, 0, len(self.power_w) - 1)
        p = self.power_w[k]
        decay = np.exp(-np.diff(knots) / tau_s)
        y = np.empty(len(knots))
        y[0] = self.power_w[0]
        for i in range(len(decay)):
            y[i + 1] = y[i] * decay[i] + p[i] * (1.0 - decay[i])
        return np.asarray(y[np.searchsorted(knots, t)])


@dataclass(frozen=True)
class SimulatedRuns:
    """Simulated runs: the events a runtime would record, the true power, and each layer's true energy.

    Attributes:
        events: layer events and run windows, monotonic ns.
        trace: the true power.
        true_energy_j: mean energy per inference delivered during each layer's events, J.
        true_inference_energy_j: mean energy per inference over the run windows, J.
    """

    events: LayerEvents
    trace: PowerTrace
    true_energy_j: FloatArray
    true_inference_energy_j: float


def simulate_runs(
    workload: Workload,
    runs: int,
    rng: np.random.Generator,
    *,
    pause_s: tuple[float, float] = (2e-3, 20e-3),
    lead_s: float = 0.5,
    origin_ns: int = 10**12,
) -> SimulatedRuns:
    """Run a workload ``runs`` times with uniform random pauses between runs.

    Args:
        workload: the layers.
        runs: number of runs.
        rng: random generator.
        pause_s: bounds of the uniform pause between runs, s.
        lead_s: idle time before the first and after the last run, s.
        origin_ns: monotonic ns of the trace's time 0.
    """
    L = len(workload.names)
    durations = workload.duration_s * np.exp(workload.duration_jitter * rng.standard_normal((runs, L)))
    powers = workload.power_w * (1.0 + workload.power_jitter * rng.standard_normal((runs, L)))
    gaps = rng.exponential(workload.gap_s, (runs, L + 1)) if workload.gap_s > 0 else np.zeros((runs, L + 1))
    pauses = rng.uniform(pause_s[0], pause_s[1], runs)
    # Per run: gap, layer, gap, layer, ..., layer, gap; then a pause.
    seg_len = np.empty((runs, 2 * L + 2))
    seg_pow = np.empty((runs, 2 * L + 2))
    seg_len[:, 0:-1:2] = gaps
    seg_len[:, 1:-1:2] = durations
    seg_len[:, -1] = pauses
    seg_pow[:, 0:-1:2] = workload.overhead_w
    seg_pow[:, 1:-1:2] = powers
    seg_pow[:, -1] = workload.idle_w
    lengths = np.concatenate([[lead_s], seg_len.ravel(), [lead_s]])
    power = np.concatenate([[workload.idle_w], seg_pow.ravel(), [workload.idle_w]])
    t = np.concatenate([[0.0], np.cumsum(lengths)])
    trace = PowerTrace(origin_ns, t, power)

    def ns(x: FloatArray) -> npt.NDArray[np.int64]:
        return np.asarray(origin_ns + np.round(x * 1e9), dtype=np.int64)

    seg_t0 = t[1:-2].reshape(runs, 2 * L + 2)
    layer_start = seg_t0[:, 1:-1:2]
    layer_end = layer_start + durations
    run_start = seg_t0[:, 0]
    run_end = seg_t0[:, -1]
    events = LayerEvents(
        layers=workload.names,
        run=np.repeat(np.arange(runs, dtype=np.int64), L),
        layer=np.tile(np.arange(L, dtype=np.int64), runs),
        start_ns=ns(layer_start.ravel()),
        end_ns=ns(layer_end.ravel()),
        run_start_ns=ns(run_start),
        run_end_ns=ns(run_end),
    )
    # Truth over the reported (ns-rounded) windows.
    e_layers = trace.energy_at((events.end_ns - origin_ns) * 1e-9) - trace.energy_at(
        (events.start_ns - origin_ns) * 1e-9
    )
    true_energy = e_layers.reshape(runs, L).mean(axis=0)
    e_runs = trace.energy_at((events.run_end_ns - origin_ns) * 1e-9) - trace.energy_at(
        (events.run_start_ns - origin_ns) * 1e-9
    )
    return SimulatedRuns(events, trace, true_energy, float(e_runs.mean()))


def _poll_times(trace: PowerTrace, poll_s: float, rng: np.random.Generator) -> FloatArray:
    """Poll times with ±25 % jitter around ``poll_s`` across the trace."""
    n = int((trace.t_s[-1] - trace.t_s[0]) / poll_s)
    steps = poll_s * rng.uniform(0.75, 1.25, n)
    t = trace.t_s[0] + poll_s + np.cumsum(steps)
    return np.asarray(t[t < trace.t_s[-1]])


def _ns(trace: PowerTrace, t: FloatArray) -> npt.NDArray[np.int64]:
    return np.asarray(trace.origin_ns + np.round(t * 1e9), dtype=np.int64)


def simulate_counter(
    trace: PowerTrace,
    rng: np.random.Generator,
    *,
    tick_s: float = 1e-3,
    tick_jitter_s: float = 2e-6,
    poll_s: float = 0.25e-3,
    quantum_j: float = 1e-6,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """A RAPL-like counter: updated every ``tick_s`` (unknown phase), quantised, read every ``poll_s``.

    Returns:
        ``(t_ns, cumulative_j)`` of every poll.
    """
    phase = rng.uniform(0, tick_s)
    n = int((trace.t_s[-1] - trace.t_s[0]) / tick_s)
    ticks = trace.t_s[0] + phase + tick_s * np.arange(n) + rng.normal(0, tick_jitter_s, n)
    ticks = np.sort(ticks[(ticks > trace.t_s[0]) & (ticks < trace.t_s[-1])])
    value = np.floor(trace.energy_at(ticks) / quantum_j) * quantum_j
    polls = _poll_times(trace, poll_s, rng)
    k = np.searchsorted(ticks, polls, side="right") - 1
    seen = np.where(k >= 0, value[np.clip(k, 0, None)], 0.0)
    return _ns(trace, polls), seen


def simulate_box(
    trace: PowerTrace,
    rng: np.random.Generator,
    *,
    update_s: float = 10e-3,
    window_s: float | None = None,
    poll_s: float = 1e-3,
    quantum_w: float = 1e-3,
    noise_w: float = 0.0,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """An INA3221-like rail: the mean power over ``window_s`` latched every ``update_s``, read every ``poll_s``.

    Returns:
        ``(t_ns, power_w)`` of every poll.
    """
    window = update_s if window_s is None else window_s
    phase = rng.uniform(0, update_s)
    n = int((trace.t_s[-1] - trace.t_s[0]) / update_s)
    latch = trace.t_s[0] + window + phase + update_s * np.arange(n)
    latch = latch[latch < trace.t_s[-1]]
    mean = (trace.energy_at(latch) - trace.energy_at(latch - window)) / window
    mean = mean + noise_w * rng.standard_normal(len(mean))
    value = np.round(mean / quantum_w) * quantum_w
    polls = _poll_times(trace, poll_s, rng)
    polls = polls[polls >= latch[0]]
    k = np.searchsorted(latch, polls, side="right") - 1
    return _ns(trace, polls), value[k]


def simulate_ema(
    trace: PowerTrace,
    rng: np.random.Generator,
    *,
    update_s: float = 10e-3,
    tau_s: float = 10e-3,
    poll_s: float = 1e-3,
    quantum_w: float = 1e-3,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """A rail whose latched value is an exponential moving average (time constant ``tau_s``) of the power.

    Returns:
        ``(t_ns, power_w)`` of every poll.
    """
    phase = rng.uniform(0, update_s)
    n = int((trace.t_s[-1] - trace.t_s[0]) / update_s)
    latch = trace.t_s[0] + phase + update_s * (np.arange(n) + 1)
    latch = latch[latch < trace.t_s[-1]]
    value = np.round(trace.ema_at(latch, tau_s) / quantum_w) * quantum_w
    polls = _poll_times(trace, poll_s, rng)
    polls = polls[polls >= latch[0]]
    k = np.searchsorted(latch, polls, side="right") - 1
    return _ns(trace, polls), value[k]
