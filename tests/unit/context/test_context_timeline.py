"""Timelines and summaries over runs and layers, on synthetic samples."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from synergy.context import ContextSummary, Timeline, as_timeline, record, summarize
from synergy.context.timeline import samples_in
from synergy.sensors import Reading
from synergy.testing.context import ContextTree


def _freq_timeline() -> Timeline:
    # gpu_freq_hz sampled every 10 ms: 300 MHz until t=30 ms, then 1.3 GHz; one gap (NaN) at 50 ms
    t = np.arange(0, 100, 10) * 1_000_000
    freq = np.where(t < 30_000_000, 300e6, 1300e6)
    freq[5] = np.nan
    return Timeline(("gpu_freq_hz",), t, freq.reshape(-1, 1))


def test_state_rails_see_the_value_in_force_at_the_start() -> None:
    timeline = _freq_timeline()
    # a 2 ms layer between samples: sees the sample at 20 ms (in force), nothing else
    assert list(samples_in(timeline.t_ns, [(22_000_000, 24_000_000)], interval=False)) == [2]
    # a window starting exactly on a sample uses that sample
    assert list(samples_in(timeline.t_ns, [(30_000_000, 41_000_000)], interval=False)) == [3, 4]
    # before the first sample: nothing
    assert list(samples_in(timeline.t_ns, [(-5, -1)], interval=False)) == []


def test_interval_rails_see_the_sample_covering_the_tail() -> None:
    t = np.array([0, 10, 20, 30]) * 1_000_000
    assert list(samples_in(t, [(12_000_000, 14_000_000)], interval=True)) == [2]
    assert list(samples_in(t, [(12_000_000, 35_000_000)], interval=True)) == [2, 3]


def test_summarize_runs_and_layers() -> None:
    timeline = _freq_timeline()
    windows = {
        "run": [(0, 95_000_000)],
        "conv1": [(1_000_000, 2_000_000), (41_000_000, 42_000_000)],
        "fc": [(55_000_000, 56_000_000)],  # only the gap is in force: no sample
    }
    summary = summarize(timeline, windows)
    run = summary.stats["run"]["gpu_freq_hz"]
    assert (run.min, run.max, run.samples) == (300e6, 1300e6, 9)
    assert run.median == 1300e6
    conv1 = summary.stats["conv1"]["gpu_freq_hz"]
    assert (conv1.min, conv1.median, conv1.max, conv1.samples) == (300e6, 800e6, 1300e6, 2)
    assert summary.stats["fc"] == {}
    assert summary.to_dict()["conv1"]["gpu_freq_hz"] == {"min": 300e6, "median": 800e6, "max": 1300e6, "samples": 2}


def test_summary_frame_for_layers_csv() -> None:
    utilisation = Timeline(("cpu_util", "other_cpu_util"), [10, 20, 30], [[0.5, 0.1], [0.7, 0.2], [0.9, 0.3]])
    summary = summarize([_freq_timeline(), utilisation], {"a": [(0, 15)], "b": [(16, 40_000_000)]})
    frame = summary.to_frame(stats=("median",), rails=["gpu_freq_hz", "other_cpu_util"])
    assert list(frame.columns) == ["gpu_freq_hz_median", "other_cpu_util_median"]
    assert frame.index.name == "window" and list(frame.index) == ["a", "b"]
    assert frame.loc["a", "other_cpu_util_median"] == pytest.approx(0.15)  # samples 10 and 20 cover [0, 15]
    assert math.isnan(frame.loc["a", "gpu_freq_hz_median"]) is False


def test_timeline_sorting_merge_and_frame() -> None:
    timeline = Timeline(("a",), [30, 10, 20], [[3.0], [1.0], [2.0]])
    assert list(timeline.t_ns) == [10, 20, 30] and list(timeline.column("a")) == [1.0, 2.0, 3.0]
    merged = timeline.merge(Timeline(("b",), [15], [[9.0]]))
    assert merged.rails == ("a", "b") and len(merged) == 4
    assert np.isnan(merged.values[merged.t_ns == 15, 0]).all()
    frame = merged.to_frame()
    assert list(frame.columns) == ["t_ns", "t_prev_ns", "t_change_ns", "a", "b"]
    assert as_timeline(frame).rails == ("a", "b")  # the time columns are not rails
    with pytest.raises(ValueError, match="share rails"):
        timeline.merge(timeline)


def test_one_timeline_serves_sensors_and_context() -> None:
    """The context package's Timeline is the sampler's: one definition, public as ``synergy.Timeline``."""
    import synergy
    from synergy.context import Timeline as ContextTimeline
    from synergy.sampling import Timeline as SamplingTimeline

    assert ContextTimeline is SamplingTimeline is synergy.Timeline
    with pytest.raises(ValueError, match="strictly increasing"):  # a series of changes stays strictly ordered
        SamplingTimeline(("a",), [2, 1], [[1.0], [2.0]], t_prev_ns=[2, 1])


def test_as_timeline_accepts_what_a_sampler_may_hand_over() -> None:
    frame = pd.DataFrame({"t_ns": [1, 2], "gpu_freq_hz": [1e9, 2e9], "label": ["x", "y"]})
    assert as_timeline(frame).rails == ("gpu_freq_hz",)
    duck = SimpleNamespace(rails=("x_temp_c",), t_ns=[1, 2], values=[[40.0], [41.0]])
    assert as_timeline(duck).column("x_temp_c")[1] == 41.0
    readings = [Reading(1, (1.0,)), Reading(2, (2.0,))]
    assert len(as_timeline(readings, rails=["r"])) == 2
    with pytest.raises(TypeError):
        as_timeline(42)
    with pytest.raises(TypeError):
        as_timeline(pd.DataFrame({"x": [1]}))
    assert isinstance(summarize(frame, {"w": [(0, 3)]}), ContextSummary)


def test_record_reads_a_channel(x86: ContextTree) -> None:
    from synergy.context.cpufreq import discover_cpu_freq

    channel, _ = discover_cpu_freq(x86.root)
    assert channel is not None
    timeline = record(channel, samples=3, period_s=0.0)
    assert len(timeline) == 3 and timeline.rails == channel.rails
