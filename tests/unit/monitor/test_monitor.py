"""Monitor windows on a fake RAPL package drawing a known power, written at the hardware's pace."""

from __future__ import annotations

import math
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from synergy.errors import UsageError
from synergy.monitor import Monitor
from synergy.testing.sysfs import Constant, FakeTree, SysfsWriter, build_rapl

WATTS = 10.0


@pytest.fixture(scope="module")
def rapl_root() -> Iterator[Path]:
    """A RAPL package at a constant 10 W, published every millisecond by another process."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        root = Path(tmp)
        tree: FakeTree = build_rapl(root, subzones=())
        with SysfsWriter(tree, {"package-0": Constant(WATTS)}, default=Constant(0.0), mode="process"):
            yield root


@pytest.fixture
def monitor(rapl_root: Path) -> Iterator[Monitor]:
    with Monitor("rapl", sysfs_root=rapl_root, idle_s=0.0) as m:
        yield m


def _close_to_constant(window: object, rel: float) -> None:
    expected = WATTS * window.duration_s  # type: ignore[attr-defined]
    error = abs(window.energy_j - expected)  # type: ignore[attr-defined]
    assert error <= rel * expected + window.energy_error_j, (window, expected)  # type: ignore[attr-defined]


def test_two_seconds_at_ten_watts_is_twenty_joules(monitor: Monitor) -> None:
    with monitor.window("sleep") as w:
        time.sleep(2.0)
    assert 2.0 <= w.duration_s < 2.5
    assert w.energy_j == pytest.approx(WATTS * w.duration_s, rel=0.01)
    assert w.rails_j["package-0"] == pytest.approx(w.energy_j)
    assert w.power_w == pytest.approx(WATTS, rel=0.01)
    assert w.energy_error_j < 0.05 * w.energy_j
    assert "short" not in w.flags and "no-energy" not in w.flags


def test_overlapping_and_nested_windows(monitor: Monitor) -> None:
    with monitor.window("outer") as outer:
        a = monitor.begin_window("a")
        time.sleep(0.1)
        b = monitor.begin_window("b")  # overlaps a's end
        time.sleep(0.1)
        assert monitor.end_window("a") is a
        time.sleep(0.1)
        monitor.end_window("b")
    assert outer.t0_ns < a.t0_ns < b.t0_ns < a.t1_ns < b.t1_ns < outer.t1_ns  # type: ignore[operator]
    for w in (outer, a, b):
        _close_to_constant(w, rel=0.05)
    assert outer.energy_j > a.energy_j and outer.energy_j > b.energy_j
    assert [w.name for w in monitor.windows] == ["a", "b", "outer"]


def test_the_decorator_makes_one_window_per_call(monitor: Monitor) -> None:
    @monitor.measure()
    def step(n: int) -> int:
        time.sleep(0.05)
        return n * 2

    assert [step(i) for i in range(3)] == [0, 2, 4]
    assert step.__name__ == "step"
    windows = [w for w in monitor.windows if w.name.endswith("step")]
    assert len(windows) == 3 and step.last_window is windows[-1]  # type: ignore[attr-defined]
    for w in windows:
        _close_to_constant(w, rel=0.1)


def test_a_window_shorter_than_an_update_says_how_it_was_estimated(monitor: Monitor) -> None:
    w = monitor.begin_window("tiny")
    monitor.end_window("tiny")
    assert w.duration_s < 1e-3
    assert "short" in w.flags
    note = next(n for n in w.notes if "update period" in n)
    assert "interpolated" in note and "±" in note
    if "stale" not in w.flags:  # the writer was not late around it: the bound holds
        assert math.isfinite(w.energy_error_j) and w.energy_error_j > 0
        assert abs(w.energy_j - WATTS * w.duration_s) <= w.energy_error_j + 1e-12


def test_windows_cost_microseconds_and_resolve_later(monitor: Monitor) -> None:
    for _ in range(200):
        with monitor.window("loop"):
            pass
    frame = monitor.to_frame()
    assert len(frame) == 200 and set(frame["name"]) == {"loop"}
    assert "package-0_j" in frame.columns


def test_misuse_is_a_usage_error(monitor: Monitor) -> None:
    monitor.begin_window("x")
    with pytest.raises(UsageError, match="already open"):
        monitor.begin_window("x")
    with pytest.raises(UsageError, match="no window 'y' is open"):
        monitor.end_window("y")
    open_window = monitor._open["x"]
    with pytest.raises(ValueError, match="still open"):
        _ = open_window.energy_j
    monitor.end_window("x")


def test_idle_power_is_subtracted(rapl_root: Path) -> None:
    with Monitor("rapl", sysfs_root=rapl_root, idle_s=0.0, idle_w=4.0) as m, m.window("w") as w:
        time.sleep(0.2)
    assert w.idle_w == 4.0
    assert w.dynamic_energy_j == pytest.approx(w.energy_j - 4.0 * w.duration_s)
    assert "idle-unknown" not in w.flags


def test_measured_idle_power(rapl_root: Path) -> None:
    with Monitor("rapl", sysfs_root=rapl_root, idle_s=0.3) as m:
        assert m.idle is not None and m.idle_w == pytest.approx(WATTS, rel=0.05)
        with m.window("w") as w:
            time.sleep(0.1)
    assert abs(w.dynamic_energy_j) < 0.05 * w.energy_j + w.energy_error_j + 0.05 * m.idle_w * w.duration_s


def test_windows_stay_readable_after_close(rapl_root: Path) -> None:
    with Monitor("rapl", sysfs_root=rapl_root, idle_s=0.0) as m, m.window("w") as w:
        time.sleep(0.1)
    assert m.timeline is not None
    _close_to_constant(w, rel=0.05)
    with pytest.raises(UsageError, match="closed"):
        m.begin_window("again")


def test_without_a_sensor_windows_have_time_and_say_why_no_energy() -> None:
    with Monitor("none") as m, m.window("w") as w:
        time.sleep(0.01)
    assert w.duration_s >= 0.01
    assert math.isnan(w.energy_j) and w.flags == ("no-energy",)
    assert "--sensor none" not in repr(w) and "switched off" in w.notes[0]


def test_cuda_is_synchronised_at_both_edges_when_torch_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    cuda = types.SimpleNamespace(
        is_available=lambda: True, is_initialized=lambda: True, synchronize=lambda: calls.append("sync")
    )
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    with Monitor("none") as m:
        with m.window("w"):
            assert calls == ["sync"]
        assert calls == ["sync", "sync"]
        m.sync_cuda = False
        with m.window("w"):
            pass
        assert calls == ["sync", "sync"]


def test_notebook_style_a_monitor_kept_open_across_cells(rapl_root: Path) -> None:
    import gc
    import threading

    monitor = Monitor("rapl", sysfs_root=rapl_root, idle_s=0.0)  # cell 1
    with monitor.window("cell 2") as w:  # cell 2
        time.sleep(0.05)
    assert "cell 2" in repr(w) and w._repr_html_().startswith("<table>")
    assert "sampling" in repr(monitor)
    monitor.close()  # cell 3
    monitor.close()  # re-run: idempotent
    _close_to_constant(w, rel=0.1)
    before = threading.active_count()
    lost = Monitor("rapl", sysfs_root=rapl_root, idle_s=0.0)  # a re-run cell drops its monitor
    assert threading.active_count() == before + 1
    del lost
    gc.collect()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before  # its sampling thread was stopped


def test_a_power_sensor_that_repeats_its_value_gets_energy_and_a_bound(tmp_path: Path) -> None:
    from synergy.testing.sysfs import build_jetson_hwmon

    tree = build_jetson_hwmon(tmp_path, "agx_orin", samples=64)  # INA3221 box averages of 54 ms
    with (
        SysfsWriter(tree, {"VDD_GPU_SOC": Constant(9.0)}, default=Constant(1.0), mode="process"),
        Monitor("jetson", sysfs_root=tmp_path, idle_s=0.0) as m,
        m.window("w") as w,
    ):
        time.sleep(0.5)
    assert w.energy_j == pytest.approx(11.0 * w.duration_s, rel=0.02)  # VDD_GPU_SOC + VDD_CPU_CV + VIN_SYS_5V0
    assert w.rails_j["VDD_GPU_SOC"] == pytest.approx(9.0 * w.duration_s, rel=0.02)
    assert 0 < w.energy_error_j <= 2 * 11.0 * 0.054 * 1.05
