"""Isolation mode: the loop plan, the runtime's loops, and the power of each loop's window."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synergy.alignment.isolation import LoopRecord, attribute_isolated, isolated_frame, loop_plan
from synergy.errors import AlignmentError
from synergy.runtime.torch_eager import TorchEagerRuntime
from synergy.sampling.timeline import Timeline
from synergy.sensors.base import FilterModel, SensorKind


def test_loop_plan_waits_five_time_constants() -> None:
    assert loop_plan(0.05) == (0.25, 1.0)
    settle, measure = loop_plan(0.4, measure_s=1.0)
    assert settle == 2.0 and measure == 4.0
    assert loop_plan(None)[0] == 0.5


def _box_timeline(powers: list[float], seconds_each: float, period_s: float) -> Timeline:
    """A rail latching the box mean every ``period_s``, stepping through ``powers`` for ``seconds_each``."""
    latches = np.arange(1, int(len(powers) * seconds_each / period_s) + 1) * period_s
    values = np.array([powers[min(int((t - 1e-9) // seconds_each), len(powers) - 1)] for t in latches])
    t_ns = (latches * 1e9).astype(np.int64) + 1000  # each value first read 1 µs after its latch
    t_prev = np.r_[t_ns[0], t_ns[:-1] + 500_000]
    return Timeline(
        kind=SensorKind.POWER,
        rails=("total",),
        t_ns=t_ns,
        values=values,
        t_prev_ns=t_prev,
        filter_model=FilterModel("box", period_s),
        update_period_s=period_s,
    )


def test_each_window_gets_its_own_power() -> None:
    timeline = _box_timeline([20.0, 8.0, 14.0], seconds_each=1.0, period_s=0.02)
    loops = [
        LoopRecord(f"layer{i}", int(i * 1e9), int((i + 0.3) * 1e9), int((i + 0.95) * 1e9), calls=100 * (i + 1))
        for i in range(3)
    ]
    result = attribute_isolated(timeline, loops, idle_w=3.0)
    np.testing.assert_allclose([r.power_w for r in result], [20.0, 8.0, 14.0], rtol=1e-6)
    frame = isolated_frame(result)
    np.testing.assert_allclose(frame["duration_s"], 0.65 / np.array([100, 200, 300]), rtol=1e-6)
    np.testing.assert_allclose(frame["dynamic_energy_j"], (frame["power_w"] - 3.0) * frame["duration_s"])


def test_uncovered_loop_is_refused() -> None:
    timeline = _box_timeline([5.0], seconds_each=1.0, period_s=0.02)
    with pytest.raises(AlignmentError, match="does not cover"):
        attribute_isolated(timeline, [LoopRecord("x", 0, int(2e9), int(3e9), 10)], idle_w=0.0)


def test_runtime_loops_every_leaf_alone() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    runtime = TorchEagerRuntime(model, (1, 8))
    loops = runtime.isolate(settle_s=0.01, measure_s=0.02)
    assert [loop.layer for loop in loops] == ["0", "1", "2"]
    for loop in loops:
        assert loop.calls > 0 and loop.t_start_ns < loop.t_measure_ns < loop.t_end_ns
    # The marks are off while looping and back on afterwards.
    record = runtime.run_once()
    assert len(record.layer_index) == 3
