"""perf_event_open counters: software task-clock everywhere, unsupported events reported, never fatal."""

from __future__ import annotations

import pytest

from synergy.runtime.counters import DEFAULT_EVENTS, CounterEvent, PerfCounters


def test_task_clock_counts_this_thread() -> None:
    with PerfCounters() as counters:
        if "task_clock_ns" not in counters.names:
            pytest.skip(f"perf_event_open unavailable here: {counters.unsupported}")
        before = counters.read()
        sum(range(200_000))
        delta = counters.delta(before, counters.read())
        assert delta[counters.names.index("task_clock_ns")] > 0
        described = counters.describe()
        assert set(described["events"]) | set(described["unsupported"]) == {e.name for e in DEFAULT_EVENTS}


def test_unknown_events_are_reasons_not_errors() -> None:
    bogus = CounterEvent("bogus", 999, 0)
    arm_only = CounterEvent("arm_only", 4, 0x74, ("no-such-machine",))
    with PerfCounters((bogus, arm_only)) as counters:
        assert counters.names == ()
        assert set(counters.unsupported) == {"bogus", "arm_only"}
        assert counters.read() == ()
