"""The in-place counter writer's logic on a virtual clock: exact values, published late, in place."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from synergy.testing.clock import ManualClock
from synergy.testing.inplace import InPlaceCounter, InPlaceWriter, run_counter


class _Ramp:
    """Energy of a constant power since time 0 (the reader's clock)."""

    def __init__(self, watts: float) -> None:
        self.watts = watts

    def cumulative_j(self, t_ns: int) -> float:
        return self.watts * t_ns * 1e-9


def _counter(tmp_path: Path, **kw: object) -> InPlaceCounter:
    path = tmp_path / "energy_uj"
    path.write_text("0")
    return InPlaceCounter(path, _Ramp(10.0), origin_ns=1_000_000_000, **kw)  # type: ignore[arg-type]


def test_values_are_exact_at_the_ticks_and_written_in_place(tmp_path: Path) -> None:
    counter = _counter(tmp_path, period_s=976e-6, jitter_s=0.0)
    inode = os.stat(counter.path).st_ino
    assert counter.step(999_999_999) is None  # before tick 0
    assert counter.step(1_000_000_000) == 0 and counter.path.read_text() == "0"
    assert counter.step(1_000_500_000) is None  # between ticks: nothing new
    assert counter.step(1_000_976_000) == 1
    assert counter.path.read_text() == str(int(10.0 * 976e-6 * 1e6))  # 9760 µJ
    assert os.stat(counter.path).st_ino == inode and sorted(p.name for p in tmp_path.iterdir()) == ["energy_uj"]
    counter.close()


def test_longer_old_text_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "energy_uj"
    path.write_text("123456789\n")
    counter = InPlaceCounter(path, _Ramp(10.0), origin_ns=0, initial_uj=5)
    counter.step(0)
    assert path.read_text() == "5"
    counter.close()


def test_a_late_writer_publishes_only_the_latest_tick(tmp_path: Path) -> None:
    counter = _counter(tmp_path, period_s=1e-3, jitter_s=0.0)
    counter.step(1_000_000_000)
    assert counter.step(1_003_400_000) == 3  # woken 3.4 ticks later: ticks 1 and 2 were never shown
    assert counter.path.read_text() == "30000"
    stats = counter.stats()
    assert stats["skipped"] == 2 and stats["late"] == 0 and stats["delay_max_us"] == pytest.approx(400.0)
    counter.close()


def test_own_pace_and_wrap(tmp_path: Path) -> None:
    counter = _counter(tmp_path, period_s=1e-3, drift_ppm=1000.0, max_range_uj=25_000, jitter_s=0.0)
    assert counter.tick_ns(1000) == pytest.approx(1_000_000_000 + 1e9 / 1.001, abs=1)
    counter.step(1_000_000_000)
    counter.step(counter.tick_ns(3))
    text = counter.path.read_text()
    assert int(text) == int(10.0 * (counter.tick_ns(3) - counter.origin_ns) * 1e-3) % 25_000
    assert len(text) == 4  # "5000" after wrapping: the longer text was truncated, not left behind
    counter.close()


def test_the_loop_runs_on_a_virtual_clock(tmp_path: Path) -> None:
    counter = _counter(tmp_path, period_s=1e-3, jitter_s=20e-6, seed=1)
    clock = ManualClock(start_ns=1_000_000_000, until_ns=1_100_000_000)
    stop = threading.Event()

    def stopper() -> None:
        clock.reached.wait(30)
        stop.set()

    threading.Thread(target=stopper).start()
    stats = run_counter(counter, clock, stop)
    assert stats["published"] == pytest.approx(100, abs=2)
    assert 0 < stats["delay_median_us"] < 100 and stats["skipped"] == 0


def test_writer_process_publishes(tmp_path: Path) -> None:
    """A real process, real time: only that it publishes and reports (no timing bound)."""
    path = tmp_path / "energy_uj"
    path.write_text("0")
    with InPlaceWriter(path, _Ramp(5.0), period_s=1e-3, origin_ns=0) as writer:
        first = path.read_text()
        deadline = 200
        while path.read_text() == first and deadline:
            threading.Event().wait(0.01)
            deadline -= 1
    assert writer.stats["published"] >= 1 and path.read_text() != first
