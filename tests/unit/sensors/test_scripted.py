"""The scripted sensor behaves like paced hardware (a fake clock makes it deterministic)."""

from __future__ import annotations

import itertools

import pytest

from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.base import SensorKind
from synergy.sensors.scripted import CounterUnwrapper, ScriptedSensor


class FakeClock:
    def __init__(self) -> None:
        self.t_ns = 0

    def __call__(self) -> int:
        return self.t_ns


def test_counter_advances_only_at_update_boundaries() -> None:
    clock = FakeClock()
    sensor = ScriptedSensor(10.0, update_period_s=0.001, clock=clock)
    clock.t_ns = 500_000
    assert sensor.read().values == (0.0,)
    clock.t_ns = 1_400_000
    assert sensor.read().values[0] == pytest.approx(0.01)
    clock.t_ns = 3_999_999
    assert sensor.read().values[0] == pytest.approx(0.03)


def test_power_is_the_box_average_of_the_last_period() -> None:
    clock = FakeClock()
    sensor = ScriptedSensor(lambda t: 100.0 * t, kind=SensorKind.POWER, update_period_s=0.1, clock=clock)
    assert sensor.filter_model.kind == "box" and sensor.filter_model.window_s == pytest.approx(0.1)
    clock.t_ns = 250_000_000  # last latch at 0.2 s: mean of 100 t over [0.1, 0.2] = 15 W
    assert sensor.read().values[0] == pytest.approx(15.0)


def test_wrapping_counter_is_unwrapped_by_read() -> None:
    clock = FakeClock()
    sensor = ScriptedSensor(10.0, update_period_s=0.001, wrap_j=0.05, clock=clock)
    totals = []
    for ms in range(0, 200, 3):
        clock.t_ns = ms * 1_000_000
        raw = sensor.read_raw().values[0]
        assert 0 <= raw < 0.05
        totals.append(sensor.read().values[0])
    assert all(b >= a for a, b in itertools.pairwise(totals))
    assert totals[-1] == pytest.approx(10.0 * 0.198, rel=1e-6)


def test_resolution_quantises_the_counter() -> None:
    clock = FakeClock()
    sensor = ScriptedSensor(1.0, update_period_s=0.001, resolution_j=0.01, clock=clock)
    clock.t_ns = 15_000_000
    assert sensor.read().values[0] == pytest.approx(0.01)


def test_errors_and_vanishing() -> None:
    clock = FakeClock()
    sensor = ScriptedSensor(1.0, errors=[(0.1, 0.2)], error_reason="EAGAIN", vanish_at_s=0.5, clock=clock)
    clock.t_ns = 150_000_000
    with pytest.raises(SensorReadError, match="EAGAIN"):
        sensor.read()
    clock.t_ns = 250_000_000
    sensor.read()
    clock.t_ns = 500_000_000
    with pytest.raises(SensorUnavailable, match="vanished"):
        sensor.read()


def test_several_rails_and_description() -> None:
    sensor = ScriptedSensor([1.0, 2.0], rails=("cpu", "gpu"), state_period=False)
    assert sensor.rails == ("cpu", "gpu") and sensor.update_period_s is None
    described = sensor.describe()
    assert described["kind"] == "energy" and described["unit"] == "J" and described["scripted"] is True
    with pytest.raises(ValueError, match="rail names"):
        ScriptedSensor([1.0, 2.0], rails=("one",))
    sensor.close()
    with pytest.raises(SensorUnavailable):
        sensor.read()


def test_unwrapper() -> None:
    u = CounterUnwrapper(100.0)
    assert [u.update(v) for v in (90.0, 95.0, 5.0, 10.0)] == [90.0, 95.0, 105.0, 110.0]
