"""RAPL powercap reader against fake trees laid out as the kernel lays them out."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.discovery import discover_sensors
from synergy.sensors.rapl import RAPL_UPDATE_PERIOD_S, RaplSensor, find_rapl_zones
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl, write_atomic

Unprivileged = Callable[[Callable[[], Any]], tuple[str, Any]]


def test_layout_matches_the_kernel(tmp_path: Path) -> None:
    build_rapl(tmp_path)
    link = tmp_path / "sys/class/powercap/intel-rapl:0"
    assert link.is_symlink()
    assert os.readlink(link) == "../../devices/virtual/powercap/intel-rapl/intel-rapl:0"
    sub = tmp_path / "sys/class/powercap/intel-rapl:0:0"
    assert os.readlink(sub) == "../../devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0"
    assert stat.S_IMODE((link / "energy_uj").stat().st_mode) == 0o400
    assert (link / "constraint_1_time_window_us").read_text().strip() == "976"


def test_package_subzones_and_total(tmp_path: Path) -> None:
    build_rapl(tmp_path)
    sensor = RaplSensor(tmp_path)
    assert sensor.rails == ("package-0", "package-0/core", "package-0/uncore", "package-0/dram")
    assert sensor.total_rails == ("package-0", "package-0/dram")
    assert sensor.update_period_s == RAPL_UPDATE_PERIOD_S
    assert sensor.filter_model.kind == "counter"
    assert sensor.describe()["unit"] == "J"
    assert sensor.read().values[0] == pytest.approx(123.456789)


def test_two_sockets_and_server_dram(tmp_path: Path) -> None:
    build_rapl(tmp_path, packages=2, subzones=("dram",))
    sensor = RaplSensor(tmp_path)
    assert sensor.rails == ("package-0", "package-0/dram", "package-1", "package-1/dram")
    assert set(sensor.total_rails) == set(sensor.rails)


def test_top_level_dram_joins_the_total(tmp_path: Path) -> None:
    build_rapl(tmp_path, subzones=("core",), top_level_dram=True)
    assert RaplSensor(tmp_path).total_rails == ("package-0", "dram")


def test_psys_is_never_added_to_packages(tmp_path: Path) -> None:
    build_rapl(tmp_path, psys=True)
    sensor = RaplSensor(tmp_path)
    assert "psys" in sensor.rails
    assert sensor.total_rails == ("package-0", "package-0/dram")


def test_psys_alone_is_the_total_without_packages(tmp_path: Path) -> None:
    build_rapl(tmp_path, packages=0, psys=True)
    assert RaplSensor(tmp_path).total_rails == ("psys",)


def test_mmio_duplicate_of_the_package_is_not_counted(tmp_path: Path) -> None:
    build_rapl(tmp_path, mmio=True)
    sensor = RaplSensor(tmp_path)
    assert "mmio:package-0" in sensor.rails
    assert "mmio:package-0" not in sensor.total_rails


def test_rails_and_total_can_be_chosen(tmp_path: Path) -> None:
    build_rapl(tmp_path)
    sensor = RaplSensor(tmp_path, rails=["package-0/core"], total_rails=["package-0/core"])
    assert sensor.rails == ("package-0/core",)
    with pytest.raises(SensorUnavailable, match="available: package-0, package-0/core"):
        RaplSensor(tmp_path, rails=["gpu"])
    with pytest.raises(SensorUnavailable, match="total rail"):
        RaplSensor(tmp_path, rails=["package-0"], total_rails=["package-0/dram"])


def test_energy_of_a_window_at_hardware_pace(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path)
    writer = SysfsWriter(tree, {"package-0": Constant(10.0), "package-0/dram": Constant(2.0)}, default=Constant(0))
    writer.step(100.0)
    sensor = RaplSensor(tmp_path)
    first = sensor.read()
    writer.step(100.050)
    second = sensor.read()
    deltas = dict(zip(sensor.rails, (b - a for a, b in zip(first.values, second.values, strict=True)), strict=True))
    assert deltas["package-0"] == pytest.approx(0.5, abs=10.0 * RAPL_UPDATE_PERIOD_S)
    assert deltas["package-0/dram"] == pytest.approx(0.1, abs=2.0 * RAPL_UPDATE_PERIOD_S)
    assert sensor.total(second) - sensor.total(first) == pytest.approx(0.6, abs=12.0 * RAPL_UPDATE_PERIOD_S)


def test_wraparound_at_max_energy_range(tmp_path: Path) -> None:
    # a 1 J range wraps every 100 ms at 10 W: unwrapped energy keeps counting
    tree = build_rapl(tmp_path, subzones=(), max_energy_range_uj=1_000_000, initial_uj=900_000)
    writer = SysfsWriter(tree, {"package-0": Constant(10.0)})
    writer.step(0.0)
    sensor = RaplSensor(tmp_path)
    start = sensor.read().values[0]
    raws = []
    for k in range(1, 31):
        writer.step(k * 0.010)  # 10 reads per wrap
        raws.append(int((tmp_path / "sys/class/powercap/intel-rapl:0/energy_uj").read_text()))
        sensor.read()
    assert min(raws) < 900_000  # the file did wrap, three times
    assert sensor.read().values[0] - start == pytest.approx(3.0, abs=0.001)
    assert sensor.details()["zones"][0]["max_energy_range_j"] == 1.0


def test_root_without_rapl(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match=r"no intel-rapl zone under /sys/class/powercap"):
        RaplSensor(tmp_path)
    assert find_rapl_zones(tmp_path / "nonexistent") == []


def test_garbage_in_energy_uj_is_a_read_error(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    sensor = RaplSensor(tmp_path)
    write_atomic(tree.drivers["package-0"].files()[0], "12x")
    with pytest.raises(SensorReadError, match="energy_uj holds '12x'"):
        sensor.read()


def test_vanished_zone_is_unavailable(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    sensor = RaplSensor(tmp_path)
    tree.drivers["package-0"].files()[0].unlink()
    with pytest.raises(SensorUnavailable, match="intel-rapl:0/energy_uj has vanished"):
        sensor.read()


def test_root_only_energy_uj_says_why_and_what_to_do(world_readable_dir: Path, unprivileged: Unprivileged) -> None:
    build_rapl(world_readable_dir, energy_mode=0o400)
    name, message = unprivileged(lambda: RaplSensor(world_readable_dir).rails)
    assert name == "SensorPermissionError"
    assert "/sys/class/powercap/intel-rapl:0/energy_uj is readable by root only (mode 0400" in message
    assert "run as root" in message and "0444" in message and "perf_event_paranoid" in message
    assert "\n" not in message


def test_world_readable_energy_uj_opens_without_root(world_readable_dir: Path, unprivileged: Unprivileged) -> None:
    build_rapl(world_readable_dir, energy_mode=0o444)
    assert unprivileged(lambda: RaplSensor(world_readable_dir).rails)[0] == ""


def test_discovery_reports_the_permission_remedy(world_readable_dir: Path, unprivileged: Unprivileged) -> None:
    build_rapl(world_readable_dir, energy_mode=0o400)
    name, reasons = unprivileged(lambda: discover_sensors(world_readable_dir).unavailable)
    assert name == ""
    assert reasons["rapl"].startswith("/sys/class/powercap/intel-rapl:0/energy_uj is readable by root only")
