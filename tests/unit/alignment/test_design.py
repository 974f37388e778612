"""The latch grid fit and the latch lag: robust to a few bad reads, and the lag found from the readings."""

from __future__ import annotations

import dataclasses

import numpy as np

from synergy.alignment.attribute import attribute
from synergy.alignment.design import _latch_times
from synergy.alignment.simulate import Workload, simulate_counter, simulate_runs
from synergy.sensors.base import FilterModel


def _changes(period_s: float, phase_s: float, poll_s: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First read of each new value and last read of the old one, for a sensor latching on a grid."""
    rng = np.random.default_rng(seed)
    polls = np.cumsum(poll_s * (1 + 0.1 * rng.uniform(-1, 1, int(n * period_s / poll_s) + 10)))
    tick = np.floor((polls - phase_s) / period_s)
    changed = np.flatnonzero(np.diff(tick) > 0) + 1
    return polls[changed], polls[changed - 1]


def test_grid_fit_survives_a_late_read_and_an_early_stamp() -> None:
    period, phase = 1e-3, 0.3e-3
    t_now, t_prev = _changes(period, phase, 0.25e-3, 2000, seed=0)
    t_now = t_now.copy()
    t_prev = t_prev.copy()
    # A read of the old value stamped late puts two changes closer than a period apart (a step that rounds
    # to zero periods); a read stamped 3 ms early lies far before the value it saw.
    t_prev[500] = t_now[500] - 1e-6
    t_now[499] = t_prev[500] - 2e-6
    t_now[1200] -= 3e-3
    latch, ticks, keep = _latch_times(t_now, t_prev, period)
    assert ticks is not None, "the grid fit gave up"
    offset = (latch[keep] - phase + period / 2) % period - period / 2
    # Every latch lies on the grid to a few microseconds (bracket midpoints would scatter by ±125 µs).
    assert np.quantile(np.abs(offset), 0.99) < 10e-6, np.quantile(np.abs(offset), [0.5, 0.99, 1.0])
    assert keep.sum() >= len(keep) - 2


def test_latch_lag_is_found_from_the_readings() -> None:
    """Reads stamped 40 µs after the values appeared (a driver that publishes late): the lag is found."""
    rng = np.random.default_rng(7)
    workload = dataclasses.replace(Workload.random(8, rng), power_jitter=0.0)
    sim = simulate_runs(workload, 400, rng)
    t_ns, joules = simulate_counter(sim.trace, rng, tick_s=1e-3, poll_s=0.25e-3, quantum_j=1e-6)
    late = t_ns + 40_000
    kwargs = {"counter": True, "filter_model": FilterModel("counter"), "update_period_s": 1e-3}
    found = attribute(sim.events, late, joules, **kwargs)  # type: ignore[arg-type]
    assert abs(found.extras["latch_lag_s"] - 40e-6) < 5e-6, found.extras["latch_lag_s"]
    errors = np.abs(found.energy_j - sim.true_energy_j) / sim.true_energy_j
    ignored = attribute(sim.events, late, joules, latch_lag_s=0.0, **kwargs)  # type: ignore[arg-type]
    errors_ignored = np.abs(ignored.energy_j - sim.true_energy_j) / sim.true_energy_j
    assert errors.max() < 0.02 and errors.max() < errors_ignored.max() / 2, (errors.max(), errors_ignored.max())
