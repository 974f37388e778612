"""The fake-tree writer: hardware pace, atomic writes, faults, and no leaked threads or processes."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import synergy.testing.sysfs as sysfs
from synergy.errors import SensorReadError, SensorUnavailable
from synergy.sensors.jetson import JetsonSensor
from synergy.sensors.rapl import RaplSensor
from synergy.testing.sysfs import (
    Constant,
    CounterDriver,
    Square,
    SysfsWriter,
    build_jetson_hwmon,
    build_rapl,
    main,
    mean_power,
    write_atomic,
)


def test_write_atomic_keeps_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "energy_uj"
    write_atomic(path, "1", 0o400)
    write_atomic(path, "2")
    assert path.read_text() == "2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert [p.name for p in tmp_path.iterdir()] == ["energy_uj"]


def test_counter_advances_every_millisecond_in_integer_microjoules(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=(), initial_uj=0)
    writer = SysfsWriter(tree, {"package-0": Constant(3.3)})
    writer.step(0.0)
    path = tree.drivers["package-0"].files()[0]
    writer.step(0.0005)
    assert path.read_text() == "0\n"  # no tick yet
    writer.step(0.0010)
    assert path.read_text() == "3300\n"
    writer.step(0.0105)
    assert path.read_text() == "33000\n"


def test_mean_power_of_a_square_wave() -> None:
    assert mean_power(Square(0.0, 10.0, period_s=0.01, duty=0.25), 0.0, 1.0) == pytest.approx(2.5)
    assert mean_power(Constant(4.0), 1.0, 1.0) == 4.0


def test_exact_integrals_of_the_power_functions() -> None:
    square = Square(1.0, 11.0, period_s=0.01, duty=0.3, phase_s=0.002)
    for t0, t1 in ((0.0, 1.0), (0.0031, 0.0047), (0.0101, 0.0349), (-0.0123, 0.0005)):
        dt = (t1 - t0) / 1_000_000
        t = t0 + (np.arange(1_000_000) + 0.5) * dt
        frac = ((t - square.phase_s) / square.period_s) % 1.0
        reference = float(np.where(frac < square.duty, square.high_w, square.low_w).sum() * dt)
        assert square.energy_j(t0, t1) == pytest.approx(reference, rel=1e-4)
    assert Constant(4.0).energy_j(1.0, 1.5) == 2.0


def test_process_writer_publishes_exact_values_on_its_grid(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=(), initial_uj=0)
    path = tree.drivers["package-0"].files()[0]
    writer = SysfsWriter(tree, {"package-0": Constant(10.0)}, default=Constant(0.0), mode="process")
    values: set[int] = set()
    with writer:
        # Read until twenty publications were seen: a loaded machine may starve the writer for a while.
        deadline = time.monotonic() + 30.0
        while len(values) < 20 and time.monotonic() < deadline:
            values.add(int(path.read_text()))
            time.sleep(0.001)
    stats = writer.stats
    assert len(values) >= 20 and stats["published"] >= 20
    assert stats["delay_min_us"] >= 0.0
    # every value stands for an instant of the 1 ms grid: 10 W x k ms = 10_000 µJ x k, exactly
    assert values and all(v % 10_000 == 0 for v in values)


def test_unknown_rail_and_mode_are_refused(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path)
    with pytest.raises(ValueError, match="no rail named gpu"):
        SysfsWriter(tree, {"gpu": Constant(1.0)})
    with pytest.raises(ValueError, match="mode"):
        SysfsWriter(tree, mode="fiber")


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_thread_writer_runs_at_pace_and_stops_cleanly(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    before = _threads()
    with SysfsWriter(tree, {"package-0": Constant(10.0)}) as writer:
        assert writer.running
        sensor = RaplSensor(tmp_path)
        first = sensor.read()
        time.sleep(0.2)
        second = sensor.read()
    assert not writer.running
    assert _threads() == before
    elapsed_s = (second.t_ns - first.t_ns) / 1e9
    # constant 10 W: the energy over the window is 10 W x elapsed, to within the counter's 1 ms steps
    # plus however late the writer thread wakes on a loaded machine (a generous bound: not a timing test)
    assert (second.values[0] - first.values[0]) == pytest.approx(10.0 * elapsed_s, abs=10.0 * 0.05)


def test_process_writer_drives_jetson_rails_and_stops_cleanly(tmp_path: Path) -> None:
    tree = build_jetson_hwmon(tmp_path, "xavier_nx", samples=1, conversion_us=1100)  # 7 ms updates
    with SysfsWriter(tree, {"VDD_IN": Constant(6.0)}, default=Constant(2.0), mode="process") as writer:
        worker = writer._worker
        sensor = JetsonSensor(tmp_path)
        assert sensor.read().values == pytest.approx((6.0, 2.0, 2.0), abs=0.05)
    assert isinstance(worker, multiprocessing.process.BaseProcess)
    assert not worker.is_alive()
    assert multiprocessing.active_children() == []


def test_faults_half_written_value_and_vanished_file(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    path = tree.drivers["package-0"].files()[0]
    with SysfsWriter(tree, {"package-0": Constant(5.0)}) as writer:
        sensor = RaplSensor(tmp_path)
        writer.inject(path, "")
        time.sleep(0.005)  # several ticks: the held file is not rewritten
        with pytest.raises(SensorReadError, match="energy_uj holds ''"):
            sensor.read()
        writer.release(path)
        deadline = time.monotonic() + 10
        while not path.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.001)  # the writer rewrites the file at its next update
        sensor.read()
        writer.vanish(path)
        time.sleep(0.005)
        assert not path.exists()
        with pytest.raises(SensorUnavailable, match="has vanished"):
            sensor.read()


def test_held_counter_keeps_counting_underneath(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=(), initial_uj=0)
    writer = SysfsWriter(tree, {"package-0": Constant(1.0)})
    writer.step(0.0)
    path = tree.drivers["package-0"].files()[0]
    writer.inject(path, "12")
    writer.step(0.5)
    assert path.read_text() == "12\n"
    writer.release(path)
    writer.step(0.6)
    assert int(path.read_text()) == 600_000
    assert isinstance(tree.drivers["package-0"], CounterDriver)


def test_step_is_refused_while_running(tmp_path: Path) -> None:
    tree = build_rapl(tmp_path, subzones=())
    with SysfsWriter(tree) as writer, pytest.raises(RuntimeError, match="step"):
        writer.step(0.0)
    writer.stop()  # idempotent


def test_command_line_builds_a_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "jetson:agx_orin", "rapl", "--power", "VDD_GPU_SOC=9.5"]) == 0
    assert "VDD_GPU_SOC" in capsys.readouterr().out
    values = dict(zip(*(lambda s: (s.rails, s.read().values))(JetsonSensor(tmp_path)), strict=True))
    assert values["VDD_GPU_SOC"] == pytest.approx(9.5, abs=0.05)
    assert os.path.islink(tmp_path / "sys/class/powercap/intel-rapl:0")
    with pytest.raises(SystemExit):
        main([str(tmp_path), "jetson:unknown"])


def test_the_command_line_builds_a_raspberry_pi_and_writes_its_pmic(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "synergy.testing.sysfs", str(tmp_path), "rpi5", "--power", "VDD_CORE=3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{tmp_path}: rails VDD_CORE"
    text = (tmp_path / "usr/share/synergy-fake-vcgencmd/pmic_read_adc").read_text()
    core = next(line for line in text.splitlines() if "VDD_CORE_A" in line)
    assert float(core.split("=")[1].rstrip("A")) * 0.7494 == pytest.approx(3.0, abs=1e-4)


def test_every_name_of_the_split_package_is_importable_from_it() -> None:
    for name in sysfs.__all__:
        assert hasattr(sysfs, name), name
    assert sysfs.SysfsWriter.__module__ == "synergy.testing.sysfs.writer"
