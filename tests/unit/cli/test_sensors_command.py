"""``synergy sensors``: the table, the JSON, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergy.cli import main
from synergy.testing.sysfs import Constant, FakeTree, SysfsWriter, build_jetson_hwmon, build_rapl


def test_no_sensors_prints_the_reasons_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensors", "--sysfs-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no usable power sensor" in out
    for name in ("jetson", "nvml", "rapl", "amdgpu", "power-supply"):
        assert name in out
    assert "no intel-rapl zone under /sys/class/powercap" in out


def test_missing_sysfs_root_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sensors", "--sysfs-root", str(tmp_path / "nope")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: argument --sysfs-root:") and "is not a directory" in err


def test_fake_agx_orin_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = build_jetson_hwmon(tmp_path, "agx_orin")
    SysfsWriter(tree, {"VDD_GPU_SOC": Constant(9.7)}, default=Constant(1.5)).step(0.0)
    assert main(["sensors", "--sysfs-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "jetson rails" in out and "VDDQ_VDD2_1V8AO" in out
    assert "board: Jetson AGX Orin" in out
    assert "box 430 ms" in out


def test_json_with_an_energy_counter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_rapl(tmp_path)
    assert main(["sensors", "--sysfs-root", str(tmp_path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format_version"] == 1
    (rapl,) = data["sensors"]
    assert rapl["name"] == "rapl" and rapl["unit"] == "J" and rapl["readable"] is True
    assert rapl["power_w"]["package-0"] == 0.0  # nothing drives the counters
    assert rapl["update_period_s"] == pytest.approx(976e-6)
    assert {u["name"] for u in data["unavailable"]} == {"jetson", "rpi-pmic", "nvml", "amdgpu", "power-supply"}


def test_this_machine_exits_0_whatever_it_has(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensors", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {s["name"] for s in data["sensors"]} | {u["name"] for u in data["unavailable"]}
    assert names == {"jetson", "rpi-pmic", "nvml", "rapl", "amdgpu", "power-supply"}


def _watch_tree(root: Path) -> FakeTree:
    from synergy.testing.context import make_x86_tree

    make_x86_tree(root, cpus=2)
    return build_rapl(root, subzones=())


def test_watch_logs_every_rail_and_the_context(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    root = tmp_path / "root"
    tree = _watch_tree(root)
    log = tmp_path / "rails.csv"
    with SysfsWriter(tree, {"package-0": Constant(7.0)}, default=Constant(0.0), mode="process"):
        argv = ["sensors", "--sysfs-root", str(root), "--watch", "--interval", "0.1", "--count", "3", "--log", str(log)]
        assert main(argv) == 0
    out = capsys.readouterr()
    assert "package-0" in out.out and "context" in out.out
    with log.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert "rapl.package-0_w" in rows[0] and "rapl.total_j" in rows[0]
    assert any(key.startswith("cpu_freq.") for key in rows[0])
    assert all(float(r["rapl.package-0_w"]) == pytest.approx(7.0, rel=0.2) for r in rows)
    assert main(argv) == 2  # the log exists now: refused without --force
    assert "exists" in capsys.readouterr().err


def test_watch_ends_cleanly_on_ctrl_c_with_whole_rows(tmp_path: Path) -> None:
    import csv
    import io

    from synergy.cli.watch import Watch, run_watch
    from synergy.sensors.rapl import RaplSensor

    build_rapl(tmp_path, subzones=())
    sleeps = iter([None, None, KeyboardInterrupt()])

    def sleep(_: float) -> None:
        step = next(sleeps)
        if isinstance(step, BaseException):
            raise step

    log = tmp_path / "log.csv"
    with RaplSensor(tmp_path) as sensor:
        ticks = run_watch(
            Watch([sensor], []), interval_s=0.01, count=None, duration_s=None, log=log, force=False,
            out=io.StringIO(), sleep=sleep,
        )  # fmt: skip
    with log.open() as handle:
        rows = list(csv.reader(handle))
    assert ticks == 2 and len(rows) == 3  # the header and two whole rows
    assert all(len(row) == len(rows[0]) for row in rows)


def test_watch_options_need_watch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensors", "--sysfs-root", str(tmp_path), "--count", "2"]) == 2
    assert "add --watch" in capsys.readouterr().err
