"""Readings that cannot determine a layer give NaN with the reason, or a refusal naming the remedy; never a
confident wrong number (``0 ± 0``, a power far outside what the sensor saw)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synergy.alignment.attribute import attribute, attribute_timeline, solve_powers
from synergy.alignment.identifiability import identify
from synergy.alignment.simulate import Workload, simulate_box, simulate_counter, simulate_runs
from synergy.errors import AlignmentError, UndeterminedError
from synergy.sampling.timeline import Timeline
from synergy.sensors.base import FilterModel, SensorKind


def _resnet_like(rng: np.random.Generator, power_w: float | None = None) -> Workload:
    """62 layers of 10 µs – 3 ms (ResNet-18 has 60-odd measured layers), one of them 10 µs."""
    n = 62
    duration = np.exp(rng.uniform(np.log(10e-6), np.log(3e-3), n))
    duration[0] = 10e-6
    power = np.full(n, power_w) if power_w is not None else rng.uniform(8.0, 25.0, n)
    idle = power_w if power_w is not None else 5.0
    overhead = power_w if power_w is not None else 12.0
    return Workload(tuple(f"layer{i}" for i in range(n)), duration, power, idle, overhead, power_jitter=0.0)


def test_constant_rail_with_two_stored_rows_is_refused_with_the_remedy() -> None:
    """A Jetson rail at constant 15 W: the sampler stores the first read and the closing one, nothing else."""
    rng = np.random.default_rng(0)
    sim = simulate_runs(_resnet_like(rng, 15.0), 100, rng, lead_s=0.5)
    first = int(sim.events.run_start_ns.min()) - 500_000_000
    last = int(sim.events.run_end_ns.max()) + 300_000_000
    timeline = Timeline(
        kind=SensorKind.POWER,
        rails=("VDD_IN",),
        t_ns=[first, last],
        values=[[15.0], [15.0]],
        t_prev_ns=[first, last],
        filter_model=FilterModel("box", 0.43),
        update_period_s=0.43,
    )
    with pytest.raises(AlignmentError, match="isolation mode") as info:
        attribute_timeline(sim.events, timeline)
    assert "more runs" in str(info.value) and "update faster" in str(info.value)
    assert "--" not in str(info.value)  # the library names no command-line flags


def test_sensor_updating_every_430_ms_over_30_runs_is_refused() -> None:
    """INA3221 at its default averaging (430 ms) sees a few windows in 30 runs: far fewer than the unknowns."""
    rng = np.random.default_rng(1)
    sim = simulate_runs(_resnet_like(rng), 30, rng, lead_s=1.0)
    t_ns, watts = simulate_box(sim.trace, rng, update_s=0.43, poll_s=0.027)
    with pytest.raises(UndeterminedError, match="cannot determine the layers"):
        attribute(sim.events, t_ns, watts, counter=False, filter_model=FilterModel("box", 0.43), update_period_s=0.43)


def test_refusal_keeps_what_the_readings_do_determine() -> None:
    """Layers of 4–8 µs in 40 runs on a 1 ms counter: refused, but the whole inference's energy stays."""
    rng = np.random.default_rng(4)
    duration = np.array([8e-6, 6e-6, 4e-6, 4e-6, 5e-6])
    workload = Workload(tuple(f"layer{i}" for i in range(5)), duration, np.full(5, 20.0), 20.0, 20.0, gap_s=0.3e-3)
    sim = simulate_runs(workload, 40, rng, pause_s=(0.0, 1e-3), lead_s=0.3)
    t_ns, joules = simulate_counter(sim.trace, rng, tick_s=1e-3, poll_s=0.25e-3)
    with pytest.raises(UndeterminedError, match="isolation mode") as info:
        attribute(sim.events, t_ns, joules, counter=True, filter_model=FilterModel("counter"), update_period_s=1e-3)
    kept = info.value.attribution
    assert kept is not None and not kept.determined.any() and all(kept.reasons)
    assert kept.direct_inference_energy_j == pytest.approx(sim.true_inference_energy_j, rel=0.1)


@pytest.mark.parametrize("poll_s", [1e-3, 0.25e-3])
def test_constant_15_w_counter_gives_right_numbers_or_honest_errors(poll_s: float) -> None:
    """Fake RAPL at 15 W everywhere: each layer is 15 W within its error bars, or undetermined; the fitted
    and the measured idle are reported side by side and agree."""
    rng = np.random.default_rng(2)
    sim = simulate_runs(_resnet_like(rng, 15.0), 100, rng, lead_s=0.3)
    t_ns, joules = simulate_counter(sim.trace, rng, tick_s=1e-3, poll_s=poll_s)
    result = attribute(
        sim.events,
        t_ns,
        joules,
        counter=True,
        filter_model=FilterModel("counter"),
        update_period_s=1e-3,
        latch_lag_s=0.0,
    )
    ok = result.determined
    assert ok.sum() > len(ok) // 2
    error = np.abs(result.energy_j[ok] - sim.true_energy_j[ok])
    assert np.all(error <= 5 * result.energy_j_se[ok] + 0.02 * sim.true_energy_j[ok]), error / sim.true_energy_j[ok]
    assert np.all(result.power_w_se[ok] > 0)  # never 0 ± 0
    assert np.all(np.isnan(result.energy_j[~ok]))
    assert all(result.reasons[i] for i in np.flatnonzero(~ok))
    summary = result.summary()
    assert summary["idle_measured_w"] == pytest.approx(15.0, rel=0.01)
    assert summary["idle_fitted_w"] == pytest.approx(15.0, rel=0.03)
    assert set(summary["undetermined_reasons"]) == set(summary["undetermined_layers"])


def test_layers_seen_only_together_are_undetermined_with_the_reason() -> None:
    A = np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 1.0], [0.5, 0.5, 1.0], [0.0, 0.0, 1.0]])
    power, se, _, _ = solve_powers(A, A @ np.array([3.0, 5.0, 2.0]))
    assert np.isnan(power[:2]).all() and np.isnan(se[:2]).all()
    assert power[2] == pytest.approx(2.0)
    ident = identify(A, np.ones(3), highest_power_w=10.0, names=("a", "b", "c"))
    assert not ident.determined[0] and "together with b" in ident.reason[0]
    assert ident.determined[2] and ident.rank == 2


def test_fewer_readings_than_unknowns_is_refused() -> None:
    with pytest.raises(AlignmentError, match="2 sensor reading"):
        solve_powers(np.array([[1.0, 0.5, 0.2], [0.3, 1.0, 0.1]]), np.array([1.0, 2.0]))


def test_an_error_larger_than_every_power_seen_is_undetermined() -> None:
    ident = identify(np.eye(3), np.array([0.1, 50.0, 0.2]), highest_power_w=20.0)
    assert ident.determined.tolist() == [True, False, True]
    assert "exceeds the highest power observed" in ident.reason[1]


def test_headline_and_layers_use_the_runs_the_sensor_covered() -> None:
    """The sensor vanishes half-way: both figures come from the first half of the runs, and say so."""
    rng = np.random.default_rng(3)
    workload = dataclasses.replace(Workload.random(6, rng, min_s=1e-3), power_jitter=0.0)
    sim = simulate_runs(workload, 200, rng)
    t_ns, joules = simulate_counter(sim.trace, rng, tick_s=1e-3, poll_s=0.25e-3)
    cut = int(sim.events.run_start_ns[100])
    keep = t_ns < cut
    result = attribute(
        sim.events, t_ns[keep], joules[keep], counter=True, filter_model=FilterModel("counter"), update_period_s=1e-3
    )
    assert result.runs < 101 and result.extras["runs_not_covered"] == 200 - result.runs
    covered = sim.events.select_runs(np.arange(200) < result.runs)
    truth = sim.trace.energy_at((covered.run_end_ns - sim.trace.origin_ns) * 1e-9) - sim.trace.energy_at(
        (covered.run_start_ns - sim.trace.origin_ns) * 1e-9
    )
    assert result.direct_inference_energy_j == pytest.approx(float(truth.mean()), rel=0.03)
    assert abs(result.check_relative) < 0.03
    np.testing.assert_allclose(result.duration_s, covered.duration_matrix_s().mean(axis=0))
