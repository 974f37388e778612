"""power_supply (battery) reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.power_supply import PowerSupplySensor, find_power_supplies
from synergy.testing.sysfs import Constant, SysfsWriter, build_battery, write_atomic


@pytest.mark.parametrize("negative", [True, False])
def test_voltage_times_current_whatever_the_sign(tmp_path: Path, negative: bool) -> None:
    tree = build_battery(tmp_path, negative_current=negative)
    SysfsWriter(tree, {"BAT0": Constant(7.5)}).step(0.0)
    current = int((tmp_path / "sys/class/power_supply/BAT0/current_now").read_text())
    assert (current < 0) == negative
    sensor = PowerSupplySensor(tmp_path)
    assert sensor.rails == ("BAT0",)
    assert sensor.read().values == pytest.approx((7.5,), abs=1e-5)
    assert sensor.status() == {"BAT0": "Discharging"}


def test_power_now(tmp_path: Path) -> None:
    tree = build_battery(tmp_path, power_now=True, status="Charging")
    SysfsWriter(tree, {"BAT0": Constant(4.0)}).step(0.0)
    sensor = PowerSupplySensor(tmp_path)
    assert sensor.read().values == pytest.approx((4.0,))
    assert sensor.details()["status"] == {"BAT0": "Charging"}
    assert sensor.details()["files"]["BAT0"] == ["/sys/class/power_supply/BAT0/power_now"]


def test_mains_is_not_a_sensor(tmp_path: Path) -> None:
    build_battery(tmp_path, mains=True)
    assert [s.rail for s in find_power_supplies(tmp_path)] == ["BAT0"]
    assert [s.rail for s in find_power_supplies(tmp_path, types=("Mains",))] == []


def test_two_batteries_sum(tmp_path: Path) -> None:
    tree = build_battery(tmp_path, name="BAT0") | build_battery(tmp_path, name="BAT1", power_now=True)
    SysfsWriter(tree, {"BAT0": Constant(3.0), "BAT1": Constant(2.0)}).step(0.0)
    sensor = PowerSupplySensor(tmp_path)
    assert sensor.total(sensor.read()) == pytest.approx(5.0, abs=1e-5)


def test_no_battery_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match="no Battery with power_now"):
        PowerSupplySensor(tmp_path)
    build_battery(tmp_path)
    sensor = PowerSupplySensor(tmp_path)
    write_atomic(tmp_path / "sys/class/power_supply/BAT0/voltage_now", "1140")  # half-written
    assert sensor.read().values[0] == 0.0  # a short value parses; current is still 0
    write_atomic(tmp_path / "sys/class/power_supply/BAT0/voltage_now", "11x")
    with pytest.raises(SensorReadError):
        sensor.read()
