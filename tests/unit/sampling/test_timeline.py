"""Timeline integration: exact edges, additivity, conversions, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synergy.errors import AlignmentError, DatasetError, SamplingError
from synergy.sampling.timeline import Gap, Timeline, unwrap_counter
from synergy.sensors.base import FilterModel, SensorKind

MODELS = {
    "counter": (SensorKind.ENERGY, FilterModel("counter")),
    "box": (SensorKind.POWER, FilterModel("box", 0.001)),
    "point": (SensorKind.POWER, FilterModel("instant")),
}


@st.composite
def timelines(draw: st.DrawFn, model: str | None = None) -> Timeline:
    """A random timeline with brackets, of any model, and a window inside its coverage."""
    model = model or draw(st.sampled_from(sorted(MODELS)))
    n = draw(st.integers(2, 40))
    steps = draw(st.lists(st.integers(2, 10_000_000), min_size=n - 1, max_size=n - 1))
    t = np.concatenate([[1_000_000_000], 1_000_000_000 + np.cumsum(steps)]).astype(np.int64)
    fractions = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    tp = t.copy()
    tp[1:] = t[:-1] + (np.asarray(fractions[1:]) * (t[1:] - t[:-1])).astype(np.int64)
    tp = np.minimum(tp, t)
    powers = np.asarray(draw(st.lists(st.floats(0.0, 500.0), min_size=n, max_size=n)))
    kind, fm = MODELS[model]
    values = np.cumsum(powers) if model == "counter" else powers
    return Timeline(kind=kind, rails=("total",), t_ns=t, t_prev_ns=tp, values=values, filter_model=fm)


@given(timelines(), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.sampled_from(["interpolate", "increments"]))
@settings(max_examples=150, deadline=None)
def test_adjacent_windows_add_up(tl: Timeline, a: float, b: float, c: float, edges: str) -> None:
    lo, hi = tl.coverage_ns
    t0, t1, t2 = sorted(int(lo + x * (hi - lo)) for x in (a, b, c))
    whole = tl.energy_j(t0, t2, edges=edges)  # type: ignore[arg-type]
    parts = tl.energy_j(t0, t1, edges=edges) + tl.energy_j(t1, t2, edges=edges)  # type: ignore[arg-type]
    assert whole == pytest.approx(parts, rel=1e-9, abs=1e-9)


@given(st.sampled_from(["box", "point"]), st.floats(0.01, 1000.0), st.integers(2, 50), st.floats(0, 1), st.floats(0, 1))
@settings(max_examples=100, deadline=None)
def test_constant_power_integrates_to_power_times_time(model: str, power_w: float, n: int, a: float, b: float) -> None:
    rng = np.random.default_rng(n)
    t = 5_000_000 + np.cumsum(rng.integers(1000, 5_000_000, n)).astype(np.int64)
    kind, fm = MODELS[model]
    tl = Timeline(kind=kind, rails=("r",), t_ns=t, values=np.full(n, power_w), filter_model=fm)
    lo, hi = tl.coverage_ns
    t0, t1 = sorted(int(lo + x * (hi - lo)) for x in (a, b))
    assert tl.energy_j(t0, t1) == pytest.approx(power_w * (t1 - t0) / 1e9, rel=1e-9, abs=1e-12)
    if t1 - t0 > 1000:  # below a microsecond, cancellation in E(t1) - E(t0) dominates
        assert tl.mean_power_w(t0, t1) == pytest.approx(power_w, rel=1e-6)


@given(st.floats(0.01, 100.0), st.integers(3, 30))
@settings(max_examples=60, deadline=None)
def test_counter_of_constant_power_interpolates_exactly(power_w: float, n: int) -> None:
    t = np.arange(n, dtype=np.int64) * 1_000_000 + 7
    tl = Timeline(kind=SensorKind.ENERGY, rails=("r",), t_ns=t, values=power_w * t / 1e9)
    t0, t1 = int(t[0] + 123_456), int(t[-1] - 654_321)
    assert tl.energy_j(t0, t1, edges="interpolate") == pytest.approx(power_w * (t1 - t0) / 1e9, rel=1e-9)


def test_counter_increments_count_changes_inside_half_open_window() -> None:
    t = np.array([0, 10, 20, 30, 40], dtype=np.int64)
    tl = Timeline(kind=SensorKind.ENERGY, rails=("r",), t_ns=t, values=[0.0, 1.0, 3.0, 6.0, 10.0])
    assert tl.energy_j(10, 30) == pytest.approx(5.0)  # changes at 20 and 30, not at 10
    assert tl.energy_j(11, 29) == pytest.approx(2.0)
    assert tl.energy_j(15, 25, edges="interpolate") == pytest.approx(0.5 * 2 + 0.5 * 3)


def test_box_value_covers_the_interval_before_its_change() -> None:
    # The value latched at 20 ns is the power of (10, 20].
    tl = Timeline(
        kind=SensorKind.POWER, rails=("r",), t_ns=[0, 10, 20], values=[99.0, 1.0, 3.0], filter_model=FilterModel("box")
    )
    assert tl.energy_j(10, 20) == pytest.approx(3.0 * 10e-9)
    assert tl.energy_j(0, 10) == pytest.approx(1.0 * 10e-9)
    assert tl.energy_j(5, 15) == pytest.approx((5 * 1.0 + 5 * 3.0) * 1e-9)


def test_point_model_is_trapezoid_with_interpolated_edges() -> None:
    tl = Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[0, 1_000_000_000], values=[0.0, 10.0])
    assert tl.energy_j(0, 1_000_000_000) == pytest.approx(5.0)
    assert tl.energy_j(0, 500_000_000) == pytest.approx(1.25)


def test_change_instant_is_bracket_midpoint() -> None:
    tl = Timeline(
        kind=SensorKind.ENERGY, rails=("r",), t_ns=[100, 200, 300], t_prev_ns=[100, 150, 200], values=[0, 1, 2]
    )
    assert list(tl.t_change_ns) == [100, 175, 250]
    assert list(tl.bracket_ns) == [0, 50, 100]


def test_arrays_are_read_only() -> None:
    tl = Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[0, 1], values=[1.0, 2.0])
    with pytest.raises(ValueError):
        tl.values[0, 0] = 5.0


def test_vectorised_windows_match_scalar_ones() -> None:
    t = np.arange(0, 100, dtype=np.int64) * 1000
    tl = Timeline(kind=SensorKind.ENERGY, rails=("r",), t_ns=t, values=np.cumsum(np.arange(100.0)))
    t0 = np.array([0, 5000, 20_000])
    t1 = np.array([3000, 60_000, 99_000])
    vec = tl.energy_j(t0, t1)
    assert list(vec) == [tl.energy_j(int(a), int(b)) for a, b in zip(t0, t1, strict=True)]


def test_rails_and_total_rails() -> None:
    tl = Timeline(
        kind=SensorKind.POWER,
        rails=("in", "cpu"),
        total_rails=("in",),
        t_ns=[0, 1_000_000_000],
        values=[[10.0, 4.0], [10.0, 4.0]],
    )
    assert tl.energy_j(0, 1_000_000_000) == pytest.approx(10.0)
    assert tl.energy_j(0, 1_000_000_000, rail="cpu") == pytest.approx(4.0)
    with pytest.raises(KeyError, match="no rail"):
        tl.energy_j(0, 1, rail="gpu")


def test_window_outside_coverage_is_refused() -> None:
    tl = Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[100, 200], values=[1.0, 1.0])
    with pytest.raises(AlignmentError, match="coverage"):
        tl.energy_j(50, 150)
    with pytest.raises(SamplingError, match="too few"):
        Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[100], values=[1.0]).energy_j(100, 100)


def test_level_channel_has_a_mean_but_no_energy() -> None:
    tl = Timeline(kind=None, rails=("cpu0",), t_ns=[0, 1_000_000_000], values=[1000.0, 2000.0], unit="MHz")
    assert tl.mean(0, 1_000_000_000) == pytest.approx(1500.0)
    with pytest.raises(SamplingError, match="not a power or energy"):
        tl.energy_j(0, 1)


@given(st.lists(st.floats(0.0, 99.999), min_size=1, max_size=60))
def test_unwrapping_is_monotonic(raw: list[float]) -> None:
    out = unwrap_counter(raw, 100.0)
    assert out[0] == raw[0]
    assert np.all(np.diff(out) >= 0)
    wraps = (out - np.asarray(raw)) / 100.0  # unwrapping only ever adds whole wraps
    assert np.allclose(wraps, np.round(wraps), atol=1e-9)


@given(st.lists(st.floats(0.0, 30.0), min_size=2, max_size=50), st.floats(50.0, 1000.0))
def test_unwrapping_recovers_a_wrapped_counter(increments: list[float], range_j: float) -> None:
    true = np.cumsum(increments)
    wrapped = np.mod(true, range_j)
    assert np.allclose(unwrap_counter(wrapped, range_j), wrapped[0] + (true - true[0]), rtol=1e-9, atol=1e-6)


@given(timelines("counter"))
@settings(max_examples=50, deadline=None)
def test_counter_and_power_views_agree(tl: Timeline) -> None:
    lo, hi = tl.coverage_ns
    mid = (lo + hi) // 2
    power = tl.to_power()
    assert power.model == "box"
    assert power.energy_j(lo, mid) == pytest.approx(tl.energy_j(lo, mid, edges="interpolate"), rel=1e-6, abs=1e-6)
    back = power.to_counter()
    assert back.energy_j(lo, hi) == pytest.approx(tl.energy_j(lo, hi), rel=1e-6, abs=1e-6)


def test_parquet_and_frame_round_trip(tmp_path: Path) -> None:
    tl = Timeline(
        kind=SensorKind.POWER,
        rails=("VDD_IN", "VDD_SOC"),
        t_ns=[10, 20, 30],
        t_prev_ns=[10, 15, 25],
        values=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        filter_model=FilterModel("box", 0.0066),
        gaps=[Gap(21, 24, 3, "ENODATA")],
        sensor={"name": "jetson"},
        end_reason="vanished",
    )
    path = tl.to_parquet(tmp_path / "samples.parquet")
    back = Timeline.from_parquet(path)
    assert back.rails == tl.rails and back.filter_model == tl.filter_model and back.gaps == tl.gaps
    assert np.array_equal(back.values, tl.values) and np.array_equal(back.t_prev_ns, tl.t_prev_ns)
    assert back.end_reason == "vanished" and back.sensor == {"name": "jetson"}
    frame = tl.to_frame()
    assert list(frame.columns) == ["t_ns", "t_prev_ns", "t_change_ns", "VDD_IN_w", "VDD_SOC_w"]
    assert Timeline.from_frame(frame).energy_j(15, 27) == pytest.approx(tl.energy_j(15, 27))


def test_from_parquet_refuses_foreign_files(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(DatasetError, match="not a SyNERGY timeline"):
        Timeline.from_parquet(path)


def test_gaps_in_window() -> None:
    gap = Gap(100, 200, 5, "EAGAIN")
    tl = Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[0, 300], values=[1.0, 1.0], gaps=[gap])
    assert tl.gaps_in(150, 250) == (gap,)
    assert tl.gaps_in(201, 300) == ()


def test_invalid_construction() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[0, 0], values=[1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[0, 1], values=[1.0, float("nan")])
    with pytest.raises(ValueError, match="t_prev_ns"):
        Timeline(kind=SensorKind.POWER, rails=("r",), t_ns=[0, 10], t_prev_ns=[0, 11], values=[1.0, 1.0])


def test_update_period_narrows_a_late_poll() -> None:
    # A poll 10 ms late on a 1 ms counter: the value it read was latched within the last millisecond.
    tl = Timeline(
        kind=SensorKind.ENERGY,
        rails=("r",),
        t_ns=[0, 11_000_000],
        t_prev_ns=[0, 1_000_000],
        values=[0.0, 1.0],
        update_period_s=0.001,
    )
    assert list(tl.t_change_ns) == [0, 10_500_000]
    wide = Timeline(kind=SensorKind.ENERGY, rails=("r",), t_ns=[0, 11_000_000], t_prev_ns=[0, 1_000_000], values=[0, 1])
    assert list(wide.t_change_ns) == [0, 6_000_000]
