"""Discovery of every backend, and opening a sensor by its --sensor name."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synergy.errors import SensorUnavailable, UsageError
from synergy.sensors.base import NullSensor
from synergy.sensors.discovery import AUTO_ORDER, discover_sensors, open_sensor
from synergy.testing.fake_nvml import FakeGPU, FakeNVML
from synergy.testing.sysfs import build_battery, build_jetson_hwmon, build_rapl, write_atomic

Unprivileged = Callable[[Callable[[], Any]], tuple[str, Any]]


def test_root_without_sensors_lists_every_reason(tmp_path: Path) -> None:
    found = discover_sensors(tmp_path, nvml_module=FakeNVML(library_found=False))
    assert found.sensors == []
    assert list(found.unavailable) == list(AUTO_ORDER)
    assert found.unavailable["rapl"] == "no intel-rapl zone under /sys/class/powercap"
    assert "libnvidia-ml.so.1" in found.unavailable["nvml"]
    best = found.best()
    assert isinstance(best, NullSensor)
    assert "rapl: no intel-rapl zone" in best.reason
    with pytest.raises(SensorUnavailable, match="no power sensor is usable"):
        best.read()


def test_nvml_is_not_probed_under_a_fake_root(tmp_path: Path) -> None:
    found = discover_sensors(tmp_path)
    assert found.unavailable["nvml"].startswith("not probed under --sysfs-root")


def test_named_sensor_absent_says_what_was_probed(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match="no intel-rapl zone under /sys/class/powercap"):
        open_sensor("rapl", root=tmp_path)
    with pytest.raises(SensorUnavailable, match="no INA3221 or INA238 rail"):
        open_sensor("jetson", root=tmp_path)


def test_auto_prefers_the_board_then_gpu_then_cpu(tmp_path: Path) -> None:
    build_rapl(tmp_path)
    build_battery(tmp_path)
    nvml = FakeNVML([FakeGPU()])
    found = discover_sensors(tmp_path, nvml_module=nvml)
    assert [s.name for s in found.sensors] == ["nvml", "rapl", "power-supply"]
    found.close()
    auto = open_sensor("auto", root=tmp_path, nvml_module=nvml)
    assert auto.name == "nvml"
    auto.close()
    assert nvml.init_count == 0  # every other opened sensor was closed too
    build_jetson_hwmon(tmp_path, "agx_orin")
    assert open_sensor("auto", root=tmp_path, nvml_module=FakeNVML.jetson()).name == "jetson"


def test_unreadable_sensor_is_not_usable(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "nano")
    write_atomic(tree.paths["6-0040"] / "in1_input", "garbage")
    found = discover_sensors(tmp_path)
    assert found.unavailable["jetson"].startswith("found but not readable: ")
    assert "in1_input holds 'garbage'" in found.unavailable["jetson"]


def test_named_backends_and_options(tmp_path: Path) -> None:
    build_rapl(tmp_path)
    sensor = open_sensor("rapl", root=tmp_path, rails=["package-0"])
    assert sensor.rails == ("package-0",)
    assert isinstance(open_sensor("none"), NullSensor)
    nvml = open_sensor("nvml", nvml_module=FakeNVML())
    assert nvml.name == "nvml"
    nvml.close()


def test_unknown_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown sensor 'foo'; choose one of auto, none, jetson"):
        open_sensor("foo")
    with pytest.raises(UsageError, match="trace:FILE needs a file name"):
        open_sensor("trace:")


def test_trace_without_the_trace_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "synergy.sensors.trace", None)  # import fails as if absent
    with pytest.raises(SensorUnavailable, match="trace sensors are not supported"):
        open_sensor("trace:meter.csv")


def test_trace_hook_delegates_to_the_trace_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []

    def open_trace_sensor(path: Path, **options: object) -> NullSensor:
        calls.append((path, options))
        return NullSensor(reason="trace")

    module = types.ModuleType("synergy.sensors.trace")
    module.open_trace_sensor = open_trace_sensor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "synergy.sensors.trace", module)
    sensor = open_sensor("trace:/data/meter.csv", offset_s=1.5)
    assert isinstance(sensor, NullSensor)
    assert calls == [(Path("/data/meter.csv"), {"offset_s": 1.5})]


def test_discovery_to_dict(tmp_path: Path) -> None:
    build_rapl(tmp_path)
    with discover_sensors(tmp_path) as found:
        data = found.to_dict()
    assert data["sensors"][0]["name"] == "rapl"
    assert {u["name"] for u in data["unavailable"]} == {"jetson", "rpi-pmic", "nvml", "amdgpu", "power-supply"}


def test_unlistable_directory_is_a_reason_not_a_traceback(world_readable_dir: Path, unprivileged: Unprivileged) -> None:
    build_rapl(world_readable_dir)
    os.chmod(world_readable_dir / "sys/class/powercap", 0o700)
    name, reasons = unprivileged(lambda: discover_sensors(world_readable_dir).unavailable)
    assert name == ""
    assert reasons["rapl"] == "cannot probe /sys/class/powercap: Permission denied"
