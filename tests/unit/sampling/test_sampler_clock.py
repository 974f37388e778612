"""The sampler's logic on a virtual clock: rates, read phase and counters polled faster than they update."""

from __future__ import annotations

import numpy as np
import pytest

from synergy.sampling.sampler import Sampler, SamplerResult, poll_period_for
from synergy.sensors.base import SensorKind
from synergy.sensors.scripted import ScriptedSensor
from synergy.testing.clock import ManualClock


def _run(sampler_kw: dict[str, object], seconds: float, **sensor_kw: object) -> tuple[SamplerResult, ScriptedSensor]:
    clock = ManualClock(until_ns=ManualClock.START_NS + int(seconds * 1e9))
    sensor = ScriptedSensor(clock=clock.now_ns, **sensor_kw)  # type: ignore[arg-type]
    sampler = Sampler(sensor, clock=clock, **sampler_kw).start()  # type: ignore[arg-type]
    assert clock.reached.wait(60)
    return sampler.stop(), sensor


def test_a_counter_is_polled_faster_than_it_updates_whatever_the_cap() -> None:
    """Intel RAPL's nominal 976 µs: every update is seen on its own, and no increment is lost."""
    result, sensor = _run({"max_rate_hz": 1000.0, "jitter_seed": 0}, 1.0, power_w=15.0, update_period_s=976e-6)
    report = result.channels["scripted"]
    assert report.poll_period_s <= 976e-6 / 4
    tl = result.timeline()
    increments = np.diff(tl.values[:-1, 0])
    # One update between two reads, never two: each increment is one period's energy.
    assert increments.max() < 1.5 * 15.0 * 976e-6
    assert len(increments) == pytest.approx(1.0 / 976e-6, rel=0.02)
    lo, hi = tl.coverage_ns
    truth = sensor.true_energy_j((lo - sensor.origin_ns) / 1e9, (hi - sensor.origin_ns) / 1e9)[0]
    assert tl.energy_j(lo, hi) == pytest.approx(truth, rel=1e-3)


def test_the_read_phase_cannot_lock_to_the_publication_grid() -> None:
    """Polled at exactly the update period: with the random read phase the reads fall anywhere in a period."""
    kw = {"power_w": 15.0, "update_period_s": 1e-3}
    phases = {}
    for read_phase in (False, True):
        result, sensor = _run({"poll_period_s": 1e-3, "read_phase": read_phase, "jitter_seed": 1}, 0.5, **kw)
        tl = result.timeline()
        phase = ((tl.t_ns[1:-1] - sensor.origin_ns) % 1_000_000) / 1e6
        phases[read_phase] = float(np.std(phase))
    assert phases[False] < 0.01  # locked: every read at one phase of the grid
    assert phases[True] > 0.2  # uniform over the period: std ≈ 1/√12 ≈ 0.29


def test_rates_and_errors_on_the_virtual_clock() -> None:
    result, _ = _run(
        {}, 0.5, power_w=lambda t: 4.0 + 6.0 * ((t % 0.1) < 0.05), kind=SensorKind.POWER, update_period_s=0.02
    )
    report = result.channels["scripted"]
    assert report.poll_period_s == pytest.approx(0.02 / 16)
    assert report.achieved_rate_hz == pytest.approx(16 / 0.02, rel=0.05)
    assert report.n_late == 0 and result.wall_s == pytest.approx(0.5, rel=0.01)


def test_minimum_oversampling_of_sensors() -> None:
    assert poll_period_for(976e-6, max_rate_hz=1000.0, min_oversample=4.0) == pytest.approx(244e-6)
    assert poll_period_for(0.01, max_rate_hz=1000.0, min_oversample=4.0) == pytest.approx(1e-3)
    assert poll_period_for(None, min_oversample=4.0) == pytest.approx(0.01)
