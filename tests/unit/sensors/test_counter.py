"""Unwrapping of wrapping counters (property tests)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synergy.sensors.counter import CounterUnwrapper


@given(
    range_=st.integers(min_value=1, max_value=2**40),
    start_frac=st.floats(min_value=0, max_value=1, exclude_max=True),
    increments=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), max_size=200),
)
def test_unwrapped_value_is_the_true_cumulative(range_: int, start_frac: float, increments: list[float]) -> None:
    # the true counter grows by less than one range between reads; the hardware shows it modulo range_
    true = int(start_frac * range_)
    unwrapper = CounterUnwrapper(range_)
    assert unwrapper.update(true % range_) == true
    for frac in increments:
        true += int(frac * range_)
        assert unwrapper.update(true % range_) == true


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=100))
def test_unwrapped_sequence_never_decreases(raws: list[int]) -> None:
    unwrapper = CounterUnwrapper(1000)
    values = [unwrapper.update(raw) for raw in raws]
    assert values == sorted(values)
    assert unwrapper.wraps == sum(1 for a, b in itertools.pairwise(raws) if b < a)


def test_rejects_a_non_positive_range() -> None:
    with pytest.raises(ValueError, match="range_"):
        CounterUnwrapper(0)
