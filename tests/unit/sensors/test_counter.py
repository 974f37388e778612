"""Unwrapping of wrapping counters: wraps that fit the range, and decreases that are read faults."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synergy.errors import SensorReadError
from synergy.sampling.timeline import unwrap_counter
from synergy.sensors.counter import CounterUnwrapper, is_wrap, unwrap_array


@given(
    range_=st.integers(min_value=4, max_value=2**40),
    start_frac=st.floats(min_value=0, max_value=1, exclude_max=True),
    increments=st.lists(st.floats(min_value=0, max_value=0.5), max_size=200),
)
def test_unwrapped_value_is_the_true_cumulative(range_: int, start_frac: float, increments: list[float]) -> None:
    # the true counter grows by at most half a range between reads; the hardware shows it modulo range_
    true = int(start_frac * range_)
    unwrapper = CounterUnwrapper(range_)
    assert unwrapper.update(true % range_) == true
    for frac in increments:
        true += int(frac * range_)
        assert unwrapper.update(true % range_) == true


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=100))
def test_unwrapped_sequence_never_decreases_and_never_invents_a_wrap(raws: list[int]) -> None:
    unwrapper = CounterUnwrapper(1000)
    values = []
    for raw in raws:
        try:
            values.append(unwrapper.update(raw))
        except SensorReadError:
            continue
    assert values == sorted(values)
    assert unwrapper.wraps <= sum(1 for a, b in itertools.pairwise(raws) if b < a)


def test_a_small_step_back_is_a_read_fault_not_a_wrap() -> None:
    # 262 kJ RAPL range in µJ; the counter steps back by 5 J once and then goes on
    range_uj = 262_143_328_850
    u = CounterUnwrapper(range_uj, what="/sys/class/powercap/intel-rapl:0/energy_uj")
    assert u.update(100_000_000) == 100_000_000
    with pytest.raises(SensorReadError, match="intel-rapl:0/energy_uj stepped back"):
        u.update(95_000_000)
    assert u.update(100_001_000) == 100_001_000  # the glitch added nothing
    assert u.wraps == 0 and u.faults == 1


def test_a_counter_reset_is_one_gap_then_counting_goes_on() -> None:
    u = CounterUnwrapper(10**9)
    u.update(500_000)
    with pytest.raises(SensorReadError):
        u.update(10)
    assert u.update(30) == 500_020  # the reset is confirmed; the energy since it counts, nothing before


def test_a_wrap_near_the_top_is_counted() -> None:
    u = CounterUnwrapper(1000)
    assert [u.update(raw) for raw in (900, 990, 20, 500)] == [900, 990, 1020, 1500]
    assert is_wrap(990, 20, 1000) and not is_wrap(700, 695, 1000) and not is_wrap(10, 5, 1000)


@pytest.mark.parametrize("raw", [-1, float("nan"), float("inf"), 1001])
def test_impossible_values_are_read_errors(raw: float) -> None:
    with pytest.raises(SensorReadError, match="outside its range"):
        CounterUnwrapper(1000, what="energy_uj").update(raw)


def test_the_array_unwrapper_follows_the_same_rule() -> None:
    values, faults = unwrap_array([900.0, 990.0, 20.0, 15.0, 40.0], 1000.0)
    assert values.tolist() == [900.0, 990.0, 1020.0, 1020.0, 1040.0]
    assert faults.tolist() == [False, False, False, True, False]
    # the timeline's unwrapper is this one (a log read rarely may imply up to a whole range)
    assert np.allclose(unwrap_counter([90.0, 95.0, 5.0, 10.0], 100.0), [90.0, 95.0, 105.0, 110.0])


def test_rejects_a_non_positive_range() -> None:
    with pytest.raises(ValueError, match="range_"):
        CounterUnwrapper(0)
