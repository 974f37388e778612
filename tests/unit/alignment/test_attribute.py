"""Attribution recovers every layer's energy from simulated sensors, short layers included."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synergy.alignment.attribute import attribute, solve_powers
from synergy.alignment.design import build_design, build_segments, observations_from_samples
from synergy.alignment.events import LayerEvents, RunRecord
from synergy.alignment.simulate import Workload, simulate_box, simulate_counter, simulate_ema, simulate_runs
from synergy.errors import AlignmentError
from synergy.sensors.base import FilterModel


def _relative_errors(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs(estimate - truth) / truth


@pytest.mark.parametrize("seed", [0, 1])
def test_rapl_like_counter_within_two_percent(seed: int) -> None:
    """1 ms counter, µJ quantum, polled every 0.25 ms; layers 0.3–10 ms with 3 % power jitter; 600 runs."""
    rng = np.random.default_rng(seed)
    workload = Workload.random(12, rng)
    sim = simulate_runs(workload, 600, rng)
    t_ns, joules = simulate_counter(sim.trace, rng, tick_s=1e-3, poll_s=0.25e-3, quantum_j=1e-6)
    result = attribute(
        sim.events, t_ns, joules, counter=True, filter_model=FilterModel("counter"), update_period_s=1e-3
    )
    errors = _relative_errors(result.energy_j, sim.true_energy_j)
    assert errors.max() < 0.02, errors
    assert abs(result.idle_power_w - workload.idle_w) < 0.05
    # The standard errors are honest: no layer is off by more than 4 of them.
    assert np.all(np.abs(result.energy_j - sim.true_energy_j) < 4 * result.energy_j_se + 1e-9)
    assert abs(result.check_relative) < 0.02


@pytest.mark.parametrize("seed", [0, 1])
def test_ina3221_like_box_rail_within_five_percent(seed: int) -> None:
    """Rail box-averaged and latched every 10 ms, polled every 1 ms, 1 mW quantum; known per-layer powers."""
    rng = np.random.default_rng(seed)
    workload = dataclasses.replace(Workload.random(12, rng), power_jitter=0.0)
    sim = simulate_runs(workload, 600, rng)
    t_ns, watts = simulate_box(sim.trace, rng, update_s=10e-3, poll_s=1e-3, quantum_w=1e-3)
    result = attribute(
        sim.events, t_ns, watts, counter=False, filter_model=FilterModel("box", 10e-3), update_period_s=10e-3
    )
    errors = _relative_errors(result.energy_j, sim.true_energy_j)
    assert errors.max() < 0.05, errors
    assert abs(result.check_relative) < 0.01
    assert abs(result.direct_inference_energy_j - sim.true_inference_energy_j) / sim.true_inference_energy_j < 0.01


def test_ema_rail_recovers_layers() -> None:
    rng = np.random.default_rng(3)
    workload = dataclasses.replace(Workload.random(6, rng, min_s=1e-3), power_jitter=0.0)
    sim = simulate_runs(workload, 300, rng)
    t_ns, watts = simulate_ema(sim.trace, rng, update_s=5e-3, tau_s=5e-3, poll_s=1e-3)
    result = attribute(
        sim.events, t_ns, watts, counter=False, filter_model=FilterModel("ema", 5e-3), update_period_s=5e-3
    )
    assert _relative_errors(result.energy_j, sim.true_energy_j).max() < 0.05


def test_instant_power_recovers_layers() -> None:
    rng = np.random.default_rng(4)
    workload = dataclasses.replace(Workload.random(5, rng, min_s=1e-3), power_jitter=0.0)
    sim = simulate_runs(workload, 300, rng)
    polls = np.arange(sim.trace.t_s[0] + 1e-4, sim.trace.t_s[-1], 0.37e-3)
    watts = sim.trace.power_w[np.searchsorted(sim.trace.t_s, polls, side="right") - 1]
    t_ns = sim.trace.origin_ns + np.round(polls * 1e9).astype(np.int64)
    result = attribute(
        sim.events, t_ns, watts, counter=False, filter_model=FilterModel("instant"), update_period_s=None
    )
    assert _relative_errors(result.energy_j, sim.true_energy_j).max() < 0.01


def test_bootstrap_errors_are_finite_and_close_to_analytic() -> None:
    rng = np.random.default_rng(5)
    workload = Workload.random(4, rng, min_s=1e-3)
    sim = simulate_runs(workload, 200, rng)
    t_ns, joules = simulate_counter(sim.trace, rng)
    kwargs = {"counter": True, "filter_model": FilterModel("counter"), "update_period_s": 1e-3}
    analytic = attribute(sim.events, t_ns, joules, **kwargs)  # type: ignore[arg-type]
    boot = attribute(sim.events, t_ns, joules, bootstrap=30, **kwargs)  # type: ignore[arg-type]
    assert boot.method == "nnls+huber+bootstrap"
    assert np.all(np.isfinite(boot.power_w_se))
    # Resampling runs also sees run-to-run power variation, which the analytic errors (independent
    # readings) do not: the bootstrap errors are at least comparable and may be several times larger.
    ratio = boot.power_w_se / analytic.power_w_se
    assert np.all((ratio > 0.3) & (ratio < 20)), ratio


def _two_runs() -> LayerEvents:
    return LayerEvents.from_runs(
        ["a", "b"],
        [
            RunRecord(1_000, 5_000, (0, 1), (1_500, 3_000), (2_500, 4_500)),
            RunRecord(10_000, 13_000, (0, 1), (10_000, 11_000), (11_000, 13_000)),
        ],
    )


def test_timeline_labels_layers_overhead_and_idle() -> None:
    timeline = build_segments(_two_runs(), origin_ns=0)
    at = np.array([500, 1_200, 2_000, 2_700, 4_000, 4_800, 7_000, 10_500, 12_000, 20_000]) * 1e-9
    assert list(timeline.label_at(at)) == [3, 2, 0, 2, 1, 2, 3, 0, 1, 3]


def test_overlapping_runs_are_refused() -> None:
    events = LayerEvents.from_runs(["a"], [RunRecord(0, 10, (0,), (0,), (10,)), RunRecord(5, 15, (0,), (5,), (15,))])
    with pytest.raises(AlignmentError, match="overlap"):
        build_segments(events, 0)


def test_box_rows_are_unit_weight_and_counter_rows_are_lengths() -> None:
    timeline = build_segments(_two_runs(), origin_ns=0)
    t_ns = np.arange(0, 20_001, 1_000)
    box = observations_from_samples(
        t_ns, np.arange(len(t_ns)) % 3 + 1.0, counter=False, filter_model=FilterModel("box", 2e-6),
        update_period_s=1e-6, origin_ns=0,
    )  # fmt: skip
    A, _ = build_design(timeline, box)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    counter = observations_from_samples(
        t_ns, np.cumsum(np.ones(len(t_ns))), counter=True, filter_model=FilterModel("counter"),
        update_period_s=1e-6, origin_ns=0,
    )  # fmt: skip
    A, _ = build_design(timeline, counter)
    lengths = counter.end_s - counter.start_s
    np.testing.assert_allclose(A.sum(axis=1) * np.median(lengths), lengths)


def test_too_few_readings() -> None:
    with pytest.raises(AlignmentError, match="fewer than two"):
        observations_from_samples(
            [1], [1.0], counter=True, filter_model=FilterModel("counter"), update_period_s=None, origin_ns=0
        )


def test_unseen_layer_is_undetermined() -> None:
    A = np.array([[1.0, 0.0, 0.5], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    power, se, _, _ = solve_powers(A, np.array([3.0, 2.0, 2.0]))
    assert np.isnan(power[1]) and np.isnan(se[1])
    np.testing.assert_allclose(power[[0, 2]], [2.0, 2.0])


@settings(max_examples=30, deadline=None)
@given(
    powers=st.lists(st.floats(0.0, 50.0), min_size=2, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_exact_windows_give_exact_powers(powers: list[float], seed: int) -> None:
    """Noise-free integrals over random windows determine the powers exactly (NNLS is exact when feasible)."""
    rng = np.random.default_rng(seed)
    truth = np.asarray(powers)
    A = rng.uniform(0, 1, (4 * len(truth), len(truth)))
    x, _se, rms, _ = solve_powers(A, A @ truth)
    np.testing.assert_allclose(x, truth, atol=1e-6 * (1 + truth.max()))
    assert rms < 1e-6 * (1 + truth.max())
