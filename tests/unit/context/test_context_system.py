"""The machine snapshot on fake trees and on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from synergy.context import collect_context
from synergy.context.cpufreq import read_boost, read_policies, read_smt
from synergy.context.nvpmodel import read_power_mode
from synergy.testing.context import ContextTree, make_orin_tree, make_x86_tree


def test_x86_snapshot(x86: ContextTree) -> None:
    context = collect_context(x86.root, use_nvml=False, top_interval_s=0)
    assert context.cpu_model == "Fake Xeon CPU @ 2.40GHz"
    assert context.kernel == "6.8.0-fake"
    assert context.cpus_online == (0, 1, 2, 3)
    assert context.governors == {f"policy{i}": "powersave" for i in range(4)}
    policy = context.policies[0]
    assert (policy.driver, policy.cpus, policy.hw_max_hz, policy.cur_hz) == ("intel_pstate", (0,), 4.2e9, 2.4e9)
    assert policy.available_governors == ("performance", "powersave") and not policy.fixed
    assert context.boost.enabled is True
    assert (context.smt.control, context.smt.active) == ("on", True)
    assert [z.type for z in context.thermal_zones] == ["acpitz", "x86_pkg_temp"]
    assert context.thermal_zones[0].limit_c == 105.0 and context.thermal_zones[1].limit_c is None
    assert context.power_mode is None and context.loadavg == (0.5, 0.4, 0.3)
    data = json.loads(json.dumps(context.to_dict()))
    assert data["format_version"] == 1 and data["cpufreq_policies"][0]["fixed"] is False


def test_orin_snapshot(orin: ContextTree) -> None:
    context = collect_context(orin.root, use_nvml=False, top_interval_s=0)
    assert context.board == "NVIDIA Jetson AGX Orin Developer Kit"
    assert context.l4t is not None and context.l4t.startswith("R36 (release), REVISION: 4.3")
    assert context.cpu_model == "Arm Cortex-A78AE"
    assert [p.cpus for p in context.policies] == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11)]
    assert context.power_mode is not None
    assert (context.power_mode.id, context.power_mode.name, context.power_mode.source) == (0, "MAXN", "status")
    assert context.emc == {
        "emc_freq_hz": 3199e6,
        "emc_util": 0.1,
        "source": str(orin.root / "sys/kernel/debug/bpmp/debug/clk/emc/rate"),
    }
    assert [z.type for z in context.thermal_zones][:3] == ["cpu-thermal", "gpu-thermal", "cv0-thermal"]
    assert context.thermal_zones[2].temp_c is None  # offline CV cluster
    assert context.boost.enabled is None and context.smt.control is None
    json.dumps(context.to_dict())


def test_power_mode_default_without_status(tmp_path: Path) -> None:
    tree = make_orin_tree(tmp_path / "orin", power_mode=None, pid=1000)
    mode, reason = read_power_mode(tree.root)
    assert reason is None and mode is not None
    assert (mode.id, mode.name, mode.source) == (2, "MODE_30W", "default")
    assert mode.to_dict()["modes"] == {"0": "MAXN", "1": "MODE_15W", "2": "MODE_30W", "3": "MODE_50W"}


def test_power_mode_missing_or_garbage(tmp_path: Path) -> None:
    mode, reason = read_power_mode(tmp_path)
    assert mode is None and reason is not None and "not a Jetson" in reason
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/nvpmodel.conf").write_text("garbage\n")
    mode, reason = read_power_mode(tmp_path)
    assert mode is None and reason is not None and "POWER_MODEL" in reason


def test_cpufreq_pieces_on_an_empty_root(tmp_path: Path) -> None:
    assert read_policies(tmp_path) == []
    assert read_boost(tmp_path).enabled is None
    assert read_smt(tmp_path).control is None
    context = collect_context(tmp_path, use_nvml=False, top_interval_s=0)
    assert {n.channel for n in context.notes} == {"cpu_freq", "thermal", "power_mode"}


def test_boost_from_cpufreq_boost(tmp_path: Path) -> None:
    tree = make_x86_tree(tmp_path / "amd", driver="amd-pstate", turbo=True, pid=1000)
    boost = read_boost(tree.root)
    assert boost.enabled is True and boost.disable_command == "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost"


def test_snapshot_of_this_machine() -> None:
    context = collect_context(Path("/"), top_interval_s=0.05)
    assert context.cpus_online
    data = json.loads(json.dumps(context.to_dict()))
    assert data["root"] == "/"
    if not Path("/sys/devices/system/cpu/cpu0/cpufreq").exists():
        assert context.policies == [] and any(n.channel == "cpu_freq" for n in context.notes)


def test_summary_lines(orin: ContextTree, x86: ContextTree, tmp_path: Path) -> None:
    line = collect_context(orin.root, use_nvml=False, top_interval_s=0).summary_line()
    assert line == (
        "CPU governor schedutil (3 policies, not fixed); Jetson power mode 0 MAXN; "
        "GPU 17000000.gpu nvhost_podgov, not locked"
    )
    line = collect_context(x86.root, use_nvml=False, top_interval_s=0).summary_line()
    assert line == "CPU governor powersave (4 policies, not fixed); turbo on"
    assert collect_context(tmp_path, use_nvml=False, top_interval_s=0).summary_line().startswith("CPU governor unknown")
