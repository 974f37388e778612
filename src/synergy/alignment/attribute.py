"""Attribute sensor energy to layers by solving for every layer's power jointly over all runs.

Every sensor reading is a linear measurement of the unknown powers (:mod:`synergy.alignment.design`): one
power per measured layer, one for the runtime's *overhead* (time inside an inference that no layer event
covers: executor bookkeeping, memory planning) and one for *idle* (the random pauses between runs and the
time before and after them). Inferences start at random phases of the sensor, so over many runs a layer far
shorter than the sensor's update period still appears at every position inside the sensor windows, and the
stacked system ``A p = y`` determines every power.

Why two extra unknowns rather than one: the gaps between layers are executor work on a busy core, whose
power is close to a layer's, while the pauses are idle; lumping them would bias the idle power and, through
it, every layer next to a gap. One overhead unknown for all gaps (not one per gap or per run) keeps the
system well determined: a single gap lasts microseconds and could not be resolved on its own.

The solve is non-negative least squares on rows expressed as mean powers (counter increments divided by
their interval), so rows of different lengths carry comparable noise. An optional ridge term pulls each
power towards the mean inference power when a layer is too short or too rare to be determined; it is off by
default because it biases short layers towards the average. Standard errors come from the residual variance
and ``(AᵀA)⁻¹`` over the free (non-zero) powers, or, with ``bootstrap > 0``, from resampling whole runs.

A layer's energy per inference is its power times its mean duration: the energy delivered during the
window reported for it. The sum over layers plus overhead is checked against the whole-inference energy
measured directly from the sensor over the inference windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import nnls

from synergy.alignment.design import (
    Observations,
    Segments,
    build_design,
    build_segments,
    observations_from_changes,
    observations_from_samples,
)
from synergy.alignment.events import LayerEvents
from synergy.alignment.identifiability import UNDETERMINED_REMEDY, identify, require_enough_readings
from synergy.errors import AlignmentError, UndeterminedError
from synergy.sampling.timeline import Timeline
from synergy.sensors.base import FilterModel, SensorKind

__all__ = [
    "Attribution",
    "attribute",
    "attribute_observations",
    "attribute_timeline",
    "direct_inference_energy_j",
    "estimate_latch_lag",
    "solve_powers",
]

FloatArray = npt.NDArray[np.floating[Any]]


#: Undetermined layers may take up to this share of an inference's time and the layers and overhead still
#: be summed over the determined ones (the sum is then short by about that share of the energy).
UNDETERMINED_SHARE_MAX = 0.01


@dataclass(frozen=True)
class Attribution:
    """Per-layer powers and energies of one measurement.

    Attributes:
        layers: measured-layer names.
        power_w: mean power while each layer runs, W.
        power_w_se: its standard error, W (NaN when not determined).
        duration_s: mean time per inference of each layer, s.
        duration_s_std: standard deviation of that time over runs, s.
        energy_j: energy per inference of each layer (``power_w × duration_s``), J.
        energy_j_se: its standard error, J (power and mean-duration uncertainty combined).
        dynamic_energy_j: energy above idle per inference, J.
        idle_power_w: idle power (outside inferences), W.
        idle_power_w_se: its standard error, W.
        overhead_power_w: power inside inferences but outside layer events, W.
        overhead_power_w_se: its standard error, W.
        overhead_s: mean time per inference outside layer events, s.
        inference_s: mean wall time of one inference, s.
        runs: number of runs used.
        observations: number of sensor readings (rows) used.
        method: ``nnls`` or ``nnls+ridge``; ``+huber`` for the robust loss; ``+bootstrap`` when errors come
            from resampling runs.
        residual_rms_w: root-mean-square residual of the fit, W.
        condition_number: of the weighted design matrix (large: some powers are poorly determined).
        direct_inference_energy_j: whole-inference energy integrated directly from the sensor, J.
        direct_method: how that was integrated.
        determined: whether the readings determine each layer's power (see
            :mod:`synergy.alignment.identifiability`); an undetermined layer's power and energy are NaN.
        extras: free-form diagnostics.
        reasons: why each layer is undetermined (empty where determined).
        effective_readings: per layer, how many whole-window readings of it alone would determine it as
            well as all the readings do.
    """

    layers: tuple[str, ...]
    power_w: FloatArray
    power_w_se: FloatArray
    duration_s: FloatArray
    duration_s_std: FloatArray
    energy_j: FloatArray
    energy_j_se: FloatArray
    dynamic_energy_j: FloatArray
    idle_power_w: float
    idle_power_w_se: float
    overhead_power_w: float
    overhead_power_w_se: float
    overhead_s: float
    inference_s: float
    runs: int
    observations: int
    method: str
    residual_rms_w: float
    condition_number: float
    direct_inference_energy_j: float
    direct_method: str
    determined: npt.NDArray[np.bool_]
    extras: dict[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    effective_readings: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def layers_energy_j(self) -> float:
        """Sum of the determined layers' energies per inference, J (see :attr:`undetermined_share`)."""
        return float(np.sum(np.asarray(self.energy_j)[self._determined_mask]))

    @property
    def _determined_mask(self) -> npt.NDArray[np.bool_]:
        determined = np.asarray(self.determined, dtype=bool)
        return np.asarray(determined & np.isfinite(np.asarray(self.energy_j, dtype=float)), dtype=bool)

    @property
    def undetermined_s(self) -> float:
        """Mean time per inference of the layers the readings do not determine, s."""
        return float(np.sum(np.asarray(self.duration_s)[~self._determined_mask]))

    @property
    def undetermined_share(self) -> float:
        """Share of an inference's time in undetermined layers (what :attr:`layers_energy_j` leaves out)."""
        return self.undetermined_s / self.inference_s if self.inference_s > 0 else float("nan")

    @property
    def overhead_energy_j(self) -> float:
        """Energy per inference outside layer events, J (0 when there is no such time)."""
        return self.overhead_power_w * self.overhead_s if self.overhead_s > 0 else 0.0

    @property
    def inference_energy_j(self) -> float:
        """Modelled energy of one inference: layers plus overhead, J; NaN when undetermined layers take
        more than :data:`UNDETERMINED_SHARE_MAX` of its time (the sum would leave out too much)."""
        if not self.undetermined_share <= UNDETERMINED_SHARE_MAX:
            return float("nan")
        return self.layers_energy_j + self.overhead_energy_j

    @property
    def check_relative(self) -> float:
        """(modelled − direct) / direct whole-inference energy; NaN without a direct figure."""
        direct = self.direct_inference_energy_j
        if not np.isfinite(direct) or direct == 0:
            return float("nan")
        return (self.inference_energy_j - direct) / direct

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: ``layer``, ``duration_s``, ``duration_s_std``, ``power_w``, ``power_w_se``,
        ``energy_j``, ``energy_j_se``, ``dynamic_energy_j``, ``effective_readings`` and
        ``undetermined_reason`` (empty where the readings determine the layer)."""
        return pd.DataFrame(
            {
                "layer": list(self.layers),
                "duration_s": self.duration_s,
                "duration_s_std": self.duration_s_std,
                "power_w": self.power_w,
                "power_w_se": self.power_w_se,
                "energy_j": self.energy_j,
                "energy_j_se": self.energy_j_se,
                "dynamic_energy_j": self.dynamic_energy_j,
                "effective_readings": (
                    self.effective_readings if len(self.effective_readings) else np.full(len(self.layers), np.nan)
                ),
                "undetermined_reason": list(self.reasons or ("",) * len(self.layers)),
            }
        )

    def check(self) -> dict[str, Any]:
        """The sum-of-layers check as JSON-ready numbers."""
        return {
            "layers_energy_j": self.layers_energy_j,
            "layers_determined": int(np.count_nonzero(self._determined_mask)),
            "undetermined_s": self.undetermined_s,
            "undetermined_share": self.undetermined_share,
            "overhead_energy_j": self.overhead_energy_j,
            "inference_energy_j": self.inference_energy_j,
            "direct_inference_energy_j": self.direct_inference_energy_j,
            "direct_method": self.direct_method,
            "relative_difference": self.check_relative,
        }

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary of the fit (no per-layer rows)."""
        return {
            "method": self.method,
            "runs": self.runs,
            "observations": self.observations,
            "idle_power_w": self.idle_power_w,
            "idle_power_w_se": self.idle_power_w_se,
            "idle_fitted_w": self.idle_power_w,
            "idle_measured_w": self.extras.get("idle_measured_w", float("nan")),
            "overhead_power_w": self.overhead_power_w,
            "overhead_power_w_se": self.overhead_power_w_se,
            "overhead_s": self.overhead_s,
            "inference_s": self.inference_s,
            "residual_rms_w": self.residual_rms_w,
            "condition_number": self.condition_number,
            "undetermined_layers": [n for n, ok in zip(self.layers, self.determined, strict=True) if not ok],
            "undetermined_reasons": {
                n: r
                for n, ok, r in zip(self.layers, self.determined, self.reasons or ("",) * len(self.layers), strict=True)
                if not ok
            },
            "check": self.check(),
            **self.extras,
        }


#: Huber's tuning constant, in robust standard deviations: 95 % efficient when the noise is Gaussian.
HUBER_C = 1.345


@dataclass(frozen=True)
class _Fit:
    power: FloatArray
    power_se: FloatArray
    rms: float
    condition: float
    scale: float
    downweighted: float
    reason: tuple[str, ...]
    effective_readings: FloatArray
    highest_power_w: float
    cov: FloatArray
    raw: FloatArray


def _huber(u: FloatArray) -> FloatArray:
    """IRLS weights of Huber's loss for standardised residuals ``u``."""
    a = np.abs(u)
    return np.asarray(np.where(a <= HUBER_C, 1.0, HUBER_C / np.maximum(a, 1e-300)), dtype=np.float64)


def _robust_scale(r: FloatArray, y: FloatArray) -> float:
    """Median absolute residual as a standard deviation, never zero."""
    floor = 1e-6 * max(float(np.max(np.abs(y), initial=0.0)), 1e-12)  # exact readings: float noise is no outlier
    return max(1.4826 * float(np.median(np.abs(r))), floor)


def _solve(
    A: FloatArray,
    y: FloatArray,
    *,
    ridge: float,
    prior_w: float | None,
    robust: bool,
    names: tuple[str, ...] | None = None,
    highest_w: float | None = None,
) -> _Fit:
    n, k = A.shape
    highest = float(np.max(y, initial=0.0)) if highest_w is None else highest_w
    norms = np.sqrt((A * A).sum(axis=0))
    seen = norms > 1e-12 * max(float(norms.max(initial=0.0)), 1e-300)
    As = A[:, seen]
    if As.shape[1] == 0 or n == 0:
        raise AlignmentError("no sensor reading overlaps any layer; the sensor and the runs do not meet in time")
    if ridge <= 0:
        require_enough_readings(n, As.shape[1])
    extra_A = np.zeros((0, As.shape[1]))
    extra_y = np.zeros(0)
    if ridge > 0:
        scale = float(np.mean(norms[seen] ** 2))
        target = float(np.mean(y)) if prior_w is None else prior_w
        lam = np.sqrt(ridge * scale)
        extra_A = lam * np.eye(As.shape[1])
        extra_y = np.full(As.shape[1], lam * target)
    w: FloatArray = np.ones(n)
    x = np.zeros(As.shape[1])
    for _ in range(30 if robust else 1):
        sw = np.sqrt(w)
        x, _ = nnls(np.vstack([As * sw[:, None], extra_A]), np.concatenate([y * sw, extra_y]), maxiter=50 * As.shape[1])
        if not robust:
            break
        residual = y - As @ x
        new_w = _huber(residual / _robust_scale(residual, y))
        done = float(np.max(np.abs(new_w - w))) < 1e-3
        w = new_w
        if done:
            break
    residual = y - As @ x
    p = int((x > 0).sum())
    dof = max(n - p, 1)
    scale = _robust_scale(residual, y) if robust else float(np.sqrt(residual @ residual / dof))
    # Standard errors of every power seen, those the bound holds at zero included: a power NNLS put at 0 is
    # as uncertain as its neighbours, never "0 ± 0".
    Aw = np.vstack([As * np.sqrt(w)[:, None], extra_A])
    bread = np.linalg.pinv(Aw.T @ Aw)
    if robust:
        # Huber's sandwich: (AᵀWA)⁻¹ Aᵀ diag((w r)²) A (AᵀWA)⁻¹, the covariance of the M-estimate
        # whatever the distribution of the residuals (outliers count with their clipped influence).
        influence = As * (w * residual)[:, None]
        cov = bread @ (influence.T @ influence) @ bread * (n / dof)
        classical = scale**2 * np.diag(bread)
    else:
        cov = float(residual @ residual) / dof * bread
        classical = np.diag(cov)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    seen_names = None if names is None else tuple(nm for nm, s in zip(names, seen, strict=True) if s)
    ident = identify(
        Aw,
        np.maximum(se, np.sqrt(np.clip(classical, 0.0, None))),
        highest_power_w=highest,
        names=seen_names,
    )
    power = np.full(k, np.nan)
    power_se = np.full(k, np.nan)
    effective = np.zeros(k)
    reason = ["no sensor reading overlaps it"] * k
    cols = np.flatnonzero(seen)
    full_cov = np.full((k, k), np.nan)
    full_cov[np.ix_(cols, cols)] = cov
    raw = np.full(k, np.nan)
    raw[cols] = x
    for i, j in enumerate(cols):
        reason[j] = ident.reason[i]
        effective[j] = ident.effective_readings[i]
        if ident.determined[i]:
            power[j], power_se[j] = x[i], se[i]
    return _Fit(
        power,
        power_se,
        float(np.sqrt(np.mean(residual**2))),
        ident.condition_number,
        scale,
        float(np.mean(w < 1)),
        tuple(reason),
        effective,
        highest,
        full_cov,
        raw,
    )


def solve_powers(
    A: FloatArray, y: FloatArray, *, ridge: float = 0.0, prior_w: float | None = None, robust: bool = False
) -> tuple[FloatArray, FloatArray, float, float]:
    """Non-negative least squares (optionally robust) with optional ridge and analytic standard errors.

    Columns that no row touches are left undetermined (NaN).

    Args:
        A: design matrix, rows in watts per watt.
        y: measurements, watts.
        ridge: Tikhonov weight relative to the mean squared column norm (0: none).
        prior_w: the value the ridge pulls towards (default: mean of ``y``).
        robust: minimise Huber's loss instead of squares (iteratively reweighted NNLS, scale from the
            median absolute residual), so that a few readings far off the model (a counter update published
            late, a read stamped long after it happened) cannot pull the powers; the standard errors are
            then Huber's sandwich estimate.

    Returns:
        ``(power, power_se, residual_rms, condition_number)``.
    """
    fit = _solve(A, y, ridge=ridge, prior_w=prior_w, robust=robust)
    return fit.power, fit.power_se, fit.rms, fit.condition


def _huber_loss(A: FloatArray, y: FloatArray, scale: float, iterations: int = 4) -> float:
    """Huber's loss of the best (unconstrained) fit of ``A p ≈ y`` at a fixed scale: the lag profile."""
    norms = np.sqrt((A * A).sum(axis=0))
    A = A[:, norms > 1e-12 * max(float(norms.max(initial=0.0)), 1e-300)]
    w: FloatArray = np.ones(len(y))
    u: FloatArray = np.zeros(len(y))
    for _ in range(iterations):
        sw = np.sqrt(w)
        p, *_ = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)
        u = (y - A @ p) / scale
        w = _huber(u)
    a = np.abs(u)
    return float(np.sum(np.where(a <= HUBER_C, 0.5 * a * a, HUBER_C * a - 0.5 * HUBER_C**2)))


def estimate_latch_lag(
    timeline: Segments, obs: Observations, *, scale_w: float, max_lag_s: float | None = None
) -> tuple[float, dict[str, float]]:
    """How much later the observed latch instants are than the edges of the windows the readings cover.

    Latch instants are estimated from when reads first see each value (:mod:`synergy.alignment.design`),
    which puts them a little after the hardware latched: a driver publishes a value some microseconds
    after its window closed, an I2C transaction returns a register read some time after the read began.
    A lag of ``δ`` shifts every reading's window by ``δ`` against the layer events, and the readings
    themselves tell it: the layer powers fit best when the windows are where the energy was. The lag is
    the minimum of the profile of Huber's loss over ``[−max_lag, max_lag]`` (a grid, then a golden-section
    search), kept only when it improves the loss significantly over no lag (likelihood ratio above 9, 3σ).

    Args:
        timeline: the labelled segments.
        obs: the observations (counter, box or ema).
        scale_w: robust scale of the residuals, W (from a fit without lag).
        max_lag_s: bound of the search, s (default: a quarter of the median interval between latches,
            at most 1 ms).

    Returns:
        ``(lag in s, diagnostics)``; subtract the lag from the observations' times.
    """
    if obs.kind not in ("counter", "box", "ema") or obs.knot_t_s is None or len(obs.knot_t_s) < 3:
        return 0.0, {}
    if max_lag_s is None:
        max_lag_s = min(0.25 * float(np.median(np.diff(obs.knot_t_s))), 1e-3)
    if not max_lag_s > 0:
        return 0.0, {}

    def loss(lag: float) -> float:
        return _huber_loss(*build_design(timeline, obs.shifted(lag)), scale_w)

    grid = np.linspace(-max_lag_s, max_lag_s, 17)
    values = np.asarray([loss(float(g)) for g in grid])
    best = int(np.argmin(values))
    lo, hi = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, len(grid) - 1)])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(12):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    lag, value = (a, fa) if fa < fb else (b, fb)
    if values[best] < value:
        lag, value = float(grid[best]), float(values[best])
    at_zero = loss(0.0)
    info = {
        "latch_lag_search_s": max_lag_s,
        "latch_lag_loss_drop": at_zero - value,
        "latch_lag_at_bound": float(abs(lag) >= 0.999 * max_lag_s),
    }
    if 2.0 * (at_zero - value) <= 9.0:
        return 0.0, info
    return lag, info


def _piecewise_linear_integral(knot_t: FloatArray, knot_v: FloatArray, t: FloatArray) -> FloatArray:
    """∫ from the first knot to ``t`` of the linear interpolation through the knots (constant outside)."""
    dt = np.diff(knot_t)
    area = np.concatenate([[0.0], np.cumsum(0.5 * (knot_v[1:] + knot_v[:-1]) * dt)])
    k = np.clip(np.searchsorted(knot_t, t, side="right") - 1, 0, len(knot_t) - 2)
    x0 = knot_t[k]
    v0 = knot_v[k]
    slope = (knot_v[k + 1] - v0) / np.where(dt[k] > 0, dt[k], 1.0)
    u = np.clip(t - x0, 0.0, dt[k])
    inside = area[k] + v0 * u + 0.5 * slope * u * u
    before = (t - knot_t[0]) * knot_v[0]
    after = area[-1] + (t - knot_t[-1]) * knot_v[-1]
    return np.where(t < knot_t[0], before, np.where(t > knot_t[-1], after, inside))


def direct_inference_energy_j(obs: Observations, run_start_s: FloatArray, run_end_s: FloatArray) -> tuple[float, str]:
    """Whole-inference energy straight from the sensor, without the layer model.

    A counter is interpolated linearly between its change instants and differenced over each inference
    window; the interpolation smears each edge of an inference, which biases this figure low by about
    ``(P_busy − P_idle) × update_period / 3``. A power series is shifted by its filter's group delay (half the
    box window, the EMA time constant) and integrated over the whole span of the runs; the idle power, taken
    from the readings before the first run (or after the last), times the time between runs is subtracted,
    and the rest divided by the number of runs. Without such idle readings, the shifted series is
    integrated over each inference window instead (biased low by the filter's smearing of the edges).

    Returns:
        ``(mean energy per inference in J, method)``; NaN when the sensor does not cover the runs.
    """
    energy, method, _ = _direct(obs, run_start_s, run_end_s)
    return energy, method


def _se_of_mean(e: FloatArray) -> float:
    return float(np.std(e, ddof=1) / np.sqrt(len(e))) if len(e) > 1 else float("nan")


def _direct(obs: Observations, run_start_s: FloatArray, run_end_s: FloatArray) -> tuple[float, str, float]:
    """:func:`direct_inference_energy_j` with the standard error of the mean over runs (NaN when unknown)."""
    if obs.knot_t_s is None or obs.knot_value is None or len(obs.knot_t_s) < 2:
        return float("nan"), "none", float("nan")
    covered = (run_start_s >= obs.knot_t_s[0]) & (run_end_s <= obs.knot_t_s[-1])
    if not covered.any():
        return float("nan"), "none", float("nan")
    a, b = run_start_s[covered], run_end_s[covered]
    if obs.kind == "counter":
        e = np.interp(b, obs.knot_t_s, obs.knot_value) - np.interp(a, obs.knot_t_s, obs.knot_value)
        return float(np.mean(e)), "counter interpolated over inference windows", _se_of_mean(e)
    window = float(np.median(obs.end_s - obs.start_s)) if obs.kind == "box" else 0.0
    delay = {"box": 0.5 * window, "ema": obs.tau_s}.get(obs.kind, 0.0)
    knots = obs.knot_t_s - delay
    values = obs.knot_value

    def integral(lo: FloatArray, hi: FloatArray) -> FloatArray:
        return _piecewise_linear_integral(knots, values, hi) - _piecewise_linear_integral(knots, values, lo)

    margin = 2.0 * max(window, 5.0 * obs.tau_s, 1e-3)
    first, last = float(run_start_s.min()), float(run_end_s.max())
    idle_spans = [(knots[0] + margin, first - margin), (last + margin, knots[-1] - margin)]
    idle_spans = [(lo, hi) for lo, hi in idle_spans if hi - lo >= margin]
    if idle_spans and covered.all():
        idle_time = sum(hi - lo for lo, hi in idle_spans)
        idle_j = sum(float(integral(np.array([lo]), np.array([hi]))[0]) for lo, hi in idle_spans)
        idle_w = idle_j / idle_time
        span_lo, span_hi = first - margin, last + margin
        span_j = float(integral(np.array([span_lo]), np.array([span_hi]))[0])
        busy_s = float(np.sum(run_end_s - run_start_s))
        energy = (span_j - idle_w * ((span_hi - span_lo) - busy_s)) / len(run_start_s)
        method = f"{obs.kind} readings integrated over all runs, idle ({idle_w:.4g} W) between runs removed"
        return float(energy), method, _se_of_mean(integral(a, b))
    e = integral(a, b)
    method = f"{obs.kind} readings shifted by {delay * 1e3:.3g} ms, integrated per inference"
    return float(np.mean(e)), method, _se_of_mean(e)


def _run_groups(obs: Observations, timeline: Segments, run_start_s: FloatArray) -> npt.NDArray[np.int64]:
    """The run each observation belongs to for resampling: the last run started before its window's middle."""
    middle = 0.5 * (obs.start_s + obs.end_s)
    order = np.argsort(run_start_s)
    k = np.searchsorted(run_start_s[order], middle, side="right") - 1
    group = np.where(k >= 0, order[np.clip(k, 0, None)], -1)
    return np.asarray(group, dtype=np.int64)


def attribute(
    events: LayerEvents,
    t_ns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    counter: bool,
    filter_model: FilterModel,
    update_period_s: float | None,
    ridge: float = 0.0,
    bootstrap: int = 0,
    seed: int = 0,
    robust: bool = True,
    latch_lag_s: float | None = None,
    until_ns: int | None = None,
) -> Attribution:
    """Give every layer its power and energy from the layer events and every polled sensor value.

    Args:
        events: layer events and run windows of every measured run, monotonic ns.
        t_ns: monotonic ns of each sensor poll, covering the runs (and some idle time around them).
        values: total value at each poll (cumulative J for a counter, W otherwise; NaN for a failed read).
        counter: whether the sensor is a cumulative energy counter.
        filter_model: how a power value relates to the true power (``box``/``ema``/``instant``).
        update_period_s: the sensor's hardware update period, s (``None`` if unknown).
        ridge: Tikhonov weight pulling powers towards the mean (0: plain NNLS).
        bootstrap: number of run-resampling replicates for the standard errors (0: analytic).
        seed: seed of the resampling.
        robust: minimise Huber's loss rather than squares (see :func:`solve_powers`).
        latch_lag_s: lag of the observed latch instants, s (``None``: estimate it; see
            :func:`estimate_latch_lag`).
        until_ns: monotonic ns after which the readings are not used (other work followed the runs).

    Raises:
        AlignmentError: the readings do not cover the runs, or too few readings.
    """
    t = np.asarray(t_ns, dtype=np.int64)
    if events.n_runs == 0:
        raise AlignmentError("no runs were recorded")
    if len(t) == 0:
        raise AlignmentError("no sensor reading was taken")
    origin = int(min(t.min(), events.run_start_ns.min()))
    obs = observations_from_samples(
        t, values, counter=counter, filter_model=filter_model, update_period_s=update_period_s, origin_ns=origin
    )
    return attribute_observations(
        events,
        obs,
        origin,
        update_period_s,
        ridge=ridge,
        bootstrap=bootstrap,
        seed=seed,
        robust=robust,
        latch_lag_s=latch_lag_s,
        until_ns=until_ns,
    )


def attribute_timeline(
    events: LayerEvents,
    timeline: Timeline,
    *,
    ridge: float = 0.0,
    bootstrap: int = 0,
    seed: int = 0,
    robust: bool = True,
    latch_lag_s: float | None = None,
    until_ns: int | None = None,
) -> Attribution:
    """Give every layer its power and energy from a sampler's timeline (the sum of its total rails).

    Args:
        events: layer events and run windows of every measured run, monotonic ns.
        timeline: what the sampler saw of the sensor (changes only, with their brackets).
        ridge: Tikhonov weight pulling powers towards the mean (0: plain NNLS).
        bootstrap: number of run-resampling replicates for the standard errors (0: analytic).
        seed: seed of the resampling.
        robust: minimise Huber's loss rather than squares (see :func:`solve_powers`).
        latch_lag_s: lag of the observed latch instants, s (``None``: estimate it; see
            :func:`estimate_latch_lag`).
        until_ns: monotonic ns after which the readings are not used (other work followed the runs).

    Raises:
        AlignmentError: no runs, too few readings, or a timeline that is neither power nor energy.
    """
    if timeline.kind is None:
        raise AlignmentError("the timeline holds neither power nor energy; attribute a power or energy sensor")
    if events.n_runs == 0:
        raise AlignmentError("no runs were recorded")
    if len(timeline) < 2:
        raise AlignmentError("fewer than two sensor readings were taken; run longer or poll faster")
    cols = [timeline.rails.index(r) for r in timeline.total_rails]
    # A counter's rails each latch on their own grid: their increments are timed rail by rail.
    values = timeline.values[:, cols] if timeline.kind is SensorKind.ENERGY else timeline.values[:, cols].sum(axis=1)
    origin = int(min(int(timeline.t_ns[0]), int(events.run_start_ns.min())))
    counter = timeline.kind is SensorKind.ENERGY
    period = timeline.update_period_s
    obs = observations_from_changes(
        timeline.t_ns,
        timeline.t_prev_ns,
        values,
        t_end_ns=timeline.t_end_ns,
        counter=counter,
        filter_model=timeline.filter_model,
        update_period_s=period,
        origin_ns=origin,
    )
    return attribute_observations(
        events,
        obs,
        origin,
        period,
        ridge=ridge,
        bootstrap=bootstrap,
        seed=seed,
        robust=robust,
        latch_lag_s=latch_lag_s,
        until_ns=until_ns,
    )


#: Shortest stretch of a counter's series a power is read over for the highest and idle powers, periods.
STEADY_PERIODS = 5.0


def _steady_rates(obs: Observations, lo_s: float, hi_s: float, period_s: float | None) -> FloatArray:
    """Mean powers over consecutive stretches of a counter's series in ``[lo_s, hi_s]``, W.

    Each stretch runs from one latch to the first at least :data:`STEADY_PERIODS` update periods (or five
    changes) later, so a late publication, which moves one end of a stretch by part of a period, moves its
    power by a fraction of it, never into a burst or a gap.
    """
    if obs.knot_t_s is None or obs.knot_value is None:
        return np.zeros(0)
    among = np.flatnonzero((obs.knot_t_s >= lo_s) & (obs.knot_t_s <= hi_s))
    if len(among) < 2:
        return np.zeros(0)
    t, e = obs.knot_t_s[among], obs.knot_value[among]
    step = float(np.median(np.diff(t)))
    span = STEADY_PERIODS * max(period_s or 0.0, step)
    start = 0
    rates: list[float] = []
    while start < len(t) - 1:
        end = int(np.searchsorted(t, t[start] + span, side="left"))
        if end >= len(t):
            if rates:
                break
            end = len(t) - 1
        rates.append(float((e[end] - e[start]) / (t[end] - t[start])))
        start = end
    return np.asarray(rates, dtype=np.float64)


def _mean_power_w(obs: Observations, y: FloatArray) -> float:
    """The mean power the readings saw, W: of a counter, its energy over its time (not a mean of ratios)."""
    if obs.kind == "counter" and len(obs):
        return float(np.sum(obs.value) / np.sum(obs.end_s - obs.start_s))
    return float(np.mean(y)) if len(y) else float("nan")


def _timing_noise_w(obs: Observations, y: FloatArray) -> float:
    """RMS of the readings' powers that the timing of their windows alone explains, W (0 on a grid).

    A counter change not on a fitted grid is known only to lie in its bracket; the window's length is
    then uncertain by :meth:`~synergy.alignment.design.Observations.window_sd_s`, and its mean power by
    that share of itself.
    """
    if obs.kind != "counter" or len(obs) == 0:
        return 0.0
    share = obs.window_sd_s() / np.maximum(obs.end_s - obs.start_s, 1e-300)
    return float(np.sqrt(np.mean((y * share) ** 2)))


def _highest_power_w(obs: Observations, period_s: float | None) -> float:
    """The highest power the readings saw, W: of a counter, over stretches of several periods."""
    if obs.kind == "counter":
        rates = _steady_rates(obs, float(obs.start_s.min(initial=0.0)), float(obs.end_s.max(initial=0.0)), period_s)
        if len(rates):
            return float(np.max(rates))
    return float(np.max(obs.value, initial=0.0)) if obs.kind != "counter" else float("nan")


def _measured_idle_w(obs: Observations, lo_s: float, hi_s: float, period_s: float | None = None) -> float:
    """Idle power measured in ``[lo_s, hi_s]`` (no measured run inside), W; NaN without readings there.

    The median of the power of the readings whose whole window lies there: robust to the warm-up inferences
    that run just before the first measured run, and to a loop or another job that starts after the last.
    A counter's powers are read over stretches of several periods (:func:`_steady_rates`): the median of
    single increments over the times they were seen is biased when a late writer bunches its updates.
    """
    if obs.kind == "counter":
        rates = _steady_rates(obs, lo_s, hi_s, period_s)
        return float(np.median(rates)) if len(rates) else float("nan")
    inside = (obs.start_s >= lo_s) & (obs.end_s <= hi_s)
    return float(np.median(obs.value[inside])) if inside.any() else float("nan")


def attribute_observations(
    events: LayerEvents,
    obs: Observations,
    origin_ns: int,
    update_period_s: float | None,
    *,
    ridge: float = 0.0,
    bootstrap: int = 0,
    seed: int = 0,
    robust: bool = True,
    latch_lag_s: float | None = None,
    until_ns: int | None = None,
) -> Attribution:
    """Solve for every layer's power from window observations already on the events' time axis.

    Readings whose window begins before the first recorded run are left out: what ran then is not known
    (warm-up inferences, model loading) and would be taken for idle power; so are readings whose window
    ends after ``until_ns`` (other work measured after the runs, such as isolation loops). The lag between the observed
    latch instants and the readings' true windows is estimated (:func:`estimate_latch_lag`) unless given.

    One set of runs is behind every number: runs the sensor's readings do not cover (it vanished, or
    ``until_ns`` cut it) are left out of the layers and of the direct whole-inference energy alike, and
    counted in ``extras["runs_not_covered"]``.

    Every layer is checked for identifiability (:mod:`synergy.alignment.identifiability`): a layer the
    readings do not determine gets NaN power and energy, with the reason in :attr:`Attribution.reasons`.

    Args:
        events: layer events and run windows, monotonic ns.
        obs: the sensor's observations, seconds since ``origin_ns``.
        origin_ns: the monotonic ns of the observations' time 0.
        update_period_s: the sensor's update period (reported only).
        ridge: Tikhonov weight pulling powers towards the mean (0: plain NNLS).
        bootstrap: number of run-resampling replicates for the standard errors (0: analytic).
        seed: seed of the resampling.
        robust: minimise Huber's loss rather than squares (see :func:`solve_powers`).
        latch_lag_s: the lag to apply, s (``None``: estimate it; ``0``: latch instants are exact).
        until_ns: monotonic ns after which the events no longer describe what ran (``None``: the end).

    Raises:
        AlignmentError: no runs, no reading after the first run began, or fewer readings than unknowns.
        UndeterminedError: the readings determine no layer (the message names the remedy); its
            ``attribution`` keeps what they do determine (the whole-inference energy read directly).
    """
    if events.n_runs == 0:
        raise AlignmentError("no runs were recorded")
    origin = origin_ns
    recorded_runs = events.n_runs
    window_s = float(np.median(obs.end_s - obs.start_s)) if len(obs) else float("nan")
    if until_ns is not None:
        obs = obs.until((until_ns - origin) * 1e-9)
    run_start_s = (events.run_start_ns - origin) * 1e-9
    run_end_s = (events.run_end_ns - origin) * 1e-9
    if obs.knot_t_s is not None and len(obs.knot_t_s):
        covered = (run_start_s >= obs.knot_t_s[0]) & (run_end_s <= obs.knot_t_s[-1])
        if covered.any() and not covered.all():
            events = events.select_runs(covered)
            run_start_s, run_end_s = run_start_s[covered], run_end_s[covered]
    timeline = build_segments(events, origin)
    known = obs.start_s >= float(run_start_s.min())
    if not known.any():
        span_s = float(run_end_s.max() - run_start_s.min())
        raise UndeterminedError(
            f"the readings cannot determine the layers: no sensor reading lies within the runs (each reading "
            f"covers {window_s:.3g} s, the runs took {span_s:.3g} s); {UNDETERMINED_REMEDY}"
        )
    used = obs.select(known)
    L = len(events.layers)
    names = (*events.layers, "overhead", "idle")
    A, y = build_design(timeline, used)
    highest_w = _highest_power_w(used, update_period_s)
    fit = _solve(A, y, ridge=ridge, prior_w=None, robust=robust, names=names, highest_w=highest_w)
    lag_info: dict[str, float] = {}
    lag = latch_lag_s
    if lag is None:
        lag, lag_info = estimate_latch_lag(timeline, used, scale_w=fit.scale)
    if lag != 0:
        used = used.shifted(lag)
        A, y = build_design(timeline, used)
        fit = _solve(A, y, ridge=ridge, prior_w=None, robust=robust, names=names, highest_w=highest_w)
    power, power_se, rms, cond = fit.power, fit.power_se, fit.rms, fit.condition
    determined = np.isfinite(power[:L])
    method = ("nnls+ridge" if ridge > 0 else "nnls") + ("+huber" if robust else "")

    if bootstrap > 0:
        group = _run_groups(used, timeline, run_start_s)
        rng = np.random.default_rng(seed)
        members = [np.flatnonzero(group == r) for r in range(-1, events.n_runs)]
        replicates = []
        for _ in range(bootstrap):
            pick = rng.integers(0, len(members), size=len(members))
            rows = np.concatenate([members[i] for i in pick])
            if len(rows) == 0:
                continue
            try:
                p_b, _, _, _ = solve_powers(A[rows], y[rows], ridge=ridge, robust=robust)
            except AlignmentError:
                continue
            replicates.append(p_b)
        if len(replicates) >= 2:
            power_se = np.where(np.isfinite(power), np.nanstd(np.asarray(replicates), axis=0, ddof=1), np.nan)
            method += "+bootstrap"

    durations = events.duration_matrix_s()
    duration = durations.mean(axis=0)
    duration_std = durations.std(axis=0, ddof=1) if events.n_runs > 1 else np.zeros(L)
    duration_se = duration_std / np.sqrt(events.n_runs)
    p_layers = power[:L]
    se_layers = power_se[:L]
    energy = p_layers * duration
    energy_se = np.sqrt((duration * se_layers) ** 2 + (p_layers * duration_se) ** 2)
    idle_w = float(power[timeline.idle])
    run_s = events.run_duration_s()
    overhead_s = max(float(np.mean(run_s - durations.sum(axis=1))), 0.0)
    overhead_w = float(power[timeline.overhead])
    if not np.isfinite(overhead_w) and overhead_s <= 0.01 * float(np.mean(run_s)):
        # Under 1 % of an inference outside layer events: the fitted power (or none) moves the whole
        # inference's energy by at most that share, so it is kept rather than voiding the sum.
        overhead_w = float(np.nan_to_num(fit.raw[timeline.overhead]))
    dynamic = (p_layers - idle_w) * duration
    # Standard error of layers + overhead, from the joint covariance of their powers.
    weights = np.concatenate([duration, [overhead_s]])
    block = fit.cov[: L + 1, : L + 1]
    model_se = float(np.sqrt(max(float(weights @ np.nan_to_num(block) @ weights), 0.0)))
    direct, direct_method, direct_se = _direct(obs.shifted(lag), run_start_s, run_end_s)
    first_s, last_s = float(run_start_s.min()), float(run_end_s.max())
    end_s = float("inf") if until_ns is None else (until_ns - origin) * 1e-9
    shifted = obs.shifted(lag)
    attribution = Attribution(
        layers=events.layers,
        power_w=p_layers,
        power_w_se=se_layers,
        duration_s=duration,
        duration_s_std=duration_std,
        energy_j=energy,
        energy_j_se=energy_se,
        dynamic_energy_j=dynamic,
        idle_power_w=idle_w,
        idle_power_w_se=float(power_se[timeline.idle]),
        overhead_power_w=overhead_w,
        overhead_power_w_se=float(power_se[timeline.overhead]),
        overhead_s=overhead_s,
        inference_s=float(np.mean(run_s)),
        runs=events.n_runs,
        observations=len(used),
        method=method,
        residual_rms_w=rms,
        condition_number=cond,
        direct_inference_energy_j=direct,
        direct_method=direct_method,
        determined=determined,
        extras={
            "filter_model": obs.kind,
            "update_period_s": update_period_s,
            "latch_lag_s": lag,
            "robust_scale_w": fit.scale,
            "downweighted_fraction": fit.downweighted,
            "readings_before_first_run": int(np.count_nonzero(~known)),
            "runs_recorded": recorded_runs,
            "runs_not_covered": recorded_runs - events.n_runs,
            "unknowns": int(A.shape[1]),
            "readings_per_unknown": len(used) / max(int(A.shape[1]), 1),
            "highest_power_w": fit.highest_power_w,
            "mean_power_w": _mean_power_w(used, y),
            "timing_noise_w": _timing_noise_w(used, y),
            "idle_measured_w": _measured_idle_w(shifted, -np.inf, first_s, update_period_s),
            "idle_after_w": _measured_idle_w(shifted, last_s, end_s, update_period_s),
            "inference_energy_j_se": model_se,
            "direct_inference_energy_j_se": direct_se,
            **lag_info,
        },
        reasons=tuple(fit.reason[:L]),
        effective_readings=fit.effective_readings[:L],
    )
    if not determined.any():
        reasons = sorted({r.split(":")[0] for r in fit.reason[:L] if r})
        raise UndeterminedError(
            f"the readings cannot determine the layers ({len(used)} readings for {A.shape[1]} unknowns; "
            f"{'; '.join(reasons[:2])}): {UNDETERMINED_REMEDY}",
            attribution,
        )
    return attribution
