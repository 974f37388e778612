"""Clocks and temperature drawn beside a power profile."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

from synergy.context import Timeline
from synergy.context.plot import add_context_axes, clock_series, temperature_series


def _timelines() -> list[Timeline]:
    t = np.arange(0, 1_000_000_000, 100_000_000)
    gpu = Timeline(("gpu_freq_hz",), t, np.where(t < 5e8, 306e6, 1300.5e6).reshape(-1, 1))
    cpu = Timeline(("cpu0_freq_hz", "cpu1_freq_hz"), t, np.column_stack([np.full(10, 1e9), np.full(10, 2e9)]))
    temps = np.column_stack([np.linspace(45, 60, 10), np.full(10, np.nan)])
    thermal = Timeline(("gpu_thermal_temp_c", "cv0_thermal_temp_c"), t, temps)
    return [gpu, cpu, thermal]


def test_series() -> None:
    clocks = clock_series(_timelines())
    assert [label for label, _, _ in clocks] == ["GPU", "CPU (mean of 2 cores)"]
    assert clocks[1][2][0] == 1.5e9
    (hottest,) = temperature_series(_timelines())
    assert hottest[2][-1] == 60.0


def test_axes_on_a_power_profile(tmp_path: Path) -> None:
    figure = Figure(figsize=(8, 3))
    ax = figure.add_subplot()
    ax.plot(np.linspace(0, 1, 50), np.linspace(5, 9, 50))
    axes = add_context_axes(ax, _timelines(), t0_ns=0)
    assert set(axes) == {"clock", "temperature"}
    assert axes["clock"].get_ylabel() == "clock (GHz)"
    figure.savefig(tmp_path / "profile.png")
    assert (tmp_path / "profile.png").stat().st_size > 1000
    assert add_context_axes(ax, Timeline(("x",), [0], [[1.0]]), t0_ns=0) == {}


def test_axes_in_milliseconds() -> None:
    figure = Figure(figsize=(8, 3))
    ax = figure.add_subplot()
    axes = add_context_axes(ax, _timelines()[0], t0_ns=0, x_unit_s=1e-3)
    (line,) = axes["clock"].get_lines()
    assert line.get_xdata()[-1] == 900.0  # ms


def test_profile_clips_context_to_its_window() -> None:
    from synergy.measurement.plot import _clip

    gpu = _timelines()[0]
    clipped = _clip(gpu, 250_000_000, 450_000_000)
    assert clipped.t_ns.tolist() == [250_000_000, 300_000_000, 400_000_000, 450_000_000]
    assert clipped.column("gpu_freq_hz").tolist() == [306e6] * 4
    assert len(_clip(gpu, -20, -10)) == 0
