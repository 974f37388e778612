"""Jetson INA3221 (hwmon and IIO) and INA238 readers against fake trees with the real label sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.jetson import IIO_DEFAULT_WINDOW_S, JetsonSensor, find_jetson_channels, identify_model
from synergy.testing.sysfs import (
    JETSON_BOARDS,
    Constant,
    Ina3221Driver,
    JetsonBoard,
    Square,
    SysfsWriter,
    build_ina238,
    build_jetson_hwmon,
    build_jetson_iio,
    write_atomic,
    write_dt_model,
)

# board → (rails in discovery order, default total, model shown)
EXPECTED = {
    "tx1": (("VDD_IN", "VDD_GPU", "VDD_CPU"), ("VDD_IN",), "Jetson TX1"),
    "nano": (("POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"), ("POM_5V_IN",), "Jetson Nano"),
    "tx2": (
        ("VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI", "VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR"),
        ("VDD_IN",),
        "Jetson TX2",
    ),
    "tx2_nx": (("VDD_IN", "VDD_CPU_GPU", "VDD_SOC"), ("VDD_IN",), "Jetson TX2 NX"),
    "xavier_nx": (("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"), ("VDD_IN",), "Jetson Xavier NX"),
    "agx_xavier": (
        ("GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"),
        ("GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"),
        "Jetson AGX Xavier",
    ),
    "agx_orin": (
        ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"),
        ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"),
        "Jetson AGX Orin",
    ),
    "orin_nx": (("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"), ("VDD_IN",), "Jetson Orin NX / Orin Nano"),
    "orin_nano": (("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"), ("VDD_IN",), "Jetson Orin NX / Orin Nano"),
    "agx_thor": (
        ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0"),
        ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0"),
        "Jetson AGX Thor",
    ),
}


def test_every_board_is_covered() -> None:
    assert set(EXPECTED) == set(JETSON_BOARDS)


@pytest.mark.parametrize("board", sorted(EXPECTED))
def test_hwmon_label_sets_rails_and_totals(tmp_path: Path, board: str) -> None:
    build_jetson_hwmon(tmp_path, board)
    sensor = JetsonSensor(tmp_path)
    rails, total, model = EXPECTED[board]
    assert sensor.rails == rails
    assert sensor.total_rails == total
    assert sensor.details()["model"] == model
    assert sensor.kind.value == "power"


@pytest.mark.parametrize("board", ["nano", "agx_xavier", "tx1", "tx2"])
def test_iio_layout_l4t_32(tmp_path: Path, board: str) -> None:
    tree = build_jetson_iio(tmp_path, board)
    sensor = JetsonSensor(tmp_path)
    rails, total, model = EXPECTED[board]
    assert sensor.rails == rails
    assert sensor.total_rails == total
    assert sensor.details()["model"] == model
    assert sensor.update_period_s == pytest.approx(IIO_DEFAULT_WINDOW_S)
    assert {c.driver for c in sensor.channels} == {"ina3221x"}
    assert {c.channel for c in sensor.channels} == {0, 1, 2}  # 0-based
    writer = SysfsWriter(tree, default=Constant(3.25))
    writer.step(0.0)
    assert sensor.read().values == pytest.approx([3.25] * len(rails), abs=1e-3)
    assert sensor.details()["running_mode"]


def test_iio_polling_delay_sets_the_window(tmp_path: Path) -> None:
    build_jetson_iio(tmp_path, "nano", polling_delay_ms=50)
    sensor = JetsonSensor(tmp_path)
    assert sensor.update_period_s == pytest.approx(0.050)
    assert sensor.filter_model.window_s == pytest.approx(0.050)


def test_nano_iio_paths_are_the_documented_ones(tmp_path: Path) -> None:
    build_jetson_iio(tmp_path, "nano")
    assert (tmp_path / "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0/in_power0_input").exists()
    assert (tmp_path / "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0/rail_name_0").read_text() == "POM_5V_IN\n"


def test_hwmon_layout_matches_the_kernel(tmp_path: Path) -> None:
    build_jetson_hwmon(tmp_path, "agx_orin")
    devices = sorted(p.name for p in (tmp_path / "sys/bus/i2c/drivers/ina3221").iterdir())
    assert devices == ["1-0040", "1-0041"]
    hwmon = next((tmp_path / "sys/bus/i2c/drivers/ina3221/1-0041/hwmon").glob("hwmon*"))
    assert (hwmon / "in1_label").read_text() == "NC\n"
    assert (hwmon / "in1_enable").read_text() == "0\n"
    assert (hwmon / "in7_label").read_text() == "sum of shunt voltages\n"
    assert (tmp_path / "sys/class/hwmon" / hwmon.name).is_symlink()
    assert os.path.realpath(tmp_path / "sys/class/hwmon" / hwmon.name) == os.path.realpath(hwmon)


def test_skips_nc_disabled_and_sum_channels(tmp_path: Path) -> None:
    build_jetson_hwmon(tmp_path, "agx_orin")
    channels, skipped = find_jetson_channels(tmp_path)
    assert [c.rail for c in channels] == list(EXPECTED["agx_orin"][0])
    assert skipped == ["1-0041 channel 1: labelled NC", "1-0041 channel 3: labelled NC"]
    assert not any("sum" in c.label for c in channels)


def test_disabled_labelled_channel_is_skipped(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "xavier_nx")
    hwmon = tree.paths["7-0040"]
    write_atomic(hwmon / "in3_enable", "0")
    channels, skipped = find_jetson_channels(tmp_path)
    assert [c.rail for c in channels] == ["VDD_IN", "VDD_CPU_GPU_CV"]
    assert skipped == ["7-0040 channel 3 (VDD_SOC): disabled (in3_enable = 0)"]


def test_found_through_class_hwmon_alone(tmp_path: Path) -> None:
    """Without the i2c driver directory, /sys/class/hwmon/hwmon*/name still finds the chip."""
    build_jetson_hwmon(tmp_path, "xavier_nx")
    (tmp_path / "sys/bus/i2c/drivers/ina3221/7-0040").unlink()
    sensor = JetsonSensor(tmp_path)
    assert sensor.rails == EXPECTED["xavier_nx"][0]
    assert sensor.channels[0].device == "7-0040"


def test_hwmon_index_is_not_fixed(tmp_path: Path) -> None:
    """The chip is found whatever hwmon number the kernel gave it."""
    (tmp_path / "sys/class/hwmon/hwmon1").mkdir(parents=True)
    (tmp_path / "sys/class/hwmon/hwmon1/name").write_text("acpitz\n")
    (tmp_path / "sys/class/hwmon/hwmon5").mkdir(parents=True)
    (tmp_path / "sys/class/hwmon/hwmon5/name").write_text("nvme\n")
    tree = build_jetson_hwmon(tmp_path, "orin_nx")
    assert tree.paths["1-0040"].name == "hwmon6"
    assert JetsonSensor(tmp_path).rails == EXPECTED["orin_nx"][0]


def test_update_interval_and_samples_give_the_filter(tmp_path: Path) -> None:
    build_jetson_hwmon(tmp_path, "xavier_nx", samples=4, conversion_us=1100)
    sensor = JetsonSensor(tmp_path)
    # 3 channels x 4 samples x (1.1 + 1.1) ms = 26.4 ms, the driver rounds to 26 ms
    assert sensor.update_period_s == pytest.approx(0.026)
    assert sensor.filter_model.kind == "box"
    assert sensor.filter_model.window_s == pytest.approx(0.026)
    assert sensor.channels[0].samples == 4
    assert JetsonSensor(tmp_path, filter_kind="ema").filter_model.kind == "ema"
    with pytest.raises(ValueError, match="filter_kind"):
        JetsonSensor(tmp_path, filter_kind="median")


def test_power_is_voltage_times_current_quantised(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "agx_orin")
    writer = SysfsWriter(tree, {"VDD_GPU_SOC": Constant(10.0), "VDD_CPU_CV": Constant(2.0)}, default=Constant(1.0))
    writer.step(0.0)
    sensor = JetsonSensor(tmp_path)
    values = dict(zip(sensor.rails, sensor.read().values, strict=True))
    # 5.000 V bus (8 mV LSB), current in 8 mA steps (40 µV / 5 mΩ)
    assert values["VDD_GPU_SOC"] == pytest.approx(10.0, abs=5.0 * 0.008)
    assert values["VDD_CPU_CV"] == pytest.approx(2.0, abs=5.0 * 0.008)
    hwmon = tree.paths["1-0040"]
    assert int((hwmon / "curr1_input").read_text()) % 8 == 0
    assert (hwmon / "in1_input").read_text() == "5000\n"


def test_rail_is_the_box_average_of_the_last_update_interval(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "xavier_nx", samples=16, conversion_us=1100)  # 106 ms
    interval = 3 * 16 * 2.2e-3
    # 20 W for the first 30% of each interval, 5 W after: the latched mean is 9.5 W
    square = Square(low_w=5.0, high_w=20.0, period_s=round(interval * 1000) / 1000, duty=0.3)
    writer = SysfsWriter(tree, {"VDD_IN": square}, default=Constant(1.0))
    writer.step(0.0)
    sensor = JetsonSensor(tmp_path)
    before = sensor.read().values[0]
    writer.step(0.05)  # before the next update: unchanged
    assert sensor.read().values[0] == before
    writer.step(0.106)
    assert sensor.read().values[0] == pytest.approx(9.5, abs=0.1)


def test_rails_chosen_by_label(tmp_path: Path) -> None:
    build_jetson_hwmon(tmp_path, "agx_orin")
    sensor = JetsonSensor(tmp_path, rails=["VDD_GPU_SOC", "VDD_CPU_CV", "VDDQ_VDD2_1V8AO"])
    assert sensor.rails == ("VDD_GPU_SOC", "VDD_CPU_CV", "VDDQ_VDD2_1V8AO")
    assert sensor.total_rails == ("VDD_GPU_SOC", "VDD_CPU_CV")
    assert sensor.total_note.startswith("the chosen rails inside the Jetson AGX Orin total")
    outside = JetsonSensor(tmp_path, rails=["VDDQ_VDD2_1V8AO"])
    assert outside.total_rails == ("VDDQ_VDD2_1V8AO",)
    assert "is not among them" in outside.total_note
    with pytest.raises(SensorUnavailable, match="VDD_FOO not found; available: VDD_GPU_SOC"):
        JetsonSensor(tmp_path, rails=["VDD_FOO"])
    custom = JetsonSensor(tmp_path, total_rails=["VDDQ_VDD2_1V8AO"])
    assert custom.total_rails == ("VDDQ_VDD2_1V8AO",)


def test_device_tree_tells_xavier_nx_from_orin_nx(tmp_path: Path) -> None:
    labels = ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert identify_model(labels, "NVIDIA Jetson Xavier NX Developer Kit").display == "Jetson Xavier NX"  # type: ignore[union-attr]
    assert identify_model(labels, "NVIDIA Jetson Orin Nano Developer Kit").key == "orin_nx"  # type: ignore[union-attr]
    assert "or" in identify_model(labels).display  # type: ignore[union-attr]
    assert identify_model(["FOO", "BAR"]) is None


def test_unknown_board_with_an_input_rail(tmp_path: Path) -> None:
    board = JetsonBoard("custom", None, (("2-0040", ("VDD_IN", "VDD_MYSTERY", "NC")),))
    build_jetson_hwmon(tmp_path, board)
    sensor = JetsonSensor(tmp_path)
    assert sensor.details()["model"] == "unknown"
    assert sensor.total_rails == ("VDD_IN",)


def test_unknown_board_without_an_input_rail_sums_all_and_says_so(tmp_path: Path) -> None:
    board = JetsonBoard("custom", None, (("2-0040", ("A", "B", "C")),))
    build_jetson_hwmon(tmp_path, board)
    sensor = JetsonSensor(tmp_path)
    assert sensor.total_rails == ("A", "B", "C")
    assert "may double count" in sensor.total_note


def test_duplicate_labels_get_the_device(tmp_path: Path) -> None:
    board = JetsonBoard("dup", None, (("1-0040", ("X", "Y", "NC")), ("1-0041", ("X", "Z", "NC"))))
    build_jetson_hwmon(tmp_path, board)
    assert JetsonSensor(tmp_path).rails == ("X@1-0040", "Y", "X@1-0041", "Z")


def test_thor_ina238_is_the_board_total(tmp_path: Path) -> None:
    tree = build_ina238(tmp_path)
    writer = SysfsWriter(tree, {"VIN": Constant(61.5)})
    writer.step(0.0)
    sensor = JetsonSensor(tmp_path)
    assert sensor.rails == ("VIN",)
    assert sensor.total_rails == ("VIN",)
    assert sensor.details()["model"] == "Jetson AGX Thor"
    assert sensor.read().values[0] == pytest.approx(61.5, abs=1e-6)
    assert sensor.update_period_s == pytest.approx(0.001)


def test_no_jetson_rails(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match=r"no INA3221 or INA238 rail under /sys/bus/i2c/drivers/ina3221\*/"):
        JetsonSensor(tmp_path)


def test_garbage_and_vanished_rail(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "nano")
    sensor = JetsonSensor(tmp_path)
    curr = tree.paths["6-0040"] / "curr2_input"
    write_atomic(curr, "")
    with pytest.raises(SensorReadError, match=r"curr2_input holds ''"):
        sensor.read()
    curr.unlink()
    with pytest.raises(SensorUnavailable, match="curr2_input has vanished"):
        sensor.read()


def test_reading_timestamp_is_inside_the_read(tmp_path: Path) -> None:
    from synergy.clock import now_ns

    build_jetson_hwmon(tmp_path, "agx_xavier")
    sensor = JetsonSensor(tmp_path)
    before = now_ns()
    reading = sensor.read()
    after = now_ns()
    assert before <= reading.t_ns <= after


@pytest.mark.parametrize(
    ("powers", "vin_w", "total_w"),
    [
        # a JetPack 7 tree at idle: the GPU power-gated (0.00 W), 6.51 W CPU/SoC/memory, 6.52 W 5 V input
        ({"VDD_GPU": 0.0, "VDD_CPU_SOC_MSS": 6.51, "VIN_SYS_5V0": 6.52}, 6.52, 13.03),
        # the ThorFAN layout under load: 8.85 W on the 5 V input of 28.1 W in all
        ({"VDD_GPU": 11.0, "VDD_CPU_SOC_MSS": 8.25, "VIN_SYS_5V0": 8.85}, 8.85, 28.1),
    ],
)
def test_thor_without_ina238_sums_the_module_input_rails(
    tmp_path: Path, powers: dict[str, float], vin_w: float, total_w: float
) -> None:
    tree = build_jetson_hwmon(tmp_path, "agx_thor", voltage_v=5.0)
    writer = SysfsWriter(tree, {rail: Constant(w) for rail, w in powers.items()})
    writer.step(0.0)
    writer.step(1.0)
    sensor = JetsonSensor(tmp_path)
    assert sensor.details()["model"] == "Jetson AGX Thor"
    assert sensor.total_rails == ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0")
    assert "sum of the module's input rails" in sensor.total_note
    reading = sensor.read()
    assert reading.values[sensor.rails.index("VIN_SYS_5V0")] == pytest.approx(vin_w, abs=0.02)
    assert sensor.total(reading) == pytest.approx(total_w, abs=0.05)


def test_thor_labels_alone_identify_the_module(tmp_path: Path) -> None:
    build_jetson_hwmon(tmp_path, "agx_thor", dt_model=False)
    sensor = JetsonSensor(tmp_path)
    assert sensor.dt_model is None and sensor.details()["model"] == "Jetson AGX Thor"
    assert sensor.total_rails == ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0")


def test_an_unknown_board_with_a_vin_sys_rail_is_not_taken_as_its_input(tmp_path: Path) -> None:
    board = JetsonBoard("custom", None, (("1-0040", ("VIN_SYS_5V0", "VDD_X", "NC")),))
    build_jetson_hwmon(tmp_path, board)
    sensor = JetsonSensor(tmp_path)
    assert sensor.total_rails == ("VIN_SYS_5V0", "VDD_X") and "unknown board" in sensor.total_note


@pytest.mark.parametrize("where", ["proc", "firmware", "both"])
def test_the_board_model_is_read_from_either_device_tree_path(tmp_path: Path, where: str) -> None:
    build_jetson_hwmon(tmp_path, "orin_nx", dt_model=False)
    write_dt_model(tmp_path, "NVIDIA Jetson Orin NX Engineering Reference Developer Kit", where)
    sensor = JetsonSensor(tmp_path)
    assert sensor.dt_model == "NVIDIA Jetson Orin NX Engineering Reference Developer Kit"
    assert sensor.details()["model"] == "Jetson Orin NX / Orin Nano"


@pytest.mark.parametrize(("volts_mv", "milliamps"), [(5000, -5000), (5000, 1_000_000_000)])
def test_impossible_rail_power_is_a_read_error_naming_the_files(tmp_path: Path, volts_mv: int, milliamps: int) -> None:
    tree = build_jetson_hwmon(tmp_path, "orin_nx")
    SysfsWriter(tree, {}, default=Constant(1.0)).step(0.0)
    sensor = JetsonSensor(tmp_path)
    driver = tree.drivers["VDD_IN"]
    assert isinstance(driver, Ina3221Driver)
    write_atomic(driver.volt_path, str(volts_mv))
    write_atomic(driver.curr_path, str(milliamps))
    with pytest.raises(SensorReadError, match=r"in1_input × .*curr1_input reads .* outside the physically possible"):
        sensor.read()


def test_a_negative_update_period_is_a_read_error_naming_the_file(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "orin_nx")
    driver = tree.drivers["VDD_IN"]
    assert isinstance(driver, Ina3221Driver)
    write_atomic(driver.volt_path.parent / "update_interval", "-430")
    with pytest.raises(SensorReadError, match=r"update_interval reads -430 ms: an update period cannot be negative"):
        JetsonSensor(tmp_path)
