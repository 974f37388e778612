"""``synergy.context.results``: the sampler's hand-over, ``context.parquet`` and the per-layer rails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synergy.context.results import context_frame, from_sampler, layer_spans, read_context_parquet, summary_rails
from synergy.context.timeline import Timeline, summarize
from synergy.sampling.timeline import Timeline as SamplerTimeline


def _changes() -> SamplerTimeline:
    # 1 GHz read from 0 to 90 ms, 2 GHz from 100 ms (first read) to the last read at 130 ms.
    return SamplerTimeline(
        kind=None,
        rails=("cpu0_freq_hz", "cpu1_freq_hz"),
        t_ns=[0, 100_000_000],
        t_prev_ns=[0, 90_000_000],
        values=[[1e9, 1e9], [2e9, np.nan]],
        t_end_ns=130_000_000,
    )


def test_reads_are_restored_on_the_poll_grid() -> None:
    reads = from_sampler(_changes(), 0.01)
    assert reads.t_ns.tolist() == [i * 10_000_000 for i in range(14)]
    assert reads.column("cpu0_freq_hz").tolist() == [1e9] * 10 + [2e9] * 4
    # A median weighs each value by how long it held, not by how often it changed.
    stats = summarize(reads, {"all": [(0, 130_000_000)]}).stats["all"]["cpu0_freq_hz"]
    assert stats.median == 1e9 and stats.max == 2e9 and stats.samples == 14
    held = from_sampler(_changes())  # without a period: each change and the last read of the value before
    assert held.t_ns.tolist() == [0, 90_000_000, 100_000_000, 130_000_000]


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = context_frame({"cpu_freq": _changes()})
    assert list(frame.columns) == ["channel", "rail", "t_ns", "t_prev_ns", "value"] and len(frame) == 4
    frame.to_parquet(tmp_path / "context.parquet", index=False)
    stored = read_context_parquet(tmp_path / "context.parquet")["cpu_freq"]
    assert stored.rails == ("cpu0_freq_hz", "cpu1_freq_hz") and stored.t_ns.tolist() == [0, 100_000_000]
    assert np.isnan(stored.values[1, 1])
    # The sampler stores a closing row at its last read, so the file needs no end time.
    assert from_sampler(stored, 0.05).t_ns.tolist() == [0, 50_000_000, 90_000_000, 100_000_000]
    assert len(context_frame({})) == 0


def test_summary_rails_mean_clock_and_hottest_zone() -> None:
    clocks = Timeline(("cpu0_freq_hz", "cpu1_freq_hz"), [0, 10], [[1e9, 3e9], [2e9, np.nan]])
    zones = Timeline(("a_temp_c", "b_temp_c"), [5], [[40.0, 55.0]])
    nvml = Timeline(("gpu0_sm_clock_hz", "gpu0_temp_c"), [0], [[1.5e9, 70.0]])
    derived = summary_rails([clocks, zones, nvml])
    assert derived is not None and derived.rails == ("cpu_freq_hz", "gpu_freq_hz", "temp_c")
    assert derived.t_ns.tolist() == [0, 5, 10]
    assert derived.column("cpu_freq_hz").tolist() == pytest.approx([2e9, 2e9, 2e9])
    assert derived.column("temp_c").tolist() == [70.0, 70.0, 70.0]
    assert summary_rails([Timeline(("cpu_util",), [0], [[0.5]])]) is None


def test_layer_spans() -> None:
    spans = layer_spans(("a", "b"), np.array([0, 1, 0]), np.array([1, 3, 10]), np.array([2, 4, 11]))
    assert spans == {"a": [(1, 2), (10, 11)], "b": [(3, 4)]}
