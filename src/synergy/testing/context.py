"""Fake context trees laid out as the kernel lays them out, and writers that change them mid-run.

:func:`make_x86_tree` builds an x86 machine (cpufreq policies with per-core symlinks, intel_pstate turbo, SMT,
thermal zones, ``proc/stat``, ``proc/<pid>/stat``); :func:`make_orin_tree` a Jetson AGX Orin on L4T 36 (three
CPU clusters, GPU devfreq at its real path with the ``sys/class/devfreq`` symlink, EMC clock in bpmp debugfs
and ``mc_all``, the nine Orin thermal zones, ``nvpmodel`` files). Both return a :class:`ContextTree` whose
setters rewrite files atomically (a reader never sees half a value), and :class:`ContextWriter` applies a
script of changes from a background thread, so every check can be exercised while channels are being read::

    tree = make_orin_tree(tmp_path)
    steps = frequency_steps("gpu", [306e6, 1300.5e6])
    with ContextWriter(tree, steps, period_s=0.01) as writer:
        ...  # read channels under tree.root until writer.done is set

Trip-point temperatures and clock tables are plausible values for the layout, not a board's calibration.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synergy.atomic import write_text_atomic

__all__ = [
    "ORIN_THERMAL_ZONES",
    "ContextTree",
    "ContextWriter",
    "busy_steps",
    "frequency_steps",
    "make_orin_tree",
    "make_x86_tree",
    "temperature_steps",
]

#: Thermal zone types of a Jetson AGX Orin, in zone order (``thermal_zone0`` … ``thermal_zone8``).
ORIN_THERMAL_ZONES: tuple[str, ...] = (
    "cpu-thermal",
    "gpu-thermal",
    "cv0-thermal",
    "cv1-thermal",
    "cv2-thermal",
    "soc0-thermal",
    "soc1-thermal",
    "soc2-thermal",
    "tj-thermal",
)

_ORIN_GPU = "sys/devices/platform/bus@0/17000000.gpu/devfreq/17000000.gpu"
_ORIN_GPU_HZ = (*(102000000 * k for k in range(3, 13)), 1300500000)
_ORIN_CPU_KHZ = (115200, 422400, 729600, 1036800, 1344000, 1651200, 1958400, 2201600)


def _relink(link: Path, target: str) -> None:
    """``link`` → ``target`` (relative), replacing a link a previous call made: a tree can be laid out again."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)


def _atomic_write(path: Path, text: str) -> None:
    write_text_atomic(path, text, mode=0o644)


@dataclass
class _Process:
    comm: str
    utime: int = 0
    stime: int = 0


@dataclass
class ContextTree:
    """A fake root and the setters that change it (all values in SI-ish units: Hz, °C, ticks).

    Attributes:
        root: the fake filesystem root (pass it as ``root``/``--sysfs-root``).
        cpus: number of CPUs.
        pid: the process whose ``proc/<pid>/stat`` stands for the measured one.
        building: True while the tree is first made (plain writes); setters then replace files atomically.
    """

    root: Path
    cpus: int
    pid: int
    zones: dict[str, int] = field(default_factory=dict)
    devfreq: dict[str, str] = field(default_factory=dict)
    emc_rate: str | None = None
    cpu_ticks: list[list[int]] = field(default_factory=list)
    processes: dict[int, _Process] = field(default_factory=dict)
    building: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def path(self, relative: str) -> Path:
        """``root / relative``."""
        return self.root / relative

    def write(self, relative: str, text: str) -> None:
        """Replace one file atomically (a newline is added as the kernel does)."""
        text = text if text.endswith("\n") else text + "\n"
        path = self.root / relative
        if self.building:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="ascii")
        else:
            _atomic_write(path, text)

    # -- clocks ------------------------------------------------------------------------------------------------
    def _policy_of(self, cpu: int) -> Path:
        return (self.root / f"sys/devices/system/cpu/cpu{cpu}/cpufreq").resolve()

    def set_cpu_freq(self, hz: float, cpus: Sequence[int] | None = None) -> None:
        """Set ``scaling_cur_freq`` and ``cpuinfo_cur_freq`` (kHz) of the policies holding ``cpus`` (default all)."""
        folders = {self._policy_of(cpu) for cpu in (range(self.cpus) if cpus is None else cpus)}
        for folder in folders:
            for name in ("scaling_cur_freq", "cpuinfo_cur_freq"):
                _atomic_write(folder / name, f"{round(hz / 1e3)}\n")

    def set_governor(self, governor: str, cpus: Sequence[int] | None = None) -> None:
        """Set ``scaling_governor`` of the policies holding ``cpus`` (default all)."""
        for folder in {self._policy_of(cpu) for cpu in (range(self.cpus) if cpus is None else cpus)}:
            _atomic_write(folder / "scaling_governor", governor + "\n")

    def set_devfreq(self, kind: str, hz: float) -> None:
        """Set ``cur_freq`` (Hz) of the devfreq device of ``kind`` (``gpu``), or the EMC rate for ``emc``."""
        if kind == "emc" and self.emc_rate is not None:
            self.write(self.emc_rate, str(round(hz)))
            return
        self.write(f"{self.devfreq[kind]}/cur_freq", str(round(hz)))

    def lock_devfreq(self, kind: str, hz: float) -> None:
        """What ``jetson_clocks`` does to a devfreq device: min = max = cur = ``hz``."""
        folder = self.devfreq[kind]
        for name in ("min_freq", "max_freq", "cur_freq"):
            self.write(f"{folder}/{name}", str(round(hz)))

    # -- temperatures ------------------------------------------------------------------------------------------
    def set_temp(self, zone_type: str, celsius: float) -> None:
        """Set the ``temp`` (m°C) of the zone of that type."""
        self.write(f"sys/class/thermal/thermal_zone{self.zones[zone_type]}/temp", str(round(celsius * 1000)))

    # -- load --------------------------------------------------------------------------------------------------
    def _write_proc_stat(self) -> None:
        def line(label: str, t: Sequence[int]) -> str:
            return f"{label} {' '.join(str(v) for v in t)} 0 0"

        total = [sum(column) for column in zip(*self.cpu_ticks, strict=True)]
        lines = [line("cpu ", total)] + [line(f"cpu{i}", t) for i, t in enumerate(self.cpu_ticks)]
        lines += ["intr 0", "ctxt 0", "btime 0", "processes 1", "procs_running 1", "procs_blocked 0"]
        self.write("proc/stat", "\n".join(lines))

    def _write_process(self, pid: int) -> None:
        proc = self.processes[pid]
        fields = ["S", "1", str(pid), str(pid), "0", "-1", "4194304", "0", "0", "0", "0"]
        fields += [str(proc.utime), str(proc.stime), "0", "0", "20", "0", "1", "0", "100", "0", "0"]
        self.write(f"proc/{pid}/stat", f"{pid} ({proc.comm}) {' '.join(fields)}")

    def add_process(self, pid: int, comm: str) -> None:
        """Create ``proc/<pid>/stat`` for a process with no CPU time yet."""
        with self._lock:
            self.processes[pid] = _Process(comm)
            self._write_process(pid)

    def tick(self, *, busy: int = 0, idle: int = 0, cpus: Sequence[int] | None = None, pid: int | None = None) -> None:
        """Advance ``proc/stat``: each of ``cpus`` gets ``busy`` user ticks and ``idle`` idle ticks.

        With ``pid``, that process is charged the busy ticks of every CPU listed (its utime grows), so the
        busy time is the measured process's own (``pid == tree.pid``) or a neighbour's.
        """
        with self._lock:
            targets = list(range(self.cpus) if cpus is None else cpus)
            for cpu in targets:
                self.cpu_ticks[cpu][0] += busy
                self.cpu_ticks[cpu][3] += idle
            self._write_proc_stat()
            if pid is not None:
                self.processes[pid].utime += busy * len(targets)
                self._write_process(pid)


def _base_tree(root: Path, cpus: int, pid: int | None) -> ContextTree:
    root.mkdir(parents=True, exist_ok=True)
    tree = ContextTree(root=root, cpus=cpus, pid=os.getpid() if pid is None else pid, building=True)
    tree.cpu_ticks = [[1000, 0, 500, 10000, 10, 0, 5, 0] for _ in range(cpus)]
    tree._write_proc_stat()
    tree.add_process(tree.pid, "python3")
    tree.write("proc/loadavg", "0.50 0.40 0.30 1/100 12345")
    tree.write("sys/devices/system/cpu/online", f"0-{cpus - 1}")
    tree.write("sys/devices/system/cpu/present", f"0-{cpus - 1}")
    return tree


def _policy(
    tree: ContextTree,
    index: int,
    cpus: Sequence[int],
    *,
    driver: str,
    governor: str,
    governors: str,
    hw_min_khz: int,
    hw_max_khz: int,
    cur_khz: int,
    available_khz: Sequence[int] = (),
) -> None:
    folder = f"sys/devices/system/cpu/cpufreq/policy{index}"
    files = {
        "related_cpus": " ".join(str(c) for c in cpus),
        "affected_cpus": " ".join(str(c) for c in cpus),
        "scaling_driver": driver,
        "scaling_governor": governor,
        "scaling_available_governors": governors,
        "scaling_min_freq": str(hw_min_khz),
        "scaling_max_freq": str(hw_max_khz),
        "cpuinfo_min_freq": str(hw_min_khz),
        "cpuinfo_max_freq": str(hw_max_khz),
        "cpuinfo_transition_latency": "0",
        "scaling_cur_freq": str(cur_khz),
        "cpuinfo_cur_freq": str(cur_khz),
    }
    if available_khz:
        files["scaling_available_frequencies"] = " ".join(str(f) for f in available_khz)
    for name, text in files.items():
        tree.write(f"{folder}/{name}", text)
    for cpu in cpus:
        _relink(tree.root / f"sys/devices/system/cpu/cpu{cpu}/cpufreq", f"../cpufreq/policy{index}")


def _zone(tree: ContextTree, index: int, kind: str, celsius: float, trips: Sequence[tuple[str, float]]) -> None:
    folder = f"sys/class/thermal/thermal_zone{index}"
    tree.write(f"{folder}/type", kind)
    tree.write(f"{folder}/temp", str(round(celsius * 1000)))
    tree.write(f"{folder}/mode", "enabled")
    tree.write(f"{folder}/policy", "step_wise")
    for k, (trip_type, trip_c) in enumerate(trips):
        tree.write(f"{folder}/trip_point_{k}_type", trip_type)
        tree.write(f"{folder}/trip_point_{k}_temp", str(round(trip_c * 1000)))
        tree.write(f"{folder}/trip_point_{k}_hyst", "2000")
    tree.zones[kind] = index


def make_x86_tree(
    root: Path,
    *,
    cpus: int = 4,
    governor: str = "powersave",
    driver: str = "intel_pstate",
    cur_hz: float = 2.4e9,
    min_hz: float = 800e6,
    max_hz: float = 4.2e9,
    turbo: bool = True,
    smt: str = "on",
    pid: int | None = None,
) -> ContextTree:
    """An x86 machine: one cpufreq policy per CPU (as intel_pstate and amd-pstate do), thermal zones.

    Args:
        root: folder to build under (created).
        cpus: number of CPUs.
        governor: every policy's ``scaling_governor``.
        driver: ``scaling_driver`` (``intel_pstate`` adds ``intel_pstate/no_turbo``; others ``cpufreq/boost``).
        cur_hz, min_hz, max_hz: current and hardware limits, Hz.
        turbo: turbo/boost enabled.
        smt: ``smt/control`` (``on``, ``off``, ``notsupported``, …).
        pid: the process standing for the measured one (default: this process).
    """
    tree = _base_tree(root, cpus, pid)
    governors = "performance powersave"
    if driver != "intel_pstate":
        governors = "conservative ondemand userspace powersave performance schedutil"
    for cpu in range(cpus):
        _policy(
            tree,
            cpu,
            [cpu],
            driver=driver,
            governor=governor,
            governors=governors,
            hw_min_khz=round(min_hz / 1e3),
            hw_max_khz=round(max_hz / 1e3),
            cur_khz=round(cur_hz / 1e3),
        )
    if driver == "intel_pstate":
        tree.write("sys/devices/system/cpu/intel_pstate/no_turbo", "0" if turbo else "1")
        tree.write("sys/devices/system/cpu/intel_pstate/status", "active")
    else:
        tree.write("sys/devices/system/cpu/cpufreq/boost", "1" if turbo else "0")
    tree.write("sys/devices/system/cpu/smt/control", smt)
    tree.write("sys/devices/system/cpu/smt/active", "1" if smt == "on" else "0")
    _zone(tree, 0, "acpitz", 40.0, [("critical", 105.0)])
    _zone(tree, 1, "x86_pkg_temp", 45.0, [])
    tree.write(
        "proc/cpuinfo",
        "".join(
            f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Fake Xeon CPU @ 2.40GHz\n\n"
            for i in range(cpus)
        ),
    )
    tree.write("proc/sys/kernel/osrelease", "6.8.0-fake")
    tree.building = False
    return tree


def make_orin_tree(
    root: Path,
    *,
    cpu_governor: str = "schedutil",
    gpu_governor: str = "nvhost_podgov",
    power_mode: int | None = 0,
    locked: bool = False,
    pid: int | None = None,
) -> ContextTree:
    """A Jetson AGX Orin on L4T 36 (JetPack 6), laid out at the real paths.

    Args:
        root: folder to build under (created).
        cpu_governor: the three clusters' governor.
        gpu_governor: the GPU devfreq governor.
        power_mode: the mode in ``var/lib/nvpmodel/status`` (None: no status file, the board runs the default).
        locked: as after ``sudo jetson_clocks``: GPU min = max, CPU min = max.
        pid: the process standing for the measured one (default: this process).
    """
    tree = _base_tree(root, 12, pid)
    top = _ORIN_CPU_KHZ[-1]
    for cluster in range(3):
        cpus = list(range(cluster * 4, cluster * 4 + 4))
        _policy(
            tree,
            cluster * 4,
            cpus,
            driver="tegra194",
            governor=cpu_governor,
            governors="userspace ondemand performance schedutil",
            hw_min_khz=_ORIN_CPU_KHZ[0],
            hw_max_khz=top,
            cur_khz=top if locked else _ORIN_CPU_KHZ[4],
            available_khz=_ORIN_CPU_KHZ,
        )
        if locked:
            tree.write(f"sys/devices/system/cpu/cpufreq/policy{cluster * 4}/scaling_min_freq", str(top))
    gpu_max = _ORIN_GPU_HZ[-1]
    files = {
        "cur_freq": gpu_max if locked else _ORIN_GPU_HZ[0],
        "min_freq": gpu_max if locked else _ORIN_GPU_HZ[0],
        "max_freq": gpu_max,
        "available_frequencies": " ".join(str(f) for f in _ORIN_GPU_HZ),
        "governor": gpu_governor,
        "available_governors": "nvhost_podgov userspace performance simple_ondemand",
        "polling_interval": 0,
        "target_freq": _ORIN_GPU_HZ[0],
    }
    for name, value in files.items():
        tree.write(f"{_ORIN_GPU}/{name}", str(value))
    gpu_link = "../../devices/platform/bus@0/17000000.gpu/devfreq/17000000.gpu"
    _relink(tree.root / "sys/class/devfreq/17000000.gpu", gpu_link)
    tree.devfreq["gpu"] = _ORIN_GPU
    tree.emc_rate = "sys/kernel/debug/bpmp/debug/clk/emc/rate"
    tree.write(tree.emc_rate, "3199000000")
    tree.write("sys/kernel/debug/bpmp/debug/clk/emc/max_rate", "3199000000")
    tree.write("sys/kernel/debug/bpmp/debug/clk/emc/min_rate", "204000000")
    tree.write("sys/kernel/actmon_avg_activity/mc_all", "319900")
    temps = {"cpu-thermal": 48.5, "gpu-thermal": 46.0, "soc0-thermal": 45.5, "soc1-thermal": 46.5}
    temps |= {"soc2-thermal": 45.0, "tj-thermal": 48.5}
    for index, kind in enumerate(ORIN_THERMAL_ZONES):
        trips = [("passive", 99.0), ("critical", 104.5)] if kind != "tj-thermal" else [("critical", 104.5)]
        _zone(tree, index, kind, temps.get(kind, -256.0), trips)
    tree.write(
        "etc/nvpmodel/nvpmodel_p3701_0000.conf",
        "< PARAM TYPE=FILE NAME=CPU_ONLINE >\n"
        "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\nGPU MAX_FREQ -1\n"
        "< POWER_MODEL ID=1 NAME=MODE_15W >\nGPU MAX_FREQ 408000000\n"
        "< POWER_MODEL ID=2 NAME=MODE_30W >\nGPU MAX_FREQ 816000000\n"
        "< POWER_MODEL ID=3 NAME=MODE_50W >\nGPU MAX_FREQ 1020000000\n"
        "< PM_CONFIG DEFAULT=2 >\n",
    )
    _relink(tree.root / "etc/nvpmodel.conf", "nvpmodel/nvpmodel_p3701_0000.conf")
    if power_mode is not None:
        tree.write("var/lib/nvpmodel/status", f"pmode:{power_mode:04d}")
    tree.write("proc/device-tree/model", "NVIDIA Jetson AGX Orin Developer Kit\x00")
    tree.write("etc/nv_tegra_release", "# R36 (release), REVISION: 4.3, GCID: 0, BOARD: generic, EABI: aarch64")
    tree.write(
        "proc/cpuinfo",
        "".join(
            f"processor\t: {i}\nBogoMIPS\t: 62.50\nCPU implementer\t: 0x41\nCPU part\t: 0xd42\n\n" for i in range(12)
        ),
    )
    tree.write("proc/sys/kernel/osrelease", "5.15.148-tegra")
    tree.building = False
    return tree


Step = Callable[[ContextTree], None]


def _cpu_freq_step(hz: float, cpus: Sequence[int] | None) -> Step:
    def step(tree: ContextTree) -> None:
        tree.set_cpu_freq(hz, cpus)

    return step


def _devfreq_step(kind: str, hz: float) -> Step:
    def step(tree: ContextTree) -> None:
        tree.set_devfreq(kind, hz)

    return step


def _temp_step(zone_type: str, celsius: float) -> Step:
    def step(tree: ContextTree) -> None:
        tree.set_temp(zone_type, celsius)

    return step


def _busy_step(busy: int, idle: int, pid: int | None) -> Step:
    def step(tree: ContextTree) -> None:
        tree.tick(busy=busy, idle=idle, pid=pid)

    return step


def frequency_steps(kind: str, values_hz: Sequence[float], cpus: Sequence[int] | None = None) -> list[Step]:
    """Steps that set a clock to each value in turn: ``kind`` is ``cpu``, ``gpu`` or ``emc``."""
    if kind == "cpu":
        return [_cpu_freq_step(hz, cpus) for hz in values_hz]
    return [_devfreq_step(kind, hz) for hz in values_hz]


def temperature_steps(zone_type: str, values_c: Sequence[float]) -> list[Step]:
    """Steps that set a thermal zone to each temperature in turn, °C."""
    return [_temp_step(zone_type, c) for c in values_c]


def busy_steps(count: int, *, busy: int, idle: int, pid: int | None = None) -> list[Step]:
    """``count`` steps, each advancing every CPU by ``busy`` and ``idle`` ticks, charged to ``pid`` if given."""
    return [_busy_step(busy, idle, pid) for _ in range(count)]


class ContextWriter:
    """Applies steps to a tree from a background thread, ``period_s`` apart; start/stop cleanly.

    ``done`` is set once every step ran. :meth:`stop` joins the thread and re-raises what a step raised.
    Usable as a context manager (start on enter, stop on exit).

    Args:
        tree: the tree to change.
        steps: the changes, in order.
        period_s: delay before each step, seconds.
    """

    def __init__(self, tree: ContextTree, steps: Sequence[Step], *, period_s: float = 0.01) -> None:
        self.tree = tree
        self.steps = list(steps)
        self.period_s = period_s
        self.done = threading.Event()
        self.applied = 0
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ContextWriter:
        """Start the thread (once)."""
        if self._thread is not None:
            raise RuntimeError("writer already started")
        self._thread = threading.Thread(target=self._run, name="synergy-context-writer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for step in self.steps:
                if self._stop.wait(self.period_s):
                    return
                step(self.tree)
                self.applied += 1
        except BaseException as exc:  # re-raised in stop()
            self._error = exc
        finally:
            self.done.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the current step, join, and re-raise a step's exception."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise RuntimeError("context writer did not stop")
        if self._error is not None:
            raise self._error

    def __enter__(self) -> ContextWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
