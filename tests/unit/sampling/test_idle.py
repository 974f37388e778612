"""Idle power with its spread."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synergy.errors import SamplingError
from synergy.sampling.idle import idle_from_timeline, measure_idle
from synergy.sampling.timeline import Timeline
from synergy.sensors.base import FilterModel, NullSensor, SensorKind
from synergy.sensors.scripted import ScriptedSensor


def test_measure_idle_from_a_counter() -> None:
    sensor = ScriptedSensor(lambda t: 7.0 + 0.5 * math.sin(40 * t), update_period_s=0.001, resolution_j=1e-6)
    idle = measure_idle(sensor, 0.4)
    assert idle.mean_w == pytest.approx(7.0, abs=0.3)
    assert idle.n >= 2 and idle.std_w >= 0 and idle.sem_w == pytest.approx(idle.std_w / math.sqrt(idle.n))
    assert idle.duration_s > 0.3 and idle.rails_w["total"] == pytest.approx(idle.mean_w)
    assert set(idle.to_dict()) >= {"mean_w", "std_w", "sem_w", "n", "duration_s"}


def test_measure_idle_from_a_constant_power_sensor() -> None:
    sensor = ScriptedSensor(4.0, kind=SensorKind.POWER, update_period_s=0.01)
    idle = measure_idle(sensor, 0.2)
    assert idle.mean_w == pytest.approx(4.0) and idle.std_w == pytest.approx(0.0)


def test_spread_from_sub_windows_is_exact_on_a_known_timeline() -> None:
    # Power alternates 1 W and 3 W each second over 4 s (box model): halves give 2 W each, quarters 1/3/1/3.
    t = np.arange(0, 5, dtype=np.int64) * 1_000_000_000
    tl = Timeline(
        kind=SensorKind.POWER, rails=("r",), t_ns=t, values=[0.0, 1.0, 3.0, 1.0, 3.0], filter_model=FilterModel("box")
    )
    idle = idle_from_timeline(tl, n_windows=4)
    assert idle.mean_w == pytest.approx(2.0)
    assert idle.std_w == pytest.approx(np.std([1, 3, 1, 3], ddof=1))
    assert idle_from_timeline(tl, n_windows=2).std_w == pytest.approx(0.0)


def test_idle_refuses_what_cannot_be_measured() -> None:
    with pytest.raises(SamplingError, match="positive"):
        measure_idle(ScriptedSensor(1.0), 0)
    with pytest.raises(SamplingError):
        measure_idle(NullSensor(), 0.01)
