"""The Raspberry Pi 5 PMIC sensor against the fake vcgencmd, laid out as the firmware prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synergy.cli import main
from synergy.errors import SensorPermissionError, SensorReadError, SensorUnavailable
from synergy.sensors.discovery import discover_sensors, open_sensor
from synergy.sensors.rpi_pmic import RpiPmicSensor, parse_calibration, parse_pmic_adc, run_vcgencmd
from synergy.testing.sysfs import Constant, SysfsWriter, write_atomic
from synergy.testing.vcgencmd import PMIC_LAYOUT, build_rpi5, idle_rails_w, render_pmic_adc, throttled_text

RAILS = tuple(rail for rail, *_ in PMIC_LAYOUT)


@pytest.fixture
def pi5(tmp_path: Path) -> Iterator[Path]:
    """A fake Pi 5 whose VDD_CORE draws 3 W, its writer running at the PMIC's pace."""
    root = tmp_path / "pi5"
    tree = build_rpi5(root, update_period_s=0.02)
    with SysfsWriter(tree, {"VDD_CORE": Constant(3.0)}):
        time.sleep(0.05)
        yield root


def test_the_fake_prints_the_firmware_layout(tmp_path: Path) -> None:
    build_rpi5(tmp_path)
    out = subprocess.run([str(tmp_path / "usr/bin/vcgencmd"), "pmic_read_adc"], capture_output=True, text=True)
    lines = out.stdout.splitlines()
    assert lines[0] == " 3V7_WL_SW_A current(0)=0.09500000A"
    assert lines[7] == "  VDD_CORE_A current(7)=1.11600000A"
    assert lines[19] == "  VDD_CORE_V volt(15)=0.74940000V"
    assert lines[-2:] == ["     EXT5V_V volt(24)=5.08530000V", "      BATT_V volt(25)=0.00000000V"]
    assert all(len(line.split()[0]) <= 12 and line.index(" ", 1) <= 12 for line in lines)
    module = [sys.executable, "-m", "synergy.testing.vcgencmd", "--root", str(tmp_path), "pmic_read_adc"]
    assert subprocess.run(module, capture_output=True, text=True).stdout.splitlines() == lines


def test_currents_and_voltages_pair_by_rail() -> None:
    rails, voltage_only = parse_pmic_adc(render_pmic_adc({"VDD_CORE": 2.5}))
    assert tuple(rail.rail for rail in rails) == RAILS
    core = next(rail for rail in rails if rail.rail == "VDD_CORE")
    assert (core.current_channel, core.voltage_channel) == (7, 15)
    assert core.power_w == pytest.approx(2.5, abs=1e-6)
    assert voltage_only == ["EXT5V_V", "BATT_V"]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("  VDD_CORE_A current(7)=-25.00000000A", r"VDD_CORE_A reads -25, outside the physically possible"),
        ("  VDD_CORE_A current(7)=nanA", r"VDD_CORE_A reads nan, not a finite number"),
        ("  VDD_CORE_V volt(15)=5000000.0V", r"VDD_CORE_V reads 5e\+06, outside"),
        ("  VDD_CORE_A current(7)=1.2.3A", r"VDD_CORE_A holds '1.2.3', not a number"),
    ],
)
def test_impossible_values_are_read_errors_naming_the_channel(line: str, match: str) -> None:
    with pytest.raises(SensorReadError, match=match):
        parse_pmic_adc(line + "\n  VDD_CORE_V volt(15)=0.75V")


def test_sensor_reads_rails_and_probes_cost_and_period(pi5: Path) -> None:
    sensor = RpiPmicSensor(pi5, probe_s=1.0)
    assert sensor.rails == RAILS and sensor.total_rails == RAILS
    assert sensor.total(sensor.read()) == pytest.approx(3.0 + idle_rails_w(), abs=1e-4)
    assert sensor.read_cost_s is not None and 0 < sensor.read_cost_s < 1.0
    # probed, not assumed: the fake changes every 20 ms (wide bounds: both cores may be busy)
    assert sensor.update_period_s is not None and 0.01 < sensor.update_period_s < 0.08
    assert sensor.filter_model.kind == "box" and sensor.filter_model.window_s == sensor.update_period_s
    details = sensor.describe()
    assert details["name"] == "rpi-pmic" and details["device_tree_model"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert details["voltage_only"] == ["EXT5V_V", "BATT_V"] and details["calibration"] is None
    assert "not the whole board" in details["total_note"]


def test_calibration_adds_the_board_rail_and_is_described(pi5: Path) -> None:
    sensor = open_sensor("rpi-pmic", pi5, calibration=(1.1, 2.0), probe_s=0)
    assert sensor.rails[-1] == "board" and sensor.total_rails == ("board",)
    reading = sensor.read()
    assert sensor.total(reading) == pytest.approx(1.1 * sum(reading.values[:-1]) + 2.0)
    described = json.loads(json.dumps(sensor.describe()))  # what run.json records
    assert described["calibration"] == {"a": 1.1, "b_w": 2.0, "formula": "board = a × sum + b"}
    assert described["total_rails"] == ["board"]
    assert RpiPmicSensor(pi5, calibration="1.1, 2", probe_s=0).calibration == (1.1, 2.0)


@pytest.mark.parametrize("text", ["1.1", "a,b", "0,1", "-1,0", "nan,1", "1,2,3"])
def test_malformed_calibrations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"calibration|could not convert"):
        parse_calibration(text)


def test_rails_can_be_chosen(pi5: Path) -> None:
    sensor = RpiPmicSensor(pi5, rails=["VDD_CORE", "DDR_VDD2"], probe_s=0)
    assert sensor.rails == ("VDD_CORE", "DDR_VDD2")
    with pytest.raises(SensorUnavailable, match=r"PMIC rail.* VDD_GPU not found; available: 3V7_WL_SW"):
        RpiPmicSensor(pi5, rails=["VDD_GPU"], probe_s=0)


def test_discovery_finds_the_pi_and_says_why_not_elsewhere(pi5: Path, tmp_path: Path) -> None:
    with discover_sensors(pi5) as found:
        assert [sensor.name for sensor in found.sensors] == ["rpi-pmic"]
    assert open_sensor("auto", pi5).name == "rpi-pmic"
    elsewhere = discover_sensors(tmp_path / "empty").unavailable["rpi-pmic"]
    assert elsewhere == "not a Raspberry Pi 5 (no device-tree model); the PMIC ADC is a Pi 5 feature"
    other = tmp_path / "pi4"
    build_rpi5(other, model="Raspberry Pi 4 Model B Rev 1.4")
    assert "device-tree model 'Raspberry Pi 4 Model B Rev 1.4'" in discover_sensors(other).unavailable["rpi-pmic"]


def test_the_model_may_come_from_the_firmware_path_only(tmp_path: Path) -> None:
    build_rpi5(tmp_path, dt_where="firmware")
    assert not (tmp_path / "proc/device-tree/model").exists()
    assert RpiPmicSensor(tmp_path, probe_s=0).dt_model == "Raspberry Pi 5 Model B Rev 1.0"


def test_a_pi5_without_vcgencmd_says_what_to_install(tmp_path: Path) -> None:
    build_rpi5(tmp_path)
    (tmp_path / "usr/bin/vcgencmd").unlink()
    with pytest.raises(
        SensorUnavailable, match=r"without vcgencmd at /usr/bin/vcgencmd \(install libraspberrypi-bin\)"
    ):
        RpiPmicSensor(tmp_path)


def test_a_firmware_refusal_is_a_permission_error_with_the_remedy(tmp_path: Path) -> None:
    script = tmp_path / "vcgencmd"
    script.write_text("#!/bin/sh\necho 'VCHI initialization failed' >&2\nexit 1\n")
    os.chmod(script, 0o755)
    with pytest.raises(SensorPermissionError, match="video group"):
        RpiPmicSensor(tmp_path, command=[str(script)])


def test_a_garbled_or_hanging_vcgencmd_is_a_read_error(tmp_path: Path) -> None:
    build_rpi5(tmp_path)  # no writer: the files stay as written here
    sensor = RpiPmicSensor(tmp_path, probe_s=0)
    state = tmp_path / "usr/share/synergy-fake-vcgencmd/pmic_read_adc"
    write_atomic(state, render_pmic_adc().replace("current(7)=1.11600000A", "current(7)=9000000000.0A"))
    with pytest.raises(SensorReadError, match=r"vcgencmd pmic_read_adc VDD_CORE_A reads 9e\+09, outside"):
        sensor.read()
    write_atomic(state, "\n".join(line for line in render_pmic_adc().splitlines() if "VDD_CORE_V" not in line))
    with pytest.raises(SensorReadError, match="no longer reports VDD_CORE"):
        sensor.read()
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    os.chmod(slow, 0o755)
    with pytest.raises(SensorReadError, match=r"did not answer within 0.2 s"):
        run_vcgencmd([str(slow)], "pmic_read_adc", timeout_s=0.2)


def test_synergy_sensors_and_system_on_the_fake(pi5: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_rpi5(pi5, throttled=throttled_text(since_boot=["under_voltage"]))  # the state files again
    assert main(["sensors", "--sysfs-root", str(pi5), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (pmic,) = data["sensors"]
    assert pmic["name"] == "rpi-pmic" and pmic["readable"] is True and pmic["rails"] == list(RAILS)
    assert pmic["values"]["VDD_CORE"] == pytest.approx(3.0, abs=1e-3)
    assert pmic["read_cost_s"] > 0
    assert main(["sensors", "--sysfs-root", str(pi5)]) == 0
    text = capsys.readouterr().out
    assert "rpi-pmic" in text and "VDD_CORE" in text
    assert main(["system", "--sysfs-root", str(pi5)]) == 0
    text = capsys.readouterr().out
    assert "board: Raspberry Pi 5 Model B Rev 1.0" in text
    assert "Raspberry Pi firmware: ARM 2.400 GHz; get_throttled 0x10000: none now, under voltage since boot" in text
    assert "cpu-thermal" in text and "arm_freq_hz" in text
    assert "under-voltage since boot" in text and "5 V / 5 A supply" in text


def test_auto_passes_the_calibration_to_the_pmic(pi5: Path) -> None:
    sensor = open_sensor("auto", pi5, calibration=(1.05, 0.8))
    assert sensor.name == "rpi-pmic" and sensor.describe()["calibration"]["a"] == 1.05
    assert sensor.total_rails == ("board",)
