"""Every channel on fake trees: values in SI-ish units, garbage → gap, missing → one note."""

# ruff: noqa: N802 - the NVML stub mirrors pynvml's function names

from __future__ import annotations

import math
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
from context_helpers import NEIGHBOUR_PID
from hypothesis import given, settings
from hypothesis import strategies as st

from synergy.context import CHANNEL_NAMES, ChannelSet, CpuUtilChannel, discover_channels, rail_unit
from synergy.context.base import FileChannel, probe_file
from synergy.context.cpufreq import discover_cpu_freq
from synergy.context.cpuload import discover_cpu_util
from synergy.context.devfreq import devfreq_kind, discover_emc_freq, discover_gpu_freq, read_devfreq_devices
from synergy.context.thermal import discover_thermal
from synergy.errors import ChannelReadError
from synergy.testing.context import ContextTree, make_orin_tree

# -- CPU frequency -----------------------------------------------------------------------------------------------


def test_cpu_freq_per_core_in_hz(x86: ContextTree) -> None:
    channel, notes = discover_cpu_freq(x86.root)
    assert channel is not None and notes == []
    assert channel.rails == ("cpu0_freq_hz", "cpu1_freq_hz", "cpu2_freq_hz", "cpu3_freq_hz")
    assert channel.read().values == (2.4e9,) * 4
    x86.set_cpu_freq(3.6e9, cpus=[2])
    assert channel.read().values == (2.4e9, 2.4e9, 3.6e9, 2.4e9)
    assert rail_unit("cpu0_freq_hz") == "Hz"


def test_cpu_freq_clusters_share_a_policy(orin: ContextTree) -> None:
    channel, _ = discover_cpu_freq(orin.root)
    assert channel is not None and len(channel.rails) == 12
    orin.set_cpu_freq(2201.6e6, cpus=[5])  # cluster policy4 holds CPUs 4..7
    values = channel.read().values
    assert values[4:8] == (2201.6e6,) * 4 and values[0] == 1344e6


def test_cpu_freq_garbage_is_a_gap_and_all_garbage_raises(x86: ContextTree) -> None:
    channel, _ = discover_cpu_freq(x86.root)
    assert channel is not None
    x86.write("sys/devices/system/cpu/cpufreq/policy1/scaling_cur_freq", "<unknown>")
    values = channel.read().values
    assert math.isnan(values[1]) and values[0] == 2.4e9
    for cpu in range(4):
        x86.write(f"sys/devices/system/cpu/cpufreq/policy{cpu}/scaling_cur_freq", "garbage")
    with pytest.raises(ChannelReadError, match="every rail is a gap"):
        channel.read()
    x86.set_cpu_freq(1e9)
    assert channel.read().values == (1e9,) * 4  # recovers


def test_cpu_freq_falls_back_to_cpuinfo_cur_freq(x86: ContextTree) -> None:
    (x86.root / "sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq").unlink()
    channel, notes = discover_cpu_freq(x86.root)
    assert channel is not None and notes == []
    assert channel.sources()["cpu0_freq_hz"].endswith("cpu0/cpufreq/cpuinfo_cur_freq")


def test_cpu_freq_core_without_any_file_is_one_note(x86: ContextTree) -> None:
    for name in ("scaling_cur_freq", "cpuinfo_cur_freq"):
        (x86.root / f"sys/devices/system/cpu/cpufreq/policy3/{name}").unlink()
    channel, notes = discover_cpu_freq(x86.root)
    assert channel is not None and "cpu3_freq_hz" not in channel.rails
    assert len(notes) == 1 and notes[0].reason.startswith("cpu3:")


def test_cpu_freq_missing_is_one_note(tmp_path: Path) -> None:
    (tmp_path / "sys/devices/system/cpu/cpu0").mkdir(parents=True)
    channel, notes = discover_cpu_freq(tmp_path)
    assert channel is None
    assert len(notes) == 1 and "no cpufreq" in notes[0].reason


# -- GPU and EMC (devfreq) ---------------------------------------------------------------------------------------


def test_orin_gpu_devfreq_at_the_real_path(orin: ContextTree) -> None:
    channel, notes = discover_gpu_freq(orin.root)
    assert channel is not None and notes == []
    assert channel.rails == ("gpu_freq_hz",)
    assert channel.read().values == (306e6,)
    orin.set_devfreq("gpu", 1300.5e6)
    assert channel.read().values == (1300.5e6,)
    assert channel.sources()["gpu_freq_hz"].endswith("17000000.gpu/cur_freq")
    device = read_devfreq_devices(orin.root)[0]
    assert (device.kind, device.governor, device.locked) == ("gpu", "nvhost_podgov", False)
    assert device.available_hz[0] == 306e6 and device.max_hz == 1300.5e6


@pytest.mark.parametrize(
    "folder",
    [
        "sys/devices/17000000.ga10b/devfreq/17000000.ga10b",  # Orin, L4T 35
        "sys/devices/17000000.gv11b/devfreq/17000000.gv11b",  # Xavier
        "sys/devices/17000000.gp10b/devfreq/17000000.gp10b",  # TX2
        "sys/devices/57000000.gpu/devfreq/57000000.gpu",  # Nano, TX1
        "sys/devices/platform/bus@0/17000000.gpu/devfreq/17000000.gpu",  # Orin, L4T 36, no class symlink
    ],
)
def test_older_jetson_gpu_paths_without_class_symlinks(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / "cur_freq").write_text("921600000\n")
    channel, _ = discover_gpu_freq(tmp_path)
    assert channel is not None and channel.read().values == (921600000.0,)


def test_devfreq_kinds() -> None:
    assert devfreq_kind("17000000.gpu") == "gpu"
    assert devfreq_kind("17000000.gv11b") == "gpu"
    assert devfreq_kind("31b0000.emc") == "emc"
    assert devfreq_kind("15880000.nvdla0") == "other"


def test_no_gpu_is_one_note(x86: ContextTree) -> None:
    channel, notes = discover_gpu_freq(x86.root)
    assert channel is None and len(notes) == 1


def test_emc_from_bpmp_with_activity(orin: ContextTree) -> None:
    channel, notes = discover_emc_freq(orin.root)
    assert channel is not None and notes == []
    assert channel.rails == ("emc_freq_hz", "emc_util")
    freq, util = channel.read().values
    assert freq == 3199e6 and util == pytest.approx(0.1)
    orin.write("sys/kernel/actmon_avg_activity/mc_all", "garbage")
    freq, util = channel.read().values
    assert freq == 3199e6 and math.isnan(util)
    orin.write(orin.emc_rate or "", "garbage")
    with pytest.raises(ChannelReadError):
        channel.read()


def test_emc_from_devfreq_first(tmp_path: Path) -> None:
    folder = tmp_path / "sys/devices/platform/bus@0/31b0000.emc/devfreq/31b0000.emc"
    folder.mkdir(parents=True)
    (folder / "cur_freq").write_text("2133000000\n")
    channel, _ = discover_emc_freq(tmp_path)
    assert channel is not None and channel.rails == ("emc_freq_hz",)
    assert channel.read().values == (2133e6,)


def test_emc_legacy_debugfs(tmp_path: Path) -> None:
    path = tmp_path / "sys/kernel/debug/clk/emc/clk_rate"
    path.parent.mkdir(parents=True)
    path.write_text("1600000000\n")
    channel, _ = discover_emc_freq(tmp_path)
    assert channel is not None and channel.read().values == (1.6e9,)


def test_no_emc_is_one_note(x86: ContextTree) -> None:
    channel, notes = discover_emc_freq(x86.root)
    assert channel is None and len(notes) == 1


# -- thermal -----------------------------------------------------------------------------------------------------


def test_orin_thermal_zones(orin: ContextTree) -> None:
    channel, notes = discover_thermal(orin.root)
    assert channel is not None and notes == []
    assert channel.rails[0] == "cpu_thermal_temp_c" and channel.rails[-1] == "tj_thermal_temp_c"
    assert len(channel.rails) == 9 and rail_unit(channel.rails[0]) == "°C"
    values = dict(zip(channel.rails, channel.read().values, strict=True))
    assert values["cpu_thermal_temp_c"] == 48.5
    assert math.isnan(values["cv0_thermal_temp_c"])  # -256 °C: sensor off, a gap
    orin.set_temp("gpu-thermal", 71.25)
    assert dict(zip(channel.rails, channel.read().values, strict=True))["gpu_thermal_temp_c"] == 71.25


def test_duplicate_zone_types_get_the_zone_number(tmp_path: Path) -> None:
    for index in range(2):
        folder = tmp_path / f"sys/class/thermal/thermal_zone{index}"
        folder.mkdir(parents=True)
        (folder / "type").write_text("acpitz\n")
        (folder / "temp").write_text("30000\n")
    channel, _ = discover_thermal(tmp_path)
    assert channel is not None and channel.rails == ("acpitz_0_temp_c", "acpitz_1_temp_c")


def test_unreadable_zone_is_one_note_and_the_others_stay(x86: ContextTree) -> None:
    temp = x86.root / "sys/class/thermal/thermal_zone1/temp"
    temp.unlink()
    temp.mkdir()  # a read fails with an OSError other than a transient one
    channel, notes = discover_thermal(x86.root)
    assert channel is not None and channel.rails == ("acpitz_temp_c",)
    assert len(notes) == 1 and "thermal_zone1" in (notes[0].path or "")


def test_zone_failing_mid_run_is_a_gap(x86: ContextTree) -> None:
    channel, _ = discover_thermal(x86.root)
    assert channel is not None
    temp = x86.root / "sys/class/thermal/thermal_zone0/temp"
    temp.unlink()
    values = channel.read().values
    assert math.isnan(values[0]) and values[1] == 45.0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_is_reported_as_such(x86: ContextTree) -> None:
    path = x86.root / "sys/class/thermal/thermal_zone0/temp"
    path.chmod(0)
    assert probe_file(path).status == "denied"


def test_probe_file_kinds(tmp_path: Path) -> None:
    assert probe_file(tmp_path / "nope").status == "missing"
    assert probe_file(tmp_path).status == "error"
    (tmp_path / "f").write_text("1")
    assert probe_file(tmp_path / "f").ok


# -- CPU utilisation ---------------------------------------------------------------------------------------------


def test_utilisation_between_reads(x86: ContextTree) -> None:
    channel, notes = discover_cpu_util(x86.root, pid=x86.pid)
    assert channel is not None and notes == []
    assert channel.rails == (
        "cpu_util",
        "cpu0_util",
        "cpu1_util",
        "cpu2_util",
        "cpu3_util",
        "self_cpu_util",
        "other_cpu_util",
    )
    x86.tick(busy=30, idle=70)  # nobody's in particular: other processes
    values = dict(zip(channel.rails, channel.read().values, strict=True))
    assert values["cpu_util"] == pytest.approx(0.3)
    assert values["cpu2_util"] == pytest.approx(0.3)
    assert values["self_cpu_util"] == 0.0 and values["other_cpu_util"] == pytest.approx(0.3)
    x86.tick(busy=50, idle=50, cpus=[0, 1], pid=x86.pid)  # the measured process on two of four CPUs
    x86.tick(busy=0, idle=100, cpus=[2, 3])
    values = dict(zip(channel.rails, channel.read().values, strict=True))
    assert values["cpu_util"] == pytest.approx(0.25)
    assert values["cpu0_util"] == pytest.approx(0.5) and values["cpu3_util"] == 0.0
    assert values["self_cpu_util"] == pytest.approx(0.25) and values["other_cpu_util"] == pytest.approx(0.0)
    assert rail_unit("cpu_util") == "fraction"


def test_utilisation_no_tick_is_a_gap_and_keeps_the_baseline(x86: ContextTree) -> None:
    channel = CpuUtilChannel(x86.root, pid=x86.pid)
    with pytest.raises(ChannelReadError, match="no clock tick"):
        channel.read()
    x86.tick(busy=10, idle=10)
    assert channel.read().values[0] == pytest.approx(0.5)


def test_utilisation_garbage_is_a_gap_then_recovers(x86: ContextTree) -> None:
    channel = CpuUtilChannel(x86.root, pid=x86.pid)
    x86.write("proc/stat", "garbage")
    with pytest.raises(ChannelReadError):
        channel.read()
    x86.tick(busy=1, idle=1)  # rewrites a good proc/stat
    with pytest.raises(ChannelReadError):
        channel.read()  # first good read after a gap only sets the baseline
    x86.tick(busy=5, idle=15)
    assert channel.read().values[0] == pytest.approx(0.25)


def test_utilisation_without_own_stat_notes_it(x86: ContextTree) -> None:
    channel, notes = discover_cpu_util(x86.root, pid=NEIGHBOUR_PID)
    assert channel is not None and "self_cpu_util" not in channel.rails
    assert len(notes) == 1 and "self_cpu_util" in notes[0].reason


def test_utilisation_missing_proc_stat_is_one_note(tmp_path: Path) -> None:
    channel, notes = discover_cpu_util(tmp_path)
    assert channel is None and len(notes) == 1


def test_real_proc_stat_gives_fractions() -> None:
    if not Path("/proc/stat").exists():
        pytest.skip("no /proc")
    channel = CpuUtilChannel()
    assert channel.tracks_self
    sum(i * i for i in range(300_000))  # burn a few ticks
    for _ in range(50):
        try:
            values = channel.read().values
            break
        except ChannelReadError:
            sum(i * i for i in range(100_000))
    else:
        pytest.fail("no tick in 50 reads")
    assert all(math.isnan(v) or 0.0 <= v <= 1.0 for v in values)


# -- NVML (a stub with just the functions called) ---------------------------------------------------------------


class NvmlStub:
    """Two GPUs; GPU 1 does not support temperature. Values can be changed between reads."""

    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    def __init__(self, *, fail_init: bool = False, new_api: bool = True) -> None:
        self.fail_init = fail_init
        self.sm_mhz = [1980, 1410]
        self.mem_mhz = [2619, 1215]
        self.temp_c = [40, 50]
        self.mask = [0x1, 0x0]
        self.broken = False
        self.shutdowns = 0
        if new_api:
            self.nvmlDeviceGetCurrentClocksEventReasons = self._reasons
        else:
            self.nvmlDeviceGetCurrentClocksThrottleReasons = self._reasons

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"][handle]

    def nvmlDeviceGetClockInfo(self, handle: int, clock: int) -> int:
        if self.broken:
            raise self.NVMLError("GPU is lost")
        return (self.sm_mhz if clock == self.NVML_CLOCK_SM else self.mem_mhz)[handle]

    def nvmlDeviceGetMaxClockInfo(self, handle: int, clock: int) -> int:
        return 1980 if clock == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        if handle == 1:
            raise self.NVMLError("Not Supported")
        return self.temp_c[handle]

    def _reasons(self, handle: int) -> int:
        if self.broken:
            raise self.NVMLError("GPU is lost")
        return self.mask[handle]


def test_nvml_channel_rails_and_units() -> None:
    stub = NvmlStub()
    channels = discover_channels(Path("/nonexistent"), nvml=stub, only=["nvml"])
    channel = channels.get("nvml")
    assert channel is not None
    assert channel.rails == (
        "gpu0_sm_clock_hz",
        "gpu0_mem_clock_hz",
        "gpu0_temp_c",
        "gpu0_throttle_mask",
        "gpu1_sm_clock_hz",
        "gpu1_mem_clock_hz",
        "gpu1_throttle_mask",
    )
    assert [n.reason for n in channels.notes] == ["gpu1_temp_c: not supported (Not Supported)"]
    values = channel.read().values
    assert values[:4] == (1980e6, 2619e6, 40.0, 1.0)
    stub.sm_mhz[0] = 1755
    stub.mask[1] = 0x20
    values = channel.read().values
    assert values[0] == 1755e6 and values[-1] == 0x20
    stub.broken = True
    values = channel.read().values
    assert math.isnan(values[0]) and values[2] == 40.0  # the lost calls are gaps, temperature still reads
    channels.close()
    channels.close()
    assert stub.shutdowns == 1


def test_nvml_old_throttle_api() -> None:
    stub = NvmlStub(new_api=False)
    channel = discover_channels(Path("/nonexistent"), nvml=stub, only=["nvml"]).get("nvml")
    assert channel is not None and "gpu0_throttle_mask" in channel.rails


def test_nvml_init_failure_is_one_note() -> None:
    channels = discover_channels(Path("/nonexistent"), nvml=NvmlStub(fail_init=True), only=["nvml"])
    assert len(channels) == 0
    assert len(channels.notes) == 1 and "Driver Not Loaded" in channels.notes[0].reason


# -- discovery ---------------------------------------------------------------------------------------------------


def test_discovery_on_orin(orin: ContextTree) -> None:
    channels = discover_channels(orin.root, use_nvml=False, pid=orin.pid)
    assert [c.name for c in channels] == ["cpu_freq", "gpu_freq", "emc_freq", "thermal", "cpu_util"]
    assert [n.channel for n in channels.notes] == ["rpi", "nvml"]
    for channel in channels:
        reading = channel.read() if channel.name != "cpu_util" else None
        if reading is not None:
            assert len(reading.values) == len(channel.rails)
    described = channels.describe()
    assert described["channels"][1]["rails"][0] == {
        "rail": "gpu_freq_hz",
        "unit": "Hz",
        "source": str(orin.root / "sys/class/devfreq/17000000.gpu/cur_freq"),
    }


def test_discovery_on_an_empty_root_notes_every_channel(tmp_path: Path) -> None:
    channels = discover_channels(tmp_path, nvml=NvmlStub(fail_init=True))
    assert len(channels) == 0
    assert sorted(n.channel for n in channels.notes) == sorted(CHANNEL_NAMES)


def test_discovery_rejects_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown context channel"):
        discover_channels(tmp_path, only=["fan"])


def test_channels_pickle_for_a_sampler_in_another_process(x86: ContextTree) -> None:
    channels: ChannelSet = discover_channels(x86.root, use_nvml=False, pid=x86.pid)
    for channel in channels:
        clone: Any = pickle.loads(pickle.dumps(channel))
        assert clone.rails == channel.rails
    util = channels.get("cpu_util")
    assert isinstance(util, CpuUtilChannel) and pickle.loads(pickle.dumps(util)).pid == x86.pid


def test_file_channel_needs_files() -> None:
    with pytest.raises(ValueError):
        FileChannel("x", [], float)


def test_removed_tree_mid_run_gives_gaps_not_crashes(tmp_path: Path) -> None:
    tree = make_orin_tree(tmp_path / "orin", pid=1000)
    channels = discover_channels(tree.root, use_nvml=False, pid=tree.pid)
    shutil.rmtree(tree.root)
    for channel in channels:
        with pytest.raises(ChannelReadError):
            channel.read()


@pytest.fixture(scope="module")
def orin_once(tmp_path_factory: pytest.TempPathFactory) -> ContextTree:
    """One Orin tree for the property test (building a tree per example would be slow)."""
    return make_orin_tree(tmp_path_factory.mktemp("garbage") / "orin", pid=1000)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=24), st.binary(max_size=24))
def test_any_bytes_in_sysfs_files_are_values_or_gaps(orin_once: ContextTree, first: bytes, second: bytes) -> None:
    root = orin_once.root
    channels = discover_channels(root, use_nvml=False, pid=1000, only=["cpu_freq", "gpu_freq", "thermal", "emc_freq"])
    (root / "sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq").write_bytes(first)
    (root / "sys/devices/system/cpu/cpufreq/policy4/scaling_cur_freq").write_bytes(second)
    (root / "sys/class/thermal/thermal_zone0/temp").write_bytes(first)
    (root / "sys/kernel/debug/bpmp/debug/clk/emc/rate").write_bytes(second)
    for channel in channels:
        try:
            values = channel.read().values
        except ChannelReadError:
            continue
        assert all(math.isnan(v) or v >= -273.15 for v in values)
