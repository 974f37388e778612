"""RAPL powercap reader against fake trees laid out as the kernel lays them out."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.discovery import discover_sensors, open_sensor
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


def _mixed_permissions(root: Path) -> None:
    """package-0 made readable (a udev rule for the package only, as a how-to leaves it); the rest root-only."""
    build_rapl(root, energy_mode=0o400)
    os.chmod(root / "sys/class/powercap/intel-rapl:0/energy_uj", 0o444)


def test_readable_zones_are_used_and_unreadable_ones_reported(
    world_readable_dir: Path, unprivileged: Unprivileged
) -> None:
    _mixed_permissions(world_readable_dir)

    def probe() -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]:
        sensor = RaplSensor(world_readable_dir)
        return sensor.rails, sensor.total_rails, sensor.details()

    name, result = unprivileged(probe)
    assert name == "", result
    rails, total, details = result
    assert rails == ("package-0",) and total == ("package-0",)
    assert details["total_note"] == "without package-0/dram (not readable by this user)"
    unreadable = {entry["rail"]: entry["reason"] for entry in details["unreadable"]}
    assert set(unreadable) == {"package-0/core", "package-0/uncore", "package-0/dram"}
    assert "intel-rapl:0:2/energy_uj is readable by root only" in unreadable["package-0/dram"]
    assert "0444" in unreadable["package-0/dram"]


def test_a_named_readable_rail_opens_and_a_named_unreadable_one_says_why(
    world_readable_dir: Path, unprivileged: Unprivileged
) -> None:
    _mixed_permissions(world_readable_dir)
    assert unprivileged(lambda: open_sensor("rapl", world_readable_dir, rails=["package-0"]).rails) == (
        "",
        ("package-0",),
    )
    name, message = unprivileged(lambda: open_sensor("rapl", world_readable_dir, rails=["package-0/dram"]).rails)
    assert name == "SensorPermissionError" and "intel-rapl:0:2/energy_uj is readable by root only" in message


def test_a_counter_stepping_back_is_a_gap_not_a_wrap(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    path = tree.drivers["package-0"].files()[0]
    sensor = RaplSensor(tmp_path)
    before = sensor.read().values[0]
    write_atomic(path, str(123_456_789 - 5_000_000))  # 5 J back, far from the 262 kJ wrap
    with pytest.raises(SensorReadError, match=r"intel-rapl:0/energy_uj stepped back .* not a wrap"):
        sensor.read()
    write_atomic(path, str(123_456_789 + 1_000))
    assert sensor.read().values[0] - before == pytest.approx(0.001)


def test_a_negative_counter_is_a_read_error_naming_the_file(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    sensor = RaplSensor(tmp_path)
    write_atomic(tree.drivers["package-0"].files()[0], "-42")
    with pytest.raises(SensorReadError, match=r"intel-rapl:0/energy_uj reads -42, outside its range"):
        sensor.read()


def test_a_fifo_named_energy_uj_is_refused_without_blocking(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    path = tree.drivers["package-0"].files()[0]
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(SensorReadError, match=r"intel-rapl:0/energy_uj is a FIFO, not a regular file"):
        RaplSensor(tmp_path)
    assert "is a FIFO" in discover_sensors(tmp_path).unavailable["rapl"]
