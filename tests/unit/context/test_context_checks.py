"""Every check, exercised by a writer changing the fake tree while the channels are read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from context_helpers import NEIGHBOUR_PID, record_during, span_of

from synergy.context import (
    Finding,
    Thresholds,
    Timeline,
    check,
    check_system,
    check_timelines,
    collect_context,
    discover_channels,
    enforce,
    format_findings,
    throttle_names,
    zone_limits,
)
from synergy.errors import MeasurementError
from synergy.testing.context import (
    ContextTree,
    ContextWriter,
    busy_steps,
    frequency_steps,
    make_orin_tree,
    make_x86_tree,
    temperature_steps,
)


def _codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.subject) for f in findings)


def _record(tree: ContextTree, steps: list, only: list[str]) -> tuple[list[Timeline], tuple[int, int]]:
    channels = discover_channels(tree.root, use_nvml=False, pid=tree.pid, only=only)
    timelines = record_during(list(channels), ContextWriter(tree, steps, period_s=0.003))
    return timelines, span_of(timelines)


# -- frequency changed -------------------------------------------------------------------------------------------


def test_cpu_frequency_changed_mid_run(x86: ContextTree) -> None:
    steps = frequency_steps("cpu", [3.6e9, 1.2e9, 4.2e9], cpus=[1, 2])
    timelines, span = _record(x86, steps, ["cpu_freq"])
    findings = check_timelines(timelines, [span])
    assert _codes(findings) == [("frequency-changed", "cpu_freq")]
    finding = findings[0]
    assert "2 core(s) (cpu1, cpu2)" in finding.message and "4.2 GHz" in finding.message
    assert finding.commands == ("sudo cpupower frequency-set -g performance",)


def test_steady_cpu_frequency_is_fine(x86: ContextTree) -> None:
    steps = frequency_steps("cpu", [2.45e9, 2.4e9])  # 2 % wobble, under the 5 % tolerance
    timelines, span = _record(x86, steps, ["cpu_freq"])
    assert check_timelines(timelines, [span]) == []
    assert check_timelines(timelines, [span], thresholds=Thresholds(freq_tolerance=0.01)) != []


def test_gpu_devfreq_changed_mid_run(orin: ContextTree) -> None:
    steps = frequency_steps("gpu", [612e6, 1300.5e6])
    timelines, span = _record(orin, steps, ["gpu_freq"])
    findings = check_timelines(timelines, [span])
    assert _codes(findings) == [("frequency-changed", "gpu_freq_hz")]
    assert findings[0].commands == ("sudo jetson_clocks",)
    assert "0.306 GHz to 1.3 GHz" in findings[0].message


def test_emc_changed_mid_run(orin: ContextTree) -> None:
    timelines, span = _record(orin, frequency_steps("emc", [2133e6]), ["emc_freq"])
    assert _codes(check_timelines(timelines, [span])) == [("frequency-changed", "emc_freq_hz")]


def test_changes_outside_the_measured_runs_do_not_count(orin: ContextTree) -> None:
    timelines, _ = _record(orin, frequency_steps("gpu", [1300.5e6]), ["gpu_freq"])
    (timeline,) = timelines
    last = int(timeline.t_ns[-1])
    # only the final, steady part is a measured run: the ramp happened during warm-up
    assert check_timelines(timelines, [(last, last + 1_000_000)]) == []


def test_nvml_clock_changed_gives_the_nvidia_smi_lock() -> None:
    t = np.arange(5) * 10_000_000
    sm = [1980e6, 1980e6, 1755e6, 1980e6, 1980e6]
    timeline = Timeline(("gpu0_sm_clock_hz", "gpu0_mem_clock_hz"), t, np.column_stack([sm, [2619e6] * 5]))
    (finding,) = check_timelines(timeline, [(0, 50_000_000)])
    assert finding.subject == "gpu0_sm_clock_hz"
    assert finding.commands == ("sudo nvidia-smi -i 0 -lgc 1980,1980",)


# -- thermal -----------------------------------------------------------------------------------------------------


def test_thermal_zone_crossing_its_trip_point(orin: ContextTree) -> None:
    before = collect_context(orin.root, use_nvml=False, top_interval_s=0)
    steps = temperature_steps("gpu-thermal", [80.0, 99.5, 90.0])
    timelines, span = _record(orin, steps, ["thermal"])
    findings = check(before, timelines, [span])
    thermal = [f for f in findings if f.code == "thermal-threshold"]
    assert [f.subject for f in thermal] == ["gpu_thermal"]
    assert "99.0 °C" in thermal[0].message  # the zone's passive trip, not the default
    assert thermal[0].commands == ("sudo jetson_clocks --fan",)
    drift = [f for f in findings if f.code == "temperature-drift"]
    assert [f.subject for f in drift] == ["gpu_thermal"]  # 46 → 90 °C


def test_default_threshold_without_trip_points(x86: ContextTree) -> None:
    # x86_pkg_temp has no trip point: the default 85 °C applies
    timelines, span = _record(x86, temperature_steps("x86_pkg_temp", [70.0, 86.0, 50.0]), ["thermal"])
    limits = zone_limits(collect_context(x86.root, use_nvml=False, top_interval_s=0), 85.0)
    assert limits == {"acpitz_temp_c": 105.0, "x86_pkg_temp_temp_c": 85.0}
    findings = check_timelines(timelines, [span], zone_limits_c=limits)
    assert _codes(findings) == [("thermal-threshold", "x86_pkg_temp")]


def test_hot_board_before_the_run(orin: ContextTree) -> None:
    orin.set_temp("tj-thermal", 105.0)
    context = collect_context(orin.root, use_nvml=False, top_interval_s=0)
    assert ("thermal-threshold", "tj_thermal") in _codes(check_system(context))


def test_throttling_reported_by_nvml() -> None:
    masks = [0x1, 0x0, 0x20 | 0x4, 0x0]
    timeline = Timeline(("gpu1_throttle_mask",), np.arange(4), np.array(masks, dtype=float).reshape(-1, 1))
    (finding,) = check_timelines(timeline, [(0, 3)])
    assert (finding.code, finding.subject) == ("throttling", "gpu1")
    assert "sw_power_cap, sw_thermal_slowdown" in finding.message
    idle_only = Timeline(("gpu0_throttle_mask",), [0, 1], [[1.0], [0.0]])
    assert check_timelines(idle_only, [(0, 1)]) == []  # gpu_idle is not throttling
    assert throttle_names(0x1 | 0x400) == ["gpu_idle", "bit_0x400"]


# -- CPU busy outside the process --------------------------------------------------------------------------------


def test_busy_neighbour_during_the_runs(x86: ContextTree) -> None:
    x86.add_process(NEIGHBOUR_PID, "stress-ng")
    timelines, span = _record(x86, busy_steps(5, busy=8, idle=2, pid=NEIGHBOUR_PID), ["cpu_util"])
    findings = check_timelines(timelines, [span])
    assert _codes(findings) == [("cpu-busy", "other_cpu_util")]
    assert "80%" in findings[0].message


def test_busy_measured_process_is_not_a_finding(x86: ContextTree) -> None:
    timelines, span = _record(x86, busy_steps(5, busy=8, idle=2, pid=x86.pid), ["cpu_util"])
    assert check_timelines(timelines, [span]) == []


def test_top_processes_name_the_neighbour(x86: ContextTree) -> None:
    x86.add_process(NEIGHBOUR_PID, "stress-ng")

    def sleep(_: float) -> None:
        x86.tick(busy=25, idle=25, pid=NEIGHBOUR_PID)  # 100 ticks = 1 CPU-second over the 0.5 s window

    from synergy.context.cpuload import top_processes

    (top,) = top_processes(x86.root, interval_s=0.5, exclude=frozenset({x86.pid}), sleep=sleep)
    assert (top.pid, top.name) == (NEIGHBOUR_PID, "stress-ng") and top.busy_cores > 0.5
    context = collect_context(x86.root, use_nvml=False, top_interval_s=0)
    context.top_processes = [top]
    assert ("cpu-busy", "processes") in _codes(check_system(context))


# -- governor, turbo, locked clocks ------------------------------------------------------------------------------


def test_governor_and_turbo_on_x86(x86: ContextTree) -> None:
    findings = check_system(collect_context(x86.root, use_nvml=False, top_interval_s=0))
    assert _codes(findings) == [
        ("cpu-governor", "cpu_freq"),
        ("turbo", str(x86.root / "sys/devices/system/cpu/intel_pstate/no_turbo")),
    ]
    governor = findings[0]
    assert "'powersave'" in governor.message and "policy0 (CPUs 0)" in governor.message
    assert governor.commands[0] == "sudo cpupower frequency-set -g performance"
    assert findings[1].commands == ("echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo",)


def test_tuned_x86_has_no_findings(tmp_path: Path) -> None:
    tree = make_x86_tree(tmp_path / "tuned", governor="performance", turbo=False, driver="acpi-cpufreq", pid=1000)
    assert check_system(collect_context(tree.root, use_nvml=False, top_interval_s=0)) == []


def test_governor_changed_by_a_writer(x86: ContextTree) -> None:
    with ContextWriter(x86, [lambda t: t.set_governor("performance")], period_s=0.001) as writer:
        writer.done.wait(5)
    x86.write("sys/devices/system/cpu/intel_pstate/no_turbo", "1")
    assert check_system(collect_context(x86.root, use_nvml=False, top_interval_s=0)) == []


def test_orin_after_jetson_clocks_is_fine(tmp_path: Path) -> None:
    tree = make_orin_tree(tmp_path / "locked", locked=True, pid=1000)
    context = collect_context(tree.root, use_nvml=False, top_interval_s=0)
    assert all(p.fixed for p in context.policies) and context.devfreq[0].locked
    assert check_system(context) == []


def test_orin_unlocked_says_jetson_clocks(orin: ContextTree) -> None:
    findings = check_system(collect_context(orin.root, use_nvml=False, top_interval_s=0))
    assert _codes(findings) == [("clock-not-locked", "17000000.gpu"), ("cpu-governor", "cpu_freq")]
    assert all("sudo jetson_clocks" in f.commands for f in findings)


# -- check(), strict, output -------------------------------------------------------------------------------------


def test_check_deduplicates_before_and_after(orin: ContextTree) -> None:
    before = collect_context(orin.root, use_nvml=False, top_interval_s=0)
    findings = check(before, [], [(0, 1)], context_after=before)
    assert len(findings) == len({(f.code, f.subject) for f in findings}) == 2


def test_enforce_strict() -> None:
    finding = Finding("cpu-busy", "other_cpu_util", "other processes used 40% of the CPU", "stop other work")
    enforce([finding], strict=False)
    enforce([], strict=True)
    with pytest.raises(MeasurementError, match=r"1 measurement check\(s\) failed under --strict \(cpu-busy\)") as info:
        enforce([finding], strict=True)
    assert info.value.exit_code == 1


def test_findings_print_and_serialise(x86: ContextTree) -> None:
    findings = check_system(collect_context(x86.root, use_nvml=False, top_interval_s=0))
    lines = format_findings(findings)
    assert lines[0].startswith("warning: CPU governor is 'powersave'")
    assert lines[1] == "    sudo cpupower frequency-set -g performance"
    payload = json.loads(json.dumps([f.to_dict() for f in findings]))
    assert payload[0]["code"] == "cpu-governor" and payload[0]["commands"]
    assert "fix the governor" in str(findings[0])


def test_writer_starts_once_stops_cleanly_and_reraises(x86: ContextTree) -> None:
    writer = ContextWriter(x86, frequency_steps("cpu", [1e9, 2e9]), period_s=0.001).start()
    with pytest.raises(RuntimeError, match="already started"):
        writer.start()
    assert writer.done.wait(5)
    writer.stop()
    assert writer.applied == 2

    def boom(_: ContextTree) -> None:
        raise OSError("disk full")

    failing = ContextWriter(x86, [boom], period_s=0.0).start()
    failing.done.wait(5)
    with pytest.raises(OSError, match="disk full"):
        failing.stop()
    slow = ContextWriter(x86, frequency_steps("cpu", [1e9] * 1000), period_s=0.05).start()
    slow.stop()  # stops between steps, long before the script ends
    assert slow.applied < 1000
