"""AMD GPU hwmon reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.errors import SensorUnavailable
from synergy.sensors.amdgpu import AmdGpuSensor
from synergy.testing.sysfs import Constant, SysfsWriter, build_amdgpu


def test_instant_file_is_preferred(tmp_path: Path) -> None:
    tree = build_amdgpu(tmp_path)
    SysfsWriter(tree, {"card0": Constant(123.25)}).step(0.0)
    sensor = AmdGpuSensor(tmp_path)
    assert sensor.rails == ("card0",)
    assert sensor.filter_model.kind == "instant"
    assert sensor.details()["files"]["card0"].endswith("/power1_input")
    assert sensor.read().values == pytest.approx((123.25,))


def test_average_only_is_a_box_filter(tmp_path: Path) -> None:
    tree = build_amdgpu(tmp_path, instant=False)
    SysfsWriter(tree, {"card0": Constant(80.0)}).step(0.0)
    sensor = AmdGpuSensor(tmp_path, average_window_s=1.0)
    assert sensor.filter_model.kind == "box"
    assert sensor.filter_model.window_s == 1.0
    assert sensor.details()["files"]["card0"].endswith("/power1_average")
    assert sensor.read().values == pytest.approx((80.0,))


def test_connectors_and_other_hwmons_are_ignored(tmp_path: Path) -> None:
    build_amdgpu(tmp_path, card=0)
    build_amdgpu(tmp_path, card=1)
    assert (tmp_path / "sys/class/drm/card0-DP-1").exists()
    assert AmdGpuSensor(tmp_path).rails == ("card0", "card1")
    assert AmdGpuSensor(tmp_path, rails=["card1"]).rails == ("card1",)
    with pytest.raises(SensorUnavailable, match="card7 not found"):
        AmdGpuSensor(tmp_path, rails=["card7"])


def test_no_amd_gpu(tmp_path: Path) -> None:
    build_amdgpu(tmp_path, instant=False, average=False)
    with pytest.raises(SensorUnavailable, match="no amdgpu hwmon"):
        AmdGpuSensor(tmp_path)
