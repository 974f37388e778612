"""Fake sysfs trees laid out as the kernel lays them out, and a writer that drives them like the hardware.

The builders create, under any directory used as the root (``--sysfs-root``), the same files, units,
modes and symlinks the drivers create under ``/``: RAPL powercap zones (``/sys/class/powercap/intel-rapl:0``
→ ``../../devices/virtual/powercap/intel-rapl/intel-rapl:0``), INA3221 hwmon devices under their I2C
device with ``/sys/bus/i2c/drivers/ina3221/<dev>`` and ``/sys/class/hwmon/hwmon<K>`` links, the L4T ≤ 32
``ina3221x`` IIO devices, INA238, ``amdgpu`` hwmon and ``power_supply`` batteries. Jetson label sets are the
real ones per module (:data:`JETSON_BOARDS`). Each builder returns a :class:`FakeTree` whose ``drivers`` map
rail names to the file drivers :class:`SysfsWriter` updates.

:class:`SysfsWriter` updates the files at the hardware's pace from a power function per rail (watts versus
monotonic seconds): a RAPL counter advances every 1 ms by the energy of that millisecond (integer µJ,
wrapping at ``max_energy_range_uj``); an INA3221 rail latches, every ``update_interval``, the box average
of power over the last interval, as bus voltage (8 mV LSB) and current (shunt LSB); power files (µW, mW)
likewise. Every write is atomic (a temporary file in the same directory, then ``os.replace``), as a sysfs
read appears. It runs in a thread, in a spawned process (so it does not share the reader's interpreter),
or is stepped by hand (:meth:`SysfsWriter.step`) for deterministic tests; :meth:`SysfsWriter.inject` and
:meth:`SysfsWriter.vanish` write a half-written value or make a file disappear.

Values always stand for instants of the driver's regular grid, as a hardware register holds the value
latched at its last update. A background writer is a Python loop, so it computes each value just before
its instant, stages the file and renames it into place at the instant (see ``_Publisher``); after a late
wake-up it writes the value of the most recent instant. Power functions that integrate themselves
(``energy_j``: :class:`Constant`, :class:`Square`, :class:`synergy.testing.announce.AnnouncedPower`) give
exact values. Put the tree on a memory file system (``/dev/shm``), as sysfs is: a rename on a disk file
system can take milliseconds. Tests that need exact values step the writer by hand.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from synergy.sensors.rapl import RaplSensor
    >>> root = Path(tempfile.mkdtemp())
    >>> tree = build_rapl(root)
    >>> writer = SysfsWriter(tree, {"package-0": Constant(10.0)}, default=Constant(0.0))
    >>> writer.step(0.0)
    >>> sensor = RaplSensor(root)
    >>> e0 = sensor.read().values[0]
    >>> writer.step(0.050)
    >>> round(sensor.read().values[0] - e0, 6)
    0.5
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "JETSON_BOARDS",
    "AmdGpuDriver",
    "Constant",
    "CounterDriver",
    "FakeTree",
    "Ina3221Driver",
    "JetsonBoard",
    "PowerFileDriver",
    "Square",
    "SysfsWriter",
    "VoltCurrDriver",
    "build_amdgpu",
    "build_battery",
    "build_ina238",
    "build_jetson_hwmon",
    "build_jetson_iio",
    "build_rapl",
    "write_atomic",
    "write_dt_model",
]

PowerFunction = Callable[[float], float]


# ---------------------------------------------------------------------------------------------------
# power functions (picklable, so a process-based writer can use them)


@dataclass(frozen=True)
class Constant:
    """``p(t) = watts``."""

    watts: float

    def __call__(self, t_s: float) -> float:
        return self.watts

    def energy_j(self, t0_s: float, t1_s: float) -> float:
        """Exact energy over ``[t0_s, t1_s]``, J."""
        return self.watts * (t1_s - t0_s)


@dataclass(frozen=True)
class Square:
    """A square wave: ``high_w`` for ``duty`` of each ``period_s`` (starting at ``phase_s``), else ``low_w``."""

    low_w: float
    high_w: float
    period_s: float
    duty: float = 0.5
    phase_s: float = 0.0

    def __call__(self, t_s: float) -> float:
        frac = ((t_s - self.phase_s) / self.period_s) % 1.0
        return self.high_w if frac < self.duty else self.low_w

    def _cumulative_j(self, t_s: float) -> float:
        cycles = math.floor((t_s - self.phase_s) / self.period_s)
        frac = (t_s - self.phase_s) / self.period_s - cycles
        per_cycle = self.duty * self.high_w + (1.0 - self.duty) * self.low_w
        within = min(frac, self.duty) * self.high_w + max(frac - self.duty, 0.0) * self.low_w
        return (cycles * per_cycle + within) * self.period_s

    def energy_j(self, t0_s: float, t1_s: float) -> float:
        """Exact energy over ``[t0_s, t1_s]``, J."""
        return self._cumulative_j(t1_s) - self._cumulative_j(t0_s)


def mean_power(p: PowerFunction, t0_s: float, t1_s: float, step_s: float = 1e-4) -> float:
    """Mean of ``p`` over ``[t0_s, t1_s]`` by the midpoint rule (at most 2000 points), watts."""
    span = t1_s - t0_s
    if span <= 0:
        return float(p(t1_s))
    n = max(1, min(2000, math.ceil(span / step_s)))
    dt = span / n
    return sum(float(p(t0_s + (k + 0.5) * dt)) for k in range(n)) / n


def interval_energy_j(p: PowerFunction, t0_s: float, t1_s: float) -> float | None:
    """Exact energy of ``p`` over ``[t0_s, t1_s]`` when ``p`` can integrate itself, else ``None``.

    A power function may offer ``energy_j(t0_s, t1_s)`` (exact, e.g. from time-stamped state changes:
    :class:`synergy.testing.announce.AnnouncedPower`) and ``version()`` (a number that changes whenever the
    past of ``p`` changes): the writer then computes a value just before the instant it stands for and
    publishes it at that instant, recomputing it if the version moved meanwhile.
    """
    exact = getattr(p, "energy_j", None)
    return None if exact is None else float(exact(t0_s, t1_s))


def _version(p: PowerFunction) -> object:
    version = getattr(p, "version", None)
    return None if version is None else version()


# ---------------------------------------------------------------------------------------------------
# files


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path``'s content atomically (temporary file in the same directory, then rename).

    Args:
        path: the file.
        text: its new content (a newline is appended, as sysfs prints values).
        mode: permission bits; default: the existing file's, else 0o444.
    """
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o444
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (text + "\n").encode() if text else b"")
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _put(path: Path, value: object, mode: int = 0o444) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, str(value), mode)
    return path


def _link(link: Path, target: Path) -> None:
    """A relative symlink ``link`` → ``target`` (both under the same root), like the kernel's."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(target, link.parent))


def _uevent(directory: Path) -> None:
    _put(directory / "uevent", "", 0o644)
    (directory / "power").mkdir(parents=True, exist_ok=True)


def _next_hwmon(root: Path) -> int:
    """The next free hwmon index under ``root`` (indices are not stable on real machines either)."""
    used = [int(p.name[5:]) for p in (root / "sys/class/hwmon").glob("hwmon*") if p.name[5:].isdigit()]
    return max(used, default=0) + 1


def _hwmon_dir(root: Path, device_dir: Path, name: str) -> Path:
    existing = sorted((device_dir / "hwmon").glob("hwmon*"))
    if existing:  # built again over the same root: one hwmon per device, as on a real machine
        return existing[0]
    index = _next_hwmon(root)
    directory = device_dir / "hwmon" / f"hwmon{index}"
    directory.mkdir(parents=True, exist_ok=True)
    _put(directory / "name", name)
    _uevent(directory)
    _link(directory / "device", device_dir)
    _link(root / "sys/class/hwmon" / f"hwmon{index}", directory)
    _link(directory / "subsystem", root / "sys/class/hwmon")
    return directory


# ---------------------------------------------------------------------------------------------------
# drivers: one object per hardware value, advanced by the writer


@dataclass
class CounterDriver:
    """A RAPL ``energy_uj`` counter: +energy every ``period_s``, integer µJ, wrapping at ``max_range_uj``.

    The counter starts at ``initial_uj`` and counts ``(initial_uj + ∫p) mod max_range_uj``.
    """

    path: Path
    max_range_uj: int
    initial_uj: int = 0
    period_s: float = 1e-3
    energy_uj: float = 0.0
    t_last_s: float | None = None

    def next_due(self) -> float:
        return (self.t_last_s or 0.0) + self.period_s

    @property
    def update_s(self) -> float:
        """The update period, s."""
        return self.period_s

    def begin(self, t_s: float) -> None:
        self.t_last_s = t_s
        self.energy_uj = float(self.initial_uj)
        self.write()

    def energy_at(self, g_s: float, p: PowerFunction) -> float:
        """The counter's exact value (µJ, before wrapping) at update instant ``g_s`` (not before the last)."""
        assert self.t_last_s is not None
        exact = interval_energy_j(p, self.t_last_s, g_s)
        if exact is not None:
            return self.energy_uj + exact * 1e6
        energy, t = self.energy_uj, self.t_last_s
        for _ in range(round((g_s - self.t_last_s) / self.period_s)):
            energy += float(p(t + self.period_s / 2)) * self.period_s * 1e6
            t += self.period_s
        return energy

    def render(self, g_s: float, p: PowerFunction) -> list[tuple[Path, str]]:
        """File contents at update instant ``g_s``."""
        return [(self.path, str(int(self.energy_at(g_s, p)) % self.max_range_uj))]

    def commit(self, g_s: float, p: PowerFunction) -> None:
        """Move the hardware state to update instant ``g_s`` (files untouched)."""
        self.energy_uj = self.energy_at(g_s, p)
        self.t_last_s = g_s

    def advance(self, t_s: float, p: PowerFunction, write: bool = True) -> None:
        assert self.t_last_s is not None
        ticks = int((t_s - self.t_last_s) / self.period_s + 1e-9)
        if ticks <= 0:
            return
        self.commit(self.t_last_s + ticks * self.period_s, p)
        if write:
            self.write()

    def write(self) -> None:
        write_atomic(self.path, str(int(self.energy_uj) % self.max_range_uj))

    def files(self) -> tuple[Path, ...]:
        return (self.path,)


@dataclass
class _LatchingDriver:
    """Base of drivers that latch the box average of power every ``update_interval_s``."""

    update_interval_s: float
    t_last_s: float | None = None

    def next_due(self) -> float:
        return (self.t_last_s or 0.0) + self.update_interval_s

    @property
    def update_s(self) -> float:
        """The update period, s."""
        return self.update_interval_s

    def begin(self, t_s: float) -> None:
        self.t_last_s = t_s

    def power_at(self, g_s: float, p: PowerFunction) -> float:
        """The box average of power over the interval that ends at update instant ``g_s``, W."""
        t0 = g_s - self.update_interval_s
        exact = interval_energy_j(p, t0, g_s)
        return exact / self.update_interval_s if exact is not None else mean_power(p, t0, g_s)

    def render(self, g_s: float, p: PowerFunction) -> list[tuple[Path, str]]:
        """File contents latched at update instant ``g_s``."""
        return self.contents(self.power_at(g_s, p))

    def commit(self, g_s: float, p: PowerFunction) -> None:
        """Move the hardware state to update instant ``g_s`` (files untouched)."""
        self.t_last_s = g_s

    def advance(self, t_s: float, p: PowerFunction) -> None:
        assert self.t_last_s is not None
        ticks = int((t_s - self.t_last_s) / self.update_interval_s + 1e-9)
        if ticks <= 0:
            return
        self.t_last_s += ticks * self.update_interval_s
        self.latch(self.power_at(self.t_last_s, p))

    def contents(self, power_w: float) -> list[tuple[Path, str]]:
        """The files' texts for a latched power."""
        raise NotImplementedError

    def latch(self, power_w: float) -> None:
        """Write a latched power into the files."""
        for path, text in self.contents(power_w):
            write_atomic(path, text)


@dataclass
class Ina3221Driver(_LatchingDriver):
    """An INA3221 hwmon channel: bus voltage ``in<N>_input`` (mV, 8 mV LSB), ``curr<N>_input`` (mA).

    Current is ``P / V`` quantised to the shunt LSB (40 µV / ``shunt_ohm``); V and I are two files.
    """

    volt_path: Path = Path()
    curr_path: Path = Path()
    voltage_v: float = 5.0
    shunt_ohm: float = 0.005

    def contents(self, power_w: float) -> list[tuple[Path, str]]:
        volt_mv = round(self.voltage_v * 1000 / 8) * 8
        lsb_ma = 40e-6 / self.shunt_ohm * 1000
        curr_ma = round(power_w / (volt_mv / 1000) * 1000 / lsb_ma) * lsb_ma
        return [(self.volt_path, str(volt_mv)), (self.curr_path, str(round(curr_ma)))]

    def files(self) -> tuple[Path, ...]:
        return (self.volt_path, self.curr_path)


@dataclass
class PowerFileDriver(_LatchingDriver):
    """A power file (``in_power<N>_input`` mW, ``power1_input`` µW, ``power_now`` µW): ``P × scale``.

    ``extra`` files get ``P × factor`` too (the IIO ``in_current<N>_input``, mA, with ``1000 / V``).
    """

    path: Path = Path()
    scale: float = 1e6
    extra: tuple[tuple[Path, float], ...] = ()

    def contents(self, power_w: float) -> list[tuple[Path, str]]:
        return [(self.path, str(round(power_w * self.scale)))] + [
            (path, str(round(power_w * factor))) for path, factor in self.extra
        ]

    def files(self) -> tuple[Path, ...]:
        return (self.path, *(path for path, _ in self.extra))


AmdGpuDriver = PowerFileDriver


@dataclass
class VoltCurrDriver(_LatchingDriver):
    """A battery's ``voltage_now`` (µV, fixed) and ``current_now`` (µA, negative when ``negative``)."""

    volt_path: Path = Path()
    curr_path: Path = Path()
    voltage_v: float = 11.4
    negative: bool = True

    def contents(self, power_w: float) -> list[tuple[Path, str]]:
        current_ua = power_w / self.voltage_v * 1e6
        return [
            (self.volt_path, str(round(self.voltage_v * 1e6))),
            (self.curr_path, str(round(-current_ua if self.negative else current_ua))),
        ]

    def files(self) -> tuple[Path, ...]:
        return (self.volt_path, self.curr_path)


Driver = CounterDriver | Ina3221Driver | PowerFileDriver | VoltCurrDriver


@dataclass
class FakeTree:
    """A fake tree under ``root`` and the drivers of its rails (rail name → driver).

    Attributes:
        root: the directory standing for ``/``.
        drivers: one driver per rail, named as the SyNERGY backend names the rail.
        paths: notable paths (zone or device directories) by name, for tests.
    """

    root: Path
    drivers: dict[str, Driver] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    def __or__(self, other: FakeTree) -> FakeTree:
        """Two trees under the same root as one (``build_rapl(r) | build_amdgpu(r)``)."""
        if other.root != self.root:
            raise ValueError("trees under different roots cannot be combined")
        return FakeTree(self.root, {**self.drivers, **other.drivers}, {**self.paths, **other.paths})


# ---------------------------------------------------------------------------------------------------
# RAPL

#: Wrap values seen on real machines, µJ.
PACKAGE_MAX_ENERGY_RANGE_UJ = 262_143_328_850
DRAM_MAX_ENERGY_RANGE_UJ = 65_712_999_613


def _rapl_zone(
    directory: Path, name: str, max_range_uj: int, initial_uj: int, energy_mode: int, constraints: bool
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _put(directory / "name", name)
    _put(directory / "energy_uj", initial_uj, energy_mode)
    _put(directory / "max_energy_range_uj", max_range_uj)
    _put(directory / "enabled", 1, 0o644)
    _uevent(directory)
    if constraints:
        for index, (cname, limit_uw, window_us) in enumerate(
            (("long_term", 65_000_000, 27_983_872), ("short_term", 90_000_000, 976))
        ):
            _put(directory / f"constraint_{index}_name", cname)
            _put(directory / f"constraint_{index}_power_limit_uw", limit_uw, 0o644)
            _put(directory / f"constraint_{index}_time_window_us", window_us, 0o644)
            _put(directory / f"constraint_{index}_max_power_uw", 125_000_000)
    else:
        _put(directory / "constraint_0_name", "long_term")
        _put(directory / "constraint_0_power_limit_uw", 0, 0o644)
        _put(directory / "constraint_0_time_window_us", 976, 0o644)


def build_rapl(
    root: Path,
    *,
    packages: int = 1,
    subzones: Iterable[str] = ("core", "uncore", "dram"),
    psys: bool = False,
    mmio: bool = False,
    top_level_dram: bool = False,
    energy_mode: int = 0o400,
    max_energy_range_uj: int = PACKAGE_MAX_ENERGY_RANGE_UJ,
    dram_max_energy_range_uj: int = DRAM_MAX_ENERGY_RANGE_UJ,
    initial_uj: int = 123_456_789,
) -> FakeTree:
    """A powercap tree: ``intel-rapl:<p>`` packages with sub-zones, optionally ``psys`` and MMIO.

    Args:
        root: the directory standing for ``/``.
        packages: number of ``package-<p>`` zones (0 for a psys-only machine).
        subzones: sub-zone names under each package, in order (``core``, ``uncore``, ``dram``).
        psys: add the platform zone ``psys`` (client machines) after the packages.
        mmio: add ``intel-rapl-mmio:0`` (``package-0`` through MMIO).
        top_level_dram: add a top-level ``dram`` zone (some servers) after the packages.
        energy_mode: mode of ``energy_uj`` (0o400 since Linux 5.10; 0o444 with a udev rule).
        max_energy_range_uj: wrap value of package-like zones.
        dram_max_energy_range_uj: wrap value of DRAM zones.
        initial_uj: every counter's initial value.
    """
    base = root / "sys/devices/virtual/powercap/intel-rapl"
    base.mkdir(parents=True, exist_ok=True)
    _put(base / "enabled", 1, 0o644)
    _uevent(base)
    cls = root / "sys/class/powercap"
    _link(cls / "intel-rapl", base)
    tree = FakeTree(root)
    top: list[tuple[str, str, int]] = [
        (f"package-{p}", f"intel-rapl:{p}", max_energy_range_uj) for p in range(packages)
    ]
    if top_level_dram:
        top.append(("dram", f"intel-rapl:{len(top)}", dram_max_energy_range_uj))
    if psys:
        top.append(("psys", f"intel-rapl:{len(top)}", max_energy_range_uj))
    for name, zone_id, rng in top:
        zone = base / zone_id
        _rapl_zone(zone, name, rng, initial_uj, energy_mode, constraints=name != "dram")
        _link(cls / zone_id, zone)
        tree.drivers[name] = CounterDriver(zone / "energy_uj", rng, initial_uj)
        tree.paths[zone_id] = zone
        if name.startswith("package"):
            for s, sub in enumerate(subzones):
                sub_id = f"{zone_id}:{s}"
                rng_sub = dram_max_energy_range_uj if sub == "dram" else max_energy_range_uj
                _rapl_zone(zone / sub_id, sub, rng_sub, initial_uj, energy_mode, constraints=False)
                _link(cls / sub_id, zone / sub_id)
                tree.drivers[f"{name}/{sub}"] = CounterDriver(zone / sub_id / "energy_uj", rng_sub, initial_uj)
                tree.paths[sub_id] = zone / sub_id
    if mmio:
        mbase = root / "sys/devices/virtual/powercap/intel-rapl-mmio"
        mbase.mkdir(parents=True, exist_ok=True)
        _put(mbase / "enabled", 1, 0o644)
        _link(cls / "intel-rapl-mmio", mbase)
        zone = mbase / "intel-rapl-mmio:0"
        _rapl_zone(zone, "package-0", max_energy_range_uj, initial_uj, energy_mode, constraints=True)
        _link(cls / "intel-rapl-mmio:0", zone)
        tree.drivers["mmio:package-0"] = CounterDriver(zone / "energy_uj", max_energy_range_uj, initial_uj)
        tree.paths["intel-rapl-mmio:0"] = zone
    return tree


# ---------------------------------------------------------------------------------------------------
# Jetson


@dataclass(frozen=True)
class JetsonBoard:
    """A Jetson module's INA3221 devices as its device tree declares them.

    Attributes:
        key: identifier (``agx_orin``).
        dt_model: ``/proc/device-tree/model`` text, when known.
        devices: ``(<bus>-<addr>, (label ch1, label ch2, label ch3))`` per INA3221; ``NC`` for unconnected.
        platform: the I2C controller's directory under ``/sys/devices/platform``.
    """

    key: str
    dt_model: str | None
    devices: tuple[tuple[str, tuple[str, str, str]], ...]
    platform: str = "bus@0/c240000.i2c"


#: Real rail label sets per module (energymon's JetsonPowerRails table, the upstream device trees,
#: and the I2C addresses users report).
JETSON_BOARDS: dict[str, JetsonBoard] = {
    "tx1": JetsonBoard(
        "tx1", "NVIDIA Jetson TX1 Developer Kit", (("1-0040", ("VDD_IN", "VDD_GPU", "VDD_CPU")),), "7000c400.i2c"
    ),
    "nano": JetsonBoard(
        "nano",
        "NVIDIA Jetson Nano Developer Kit",
        (("6-0040", ("POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU")),),
        "7000c400.i2c",
    ),
    "tx2": JetsonBoard(
        "tx2",
        "quill",
        (
            ("0-0040", ("VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI")),
            ("0-0041", ("VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR")),
        ),
        "3160000.i2c",
    ),
    "tx2_nx": JetsonBoard("tx2_nx", None, (("1-0040", ("VDD_IN", "VDD_CPU_GPU", "VDD_SOC")),), "c240000.i2c"),
    "xavier_nx": JetsonBoard(
        "xavier_nx",
        "NVIDIA Jetson Xavier NX Developer Kit",
        (("7-0040", ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")),),
        "c240000.i2c",
    ),
    "agx_xavier": JetsonBoard(
        "agx_xavier",
        "Jetson-AGX",
        (("1-0040", ("GPU", "CPU", "SOC")), ("1-0041", ("CV", "VDDRQ", "SYS5V"))),
        "c240000.i2c",
    ),
    "agx_orin": JetsonBoard(
        "agx_orin",
        "NVIDIA Jetson AGX Orin Developer Kit",
        (("1-0040", ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0")), ("1-0041", ("NC", "VDDQ_VDD2_1V8AO", "NC"))),
    ),
    "orin_nx": JetsonBoard(
        "orin_nx",
        "NVIDIA Jetson Orin NX Engineering Reference Developer Kit",
        (("1-0040", ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")),),
    ),
    "orin_nano": JetsonBoard(
        "orin_nano",
        "NVIDIA Jetson Orin Nano Developer Kit",
        (("1-0040", ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")),),
    ),
    # JetPack 7 on a carrier without the INA238: the module's INA3221 and its three input rails.
    "agx_thor": JetsonBoard(
        "agx_thor",
        "NVIDIA Jetson AGX Thor Developer Kit",
        (("1-0040", ("VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0")),),
    ),
}


def _board(model: str | JetsonBoard) -> JetsonBoard:
    if isinstance(model, JetsonBoard):
        return model
    try:
        return JETSON_BOARDS[model]
    except KeyError:
        raise ValueError(f"unknown Jetson board {model!r}; known: {', '.join(JETSON_BOARDS)}") from None


def _i2c_device(root: Path, board: JetsonBoard, device: str, driver: str) -> Path:
    bus = device.split("-")[0]
    directory = root / "sys/devices/platform" / board.platform / f"i2c-{bus}" / device
    directory.mkdir(parents=True, exist_ok=True)
    _uevent(directory)
    _put(directory / "name", driver)
    drv = root / "sys/bus/i2c/drivers" / driver
    _link(drv / device, directory)
    _link(directory / "driver", drv)
    _link(root / "sys/bus/i2c/devices" / device, directory)
    return directory


def write_dt_model(root: Path, text: str | None, where: str = "proc") -> None:
    """Publish the board model (NUL-terminated, as the kernel does) under ``root``.

    Args:
        where: ``proc`` (``/proc/device-tree/model``), ``firmware`` (``/sys/firmware/devicetree/base/model``
            only, as in a container that does not mount ``/proc/device-tree``) or ``both``.
    """
    if text is None:
        return
    relatives: dict[str, tuple[str, ...]] = {
        "proc": ("proc/device-tree",),
        "firmware": ("sys/firmware/devicetree/base",),
    }
    relatives["both"] = relatives["proc"] + relatives["firmware"]
    for relative in relatives[where]:
        path = root / relative / "model"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() + b"\x00")


_write_dt_model = write_dt_model


def build_jetson_hwmon(
    root: Path,
    model: str | JetsonBoard,
    *,
    samples: int = 512,
    conversion_us: int = 140,
    voltage_v: float = 5.0,
    shunt_uohm: int = 5000,
    dt_model: bool = True,
) -> FakeTree:
    """A Jetson on L4T ≥ 34: mainline ``ina3221`` hwmon devices with the module's real labels.

    ``update_interval`` (ms) is ``C × samples × 2 × conversion_us`` with C the enabled channels, as the
    driver computes it; ``NC`` channels are disabled (``in<N>_enable`` = 0).

    Args:
        root: the directory standing for ``/``.
        model: a key of :data:`JETSON_BOARDS` or a :class:`JetsonBoard`.
        samples: the averaging count (``samples`` file).
        conversion_us: bus and shunt conversion time, µs.
        voltage_v: bus voltage of every rail.
        shunt_uohm: shunt resistors, µΩ.
        dt_model: write ``/proc/device-tree/model``.
    """
    board = _board(model)
    tree = FakeTree(root)
    for device, labels in board.devices:
        dev_dir = _i2c_device(root, board, device, "ina3221")
        directory = _hwmon_dir(root, dev_dir, "ina3221")
        tree.paths[device] = directory
        enabled = [label != "NC" for label in labels]
        interval_ms = max(1, round(sum(enabled) * samples * 2 * conversion_us / 1000))
        _put(directory / "samples", samples, 0o644)
        _put(directory / "update_interval", interval_ms, 0o644)
        for number, (label, on) in enumerate(zip(labels, enabled, strict=True), start=1):
            _put(directory / f"in{number}_label", label)
            _put(directory / f"in{number}_enable", int(on), 0o644)
            _put(directory / f"in{number}_input", round(voltage_v * 1000 / 8) * 8 if on else 0)
            _put(directory / f"in{number + 3}_input", 0)
            _put(directory / f"curr{number}_input", 0)
            _put(directory / f"curr{number}_max", 32760, 0o644)
            _put(directory / f"curr{number}_crit", 32760, 0o644)
            _put(directory / f"curr{number}_max_alarm", 0)
            _put(directory / f"curr{number}_crit_alarm", 0)
            _put(directory / f"shunt{number}_resistor", shunt_uohm, 0o644)
            if on:
                tree.drivers[label] = Ina3221Driver(
                    update_interval_s=interval_ms / 1000,
                    volt_path=directory / f"in{number}_input",
                    curr_path=directory / f"curr{number}_input",
                    voltage_v=voltage_v,
                    shunt_ohm=shunt_uohm / 1e6,
                )
        _put(directory / "in7_label", "sum of shunt voltages")
        _put(directory / "in7_input", 0)
        _put(directory / "curr4_input", 0)
        _put(directory / "curr4_crit", 65520, 0o644)
    if dt_model:
        _write_dt_model(root, board.dt_model)
    return tree


def build_jetson_iio(
    root: Path,
    model: str | JetsonBoard,
    *,
    polling_delay_ms: int | None = None,
    running_mode: int = 1,
    voltage_v: float = 5.0,
    dt_model: bool = True,
) -> FakeTree:
    """A Jetson on L4T ≤ 32: NVIDIA ``ina3221x`` IIO devices with 0-based channels.

    Args:
        root: the directory standing for ``/``.
        model: a key of :data:`JETSON_BOARDS` (Nano, TX1, TX2, AGX Xavier ran L4T 32).
        polling_delay_ms: write ``polling_delay_<N>`` (some L4T 32.x) and update at that pace; else the
            driver default window (0x7727: 3 × 64 × 2.2 ms) is used as the pace.
        running_mode: 0 triggered, 1 continuous.
        voltage_v: bus voltage of every rail.
        dt_model: write ``/proc/device-tree/model``.
    """
    board = _board(model)
    tree = FakeTree(root)
    interval_s = polling_delay_ms / 1000 if polling_delay_ms else 3 * 64 * 2.2e-3
    for index, (device, labels) in enumerate(board.devices):
        dev_dir = _i2c_device(root, board, device, "ina3221x")
        directory = dev_dir / f"iio:device{index}"
        directory.mkdir(parents=True, exist_ok=True)
        _put(directory / "name", "ina3221x")
        _uevent(directory)
        _link(root / "sys/bus/iio/devices" / f"iio:device{index}", directory)
        _put(directory / "running_mode", running_mode, 0o644)
        tree.paths[device] = directory
        for number, label in enumerate(labels):
            _put(directory / f"rail_name_{number}", label)
            _put(directory / f"in_power{number}_input", 0)
            _put(directory / f"in_current{number}_input", 0)
            _put(directory / f"in_voltage{number}_input", round(voltage_v * 1000))
            _put(directory / f"in_power{number}_trigger_input", 0)
            _put(directory / f"in_current{number}_trigger_input", 0)
            _put(directory / f"crit_current_limit_{number}", "5000 ma", 0o644)
            _put(directory / f"warn_current_limit_{number}", "4000 ma", 0o644)
            _put(directory / f"ui_input_{number}", f"{round(voltage_v * 1000)} 0")
            if polling_delay_ms:
                _put(directory / f"polling_delay_{number}", f"{polling_delay_ms} ms", 0o644)
            if label != "NC":
                tree.drivers[label] = PowerFileDriver(
                    update_interval_s=interval_s,
                    path=directory / f"in_power{number}_input",
                    scale=1e3,
                    extra=((directory / f"in_current{number}_input", 1e3 / voltage_v),),
                )
    if dt_model:
        _write_dt_model(root, board.dt_model)
    return tree


def build_ina238(
    root: Path,
    *,
    device: str = "2-0044",
    update_interval_ms: int | None = 1,
    voltage_v: float = 20.0,
    dt_model: str | None = "NVIDIA Jetson AGX Thor Developer Kit",
) -> FakeTree:
    """An INA238 hwmon device (AGX Thor carrier input): ``power1_input`` µW, rail ``VIN``.

    The I2C address of Thor's INA238 is not documented publicly; ``device`` is a placeholder.
    """
    board = JetsonBoard("thor", dt_model, (), "bus@0/c250000.i2c")
    dev_dir = _i2c_device(root, board, device, "ina238")
    directory = _hwmon_dir(root, dev_dir, "ina238")
    _put(directory / "in0_input", 0)
    _put(directory / "in1_input", round(voltage_v * 1000))
    _put(directory / "curr1_input", 0)
    _put(directory / "power1_input", 0)
    _put(directory / "temp1_input", 35000)
    if update_interval_ms is not None:
        _put(directory / "update_interval", update_interval_ms, 0o644)
    _write_dt_model(root, dt_model)
    interval = (update_interval_ms or 1) / 1000
    driver = PowerFileDriver(
        update_interval_s=interval,
        path=directory / "power1_input",
        scale=1e6,
        extra=((directory / "curr1_input", 1e3 / voltage_v),),
    )
    return FakeTree(root, {"VIN": driver}, {device: directory})


# ---------------------------------------------------------------------------------------------------
# AMD GPU and batteries


def build_amdgpu(
    root: Path, *, card: int = 0, instant: bool = True, average: bool = True, update_interval_s: float = 1e-3
) -> FakeTree:
    """An ``amdgpu`` card: ``/sys/class/drm/card<N>/device/hwmon/hwmon<K>/power1_{input,average}`` (µW)."""
    pci = root / "sys/devices/pci0000:00/0000:00:01.1" / f"0000:0{card + 1}:00.0"
    pci.mkdir(parents=True, exist_ok=True)
    _uevent(pci)
    drm = pci / "drm" / f"card{card}"
    drm.mkdir(parents=True, exist_ok=True)
    _link(drm / "device", pci)
    _link(root / "sys/class/drm" / f"card{card}", drm)
    connector = drm / f"card{card}-DP-1"
    connector.mkdir(parents=True, exist_ok=True)
    _put(connector / "status", "disconnected")
    _link(root / "sys/class/drm" / f"card{card}-DP-1", connector)
    directory = _hwmon_dir(root, pci, "amdgpu")
    _put(directory / "power1_cap", 300_000_000, 0o644)
    drivers: dict[str, Driver] = {}
    files = [("power1_input", instant), ("power1_average", average)]
    chosen = [name for name, on in files if on]
    for name in chosen:
        _put(directory / name, 0)
    if chosen:
        drivers[f"card{card}"] = PowerFileDriver(
            update_interval_s=update_interval_s,
            path=directory / chosen[0],
            scale=1e6,
            extra=tuple((directory / name, 1e6) for name in chosen[1:]),
        )
    return FakeTree(root, drivers, {f"card{card}": directory})


def build_battery(
    root: Path,
    *,
    name: str = "BAT0",
    power_now: bool = False,
    negative_current: bool = True,
    status: str = "Discharging",
    voltage_v: float = 11.4,
    update_interval_s: float = 0.5,
    mains: bool = True,
) -> FakeTree:
    """A ``power_supply`` battery (ACPI layout) with ``power_now`` or ``voltage_now``/``current_now``.

    Args:
        root: the directory standing for ``/``.
        name: the supply's name.
        power_now: report ``power_now`` (µW) instead of voltage and current.
        negative_current: report discharge current as negative (as many drivers do).
        status: the ``status`` file.
        voltage_v: ``voltage_now``.
        update_interval_s: the fuel gauge's refresh period.
        mains: also add an ``AC`` supply of type ``Mains`` (which is not a power sensor).
    """
    acpi = root / "sys/devices/LNXSYSTM:00/LNXSYBUS:00"
    directory = acpi / "PNP0C0A:00/power_supply" / name
    directory.mkdir(parents=True, exist_ok=True)
    _uevent(directory)
    _link(root / "sys/class/power_supply" / name, directory)
    for key, value in (
        ("type", "Battery"),
        ("status", status),
        ("present", 1),
        ("technology", "Li-ion"),
        ("capacity", 80),
        ("voltage_min_design", round(voltage_v * 1e6)),
        ("voltage_now", round(voltage_v * 1e6)),
    ):
        _put(directory / key, value)
    tree = FakeTree(root, paths={name: directory})
    if power_now:
        _put(directory / "power_now", 0)
        _put(directory / "energy_now", 40_000_000)
        tree.drivers[name] = PowerFileDriver(update_interval_s=update_interval_s, path=directory / "power_now")
    else:
        _put(directory / "current_now", 0)
        _put(directory / "charge_now", 3_000_000)
        tree.drivers[name] = VoltCurrDriver(
            update_interval_s=update_interval_s,
            volt_path=directory / "voltage_now",
            curr_path=directory / "current_now",
            voltage_v=voltage_v,
            negative=negative_current,
        )
    if mains:
        ac = acpi / "ACPI0003:00/power_supply/AC"
        ac.mkdir(parents=True, exist_ok=True)
        _put(ac / "type", "Mains")
        _put(ac / "online", 0)
        _link(root / "sys/class/power_supply/AC", ac)
    return tree


# ---------------------------------------------------------------------------------------------------
# the writer


def _apply(drivers: Mapping[str, Driver], held: set[Path], command: tuple[str, str, str]) -> None:
    action, target, text = command
    path = Path(target)
    if action == "inject":
        write_atomic(path, text) if text else _truncate(path)
        held.add(path)
    elif action == "release":
        held.discard(path)
    elif action == "vanish":
        held.add(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _truncate(path: Path) -> None:
    write_atomic(path, "")


def _step_all(drivers: Mapping[str, Driver], powers: Mapping[str, PowerFunction], held: set[Path], t_s: float) -> None:
    for rail, driver in drivers.items():
        if t_s + 1e-12 < driver.next_due():
            continue
        if held.intersection(driver.files()):
            # a held or vanished file is not rewritten; time still passes for the others
            _skip(driver, t_s, powers[rail])
            continue
        driver.advance(t_s, powers[rail])


def _skip(driver: Driver, t_s: float, p: PowerFunction) -> None:
    if isinstance(driver, CounterDriver):
        driver.advance(t_s, p, write=False)  # the hardware keeps counting; only the file is stale
    else:
        assert driver.t_last_s is not None
        ticks = int((t_s - driver.t_last_s) / driver.update_interval_s + 1e-9)
        driver.t_last_s += max(0, ticks) * driver.update_interval_s


def _prime(driver: Driver, p: PowerFunction, t_s: float) -> None:
    """Time zero: counters start; latching files get the average of the interval before ``t_s``."""
    driver.begin(t_s)
    if not isinstance(driver, CounterDriver):
        driver.latch(driver.power_at(t_s, p))


#: A punctual writer's counter update that would appear later than this fraction of a period after its
#: instant is merged into the next update instead.
COUNTER_LATE = 0.25


class _Publisher:
    """Publishes every driver's value for its latest update instant, on time where the machine allows.

    Real hardware latches a value at each instant of its regular grid and a read sees it at once. A Python
    writer wakes late; it therefore never shifts the grid: after a late wake-up it writes the value of the
    most recent grid instant (a register holding its last latch). With ``spin_s > 0`` it wakes ``spin_s``
    before an instant, computes the value then (exact for power functions that integrate themselves; the
    latest state is assumed to go on), stages the new files, busy-waits for the instant and renames them
    into place: the value appears within a rename of its instant. The writer wakes earlier by the time
    computing and staging took lately (at most half a period). If the power function's past changed
    meanwhile (an announcement), the value is recomputed first. Files whose text did not change are not
    rewritten (a constant bus voltage: one file changes per latch, as one register does). A counter update
    that would appear more than :data:`COUNTER_LATE` of a period late is skipped and carried by the next
    one, as if the hardware had not updated that time; a late rail value is still written (skipping it
    would leave the previous window's value standing for this one).
    """

    def __init__(self, drivers: dict[str, Driver], powers: dict[str, PowerFunction], spin_s: float) -> None:
        self.drivers = drivers
        self.powers = powers
        self.spin_s = spin_s
        self.written: dict[Path, str] = {}
        self.modes: dict[Path, int] = {}
        self.origin_s = 0.0
        self.stage_s = 0.0  # a decaying maximum of the time computing and staging a value takes
        self.n_late = 0
        self.n_skipped = 0
        self.n_recomputed = 0
        self.delays_ns: list[int] = []

    def next_due(self) -> float:
        return min(driver.next_due() for driver in self.drivers.values())

    def _stage(self, files: list[tuple[Path, str]]) -> list[tuple[Path, Path, str]]:
        staged = []
        for path, text in files:
            if self.written.get(path) == text:
                continue
            mode = self.modes.get(path)
            if mode is None:
                try:
                    mode = path.stat().st_mode & 0o7777
                except FileNotFoundError:
                    mode = 0o444
                self.modes[path] = mode
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            try:
                os.write(fd, (text + "\n").encode())
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            staged.append((tmp, path, text))
        return staged

    def publish(self, held: set[Path]) -> None:
        """Publish the drivers due at the next instant (or at the latest one passed); spin first if early."""
        now = time.monotonic()
        due = self.next_due()
        group: list[tuple[str, Driver, float]] = []
        for rail, driver in self.drivers.items():
            if driver.next_due() > max(now, due) + 1e-9:
                continue
            assert driver.t_last_s is not None
            ticks = max(1, int((max(now, due) - driver.t_last_s) / driver.update_s + 1e-9))
            group.append((rail, driver, driver.t_last_s + ticks * driver.update_s))
        if not group:
            return
        g = min(instant for _, _, instant in group)
        group = [item for item in group if abs(item[2] - g) < 1e-9]
        if now > g + min(driver.update_s for _, driver, _ in group) / 2:
            self.n_late += 1
        if self._skip_counters(group, g, now):
            return
        live = [(rail, driver) for rail, driver, _ in group if not held.intersection(driver.files())]
        versions = [_version(self.powers[rail]) for rail, _ in live]
        staged = [self._stage(driver.render(g, self.powers[rail])) for rail, driver in live]
        cost = time.monotonic() - now
        self.stage_s = max(cost, 0.95 * self.stage_s)
        g_ns = round(g * 1e9)
        while time.monotonic_ns() < g_ns:
            pass
        if self._skip_counters(group, g, time.monotonic()):
            for files in staged:
                for tmp, _, _ in files:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
            return
        for k, (rail, driver) in enumerate(live):
            if _version(self.powers[rail]) != versions[k]:  # the past changed while waiting: recompute
                self.n_recomputed += 1
                staged[k] = self._stage(driver.render(g, self.powers[rail]))
        for files in staged:
            for tmp, path, text in files:
                os.replace(tmp, path)
                self.written[path] = text
        if len(self.delays_ns) < 1 << 22:
            self.delays_ns.append(time.monotonic_ns() - g_ns)
        for rail, driver, _ in group:
            driver.commit(g, self.powers[rail])  # held files are not rewritten; the hardware goes on

    def _skip_counters(self, group: list[tuple[str, Driver, float]], g: float, now: float) -> bool:
        """Skip an update of counters that can no longer appear on time (the next one carries both)."""
        if self.spin_s <= 0 or now <= g + min(driver.update_s for _, driver, _ in group) * COUNTER_LATE:
            return False
        if not all(isinstance(driver, CounterDriver) for _, driver, _ in group):
            return False
        self.n_skipped += 1
        for rail, driver, _ in group:
            driver.commit(g, self.powers[rail])
        return True

    def stats(self) -> dict[str, float]:
        """How punctually values were published: count, late (by over half a period), delays in µs."""
        out: dict[str, float] = {
            "grid_origin_ns": float(round(self.origin_s * 1e9)),
            "published": float(len(self.delays_ns)),
            "late": float(self.n_late),
            "skipped": float(self.n_skipped),
            "recomputed": float(self.n_recomputed),
        }
        if self.delays_ns:
            ordered = sorted(self.delays_ns)
            for name, q in (("min", 0.0), ("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
                out[f"delay_{name}_us"] = ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3
        return out

    def wait_s(self) -> float:
        """Seconds to sleep before the next :meth:`publish`."""
        period = min(driver.update_s for driver in self.drivers.values())
        lead = min(self.spin_s + self.stage_s, period / 2) if self.spin_s > 0 else 0.0
        return self.next_due() - lead - time.monotonic()


def _loop(
    drivers: dict[str, Driver],
    powers: dict[str, PowerFunction],
    commands: Any,
    acks: Any,
    stop: Any,
    ready: Any,
    spin_s: float = 0.0,
) -> None:
    held: set[Path] = set()
    t0 = time.monotonic()
    for rail, driver in drivers.items():
        _prime(driver, powers[rail], t0)
    publisher = _Publisher(drivers, powers, spin_s)
    publisher.origin_s = t0
    ready.set()
    while not stop.is_set():
        while True:
            try:
                command = commands.get_nowait()
            except queue.Empty:
                break
            _apply(drivers, held, command)
            publisher.written.pop(Path(command[1]), None)
            acks.put(command[1])
        wait = publisher.wait_s()
        if wait > 0:
            time.sleep(min(wait, 0.005))
            continue
        publisher.publish(held)
    acks.put(("stats", publisher.stats()))


class SysfsWriter:
    """Updates a fake tree's files at the hardware's pace from power functions of monotonic time.

    Use it as a context manager (``with SysfsWriter(tree, ...):``), or call :meth:`start` and
    :meth:`stop`; or call :meth:`step` yourself for deterministic tests (no thread at all).

    Args:
        tree: the tree (or a mapping rail → driver).
        power: watts versus ``time.monotonic()`` seconds per rail (missing rails get ``default``).
        default: the power function of rails not in ``power``.
        mode: ``thread`` (default) or ``process`` (a spawned process; power functions must be picklable,
            such as :class:`Constant` and :class:`Square`).
        spin_s: how long before each update instant a background writer wakes, computes and stages the
            value, then busy-waits for the instant (default: 200 µs in a process, 0 in a thread, which
            would hold the interpreter lock).

    Attributes:
        stats: after :meth:`stop`, how punctually the background writer published (see
            ``_Publisher.stats``): ``published``, ``late``, ``recomputed``, ``delay_{min,median,p90,p99,max}_us``.
    """

    def __init__(
        self,
        tree: FakeTree | Mapping[str, Driver],
        power: Mapping[str, PowerFunction] | None = None,
        *,
        default: PowerFunction = Constant(1.0),
        mode: str = "thread",
        spin_s: float | None = None,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', got {mode!r}")
        drivers = dict(tree.drivers if isinstance(tree, FakeTree) else tree)
        unknown = set(power or {}) - set(drivers)
        if unknown:
            raise ValueError(f"no rail named {', '.join(sorted(unknown))}; rails: {', '.join(drivers)}")
        self.drivers = drivers
        self.powers = {rail: (power or {}).get(rail, default) for rail in drivers}
        self.mode = mode
        self.spin_s = (200e-6 if mode == "process" else 0.0) if spin_s is None else spin_s
        self.stats: dict[str, float] = {}
        self._held: set[Path] = set()
        self._started_manual = False
        self._worker: threading.Thread | multiprocessing.process.BaseProcess | None = None
        self._stop: Any = None
        self._commands: Any = None
        self._acks: Any = None
        self._finalizer: weakref.finalize[Any, SysfsWriter] | None = None

    # -- manual stepping ---------------------------------------------------------------------------
    def step(self, t_s: float) -> None:
        """Bring every file to its state at monotonic time ``t_s`` (the first call sets time zero)."""
        if self._worker is not None:
            raise RuntimeError("step() cannot be used while the writer runs")
        if not self._started_manual:
            for rail, driver in self.drivers.items():
                _prime(driver, self.powers[rail], t_s)
            self._started_manual = True
            return
        _step_all(self.drivers, self.powers, self._held, t_s)

    # -- background --------------------------------------------------------------------------------
    def start(self) -> SysfsWriter:
        """Start updating in the background; returns once the first values are written."""
        if self._worker is not None:
            raise RuntimeError("the writer is already running")
        ready: Any
        if self.mode == "thread":
            self._stop, ready = threading.Event(), threading.Event()
            self._commands, self._acks = queue.Queue(), queue.Queue()
            self._worker = threading.Thread(
                target=_loop,
                args=(self.drivers, self.powers, self._commands, self._acks, self._stop, ready, self.spin_s),
                name="synergy-sysfs-writer",
                daemon=True,
            )
        else:
            ctx = multiprocessing.get_context("spawn")
            self._stop, ready = ctx.Event(), ctx.Event()
            self._commands, self._acks = ctx.Queue(), ctx.Queue()
            self._worker = ctx.Process(
                target=_loop,
                args=(self.drivers, self.powers, self._commands, self._acks, self._stop, ready, self.spin_s),
                name="synergy-sysfs-writer",
                daemon=True,
            )
        self._worker.start()
        self._finalizer = weakref.finalize(self, _shutdown, self._worker, self._stop)
        if not ready.wait(timeout=30):
            self.stop()
            raise RuntimeError("the sysfs writer did not start within 30 s")
        return self

    def stop(self) -> None:
        """Stop the background writer and wait for it (idempotent)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
            with contextlib.suppress(queue.Empty, OSError, ValueError):
                while True:
                    item = self._acks.get(timeout=1)
                    if isinstance(item, tuple) and item[0] == "stats":
                        self.stats = dict(item[1])
                        break
        if self.mode == "process":
            for channel in (self._commands, self._acks):
                if channel is not None:
                    channel.close()
                    channel.join_thread()
        self._commands = self._acks = None
        self._worker = None

    @property
    def running(self) -> bool:
        """Whether the background writer is alive."""
        return self._worker is not None and self._worker.is_alive()

    def __enter__(self) -> SysfsWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, path: Path, text: str) -> None:
        """Write ``text`` into ``path`` (``""`` empties it, ``"12"`` looks half-written) and hold it there.

        The file is not rewritten until :meth:`release`.
        """
        self._command(("inject", str(path), text))

    def release(self, path: Path) -> None:
        """Let the writer update ``path`` again."""
        self._command(("release", str(path), ""))

    def vanish(self, path: Path) -> None:
        """Delete ``path`` and never write it again (a device that went away)."""
        self._command(("vanish", str(path), ""))

    def _command(self, command: tuple[str, str, str]) -> None:
        if self._worker is None:
            _apply(self.drivers, self._held, command)
            return
        self._commands.put(command)
        try:
            self._acks.get(timeout=10)
        except queue.Empty:
            raise RuntimeError(f"the sysfs writer did not apply {command[0]} within 10 s") from None


def _shutdown(worker: threading.Thread | multiprocessing.process.BaseProcess, stop: Any) -> None:
    stop.set()
    worker.join(timeout=10)
    if isinstance(worker, threading.Thread):
        return
    if worker.is_alive():
        worker.terminate()
        worker.join(timeout=5)


# ---------------------------------------------------------------------------------------------------
# command line: python -m synergy.testing.sysfs DIR LAYOUT... [--power RAIL=W ...] [--run-s S]

_LAYOUTS = "rapl, rapl-psys, jetson:<board>, jetson-iio:<board>, ina238, amdgpu, battery"


def _build(root: Path, layout: str) -> FakeTree:
    kind, _, arg = layout.partition(":")
    if kind == "rapl":
        return build_rapl(root)
    if kind == "rapl-psys":
        return build_rapl(root, packages=0, psys=True)
    if kind == "jetson" and arg:
        return build_jetson_hwmon(root, arg)
    if kind == "jetson-iio" and arg:
        return build_jetson_iio(root, arg)
    if kind == "ina238":
        return build_ina238(root)
    if kind == "amdgpu":
        return build_amdgpu(root)
    if kind == "battery":
        return build_battery(root)
    raise ValueError(f"unknown layout {layout!r}; layouts: {_LAYOUTS}; boards: {', '.join(JETSON_BOARDS)}")


def main(argv: list[str] | None = None) -> int:
    """Build fake trees under a directory and write their values once (or for ``--run-s`` seconds)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m synergy.testing.sysfs",
        description=f"Lay out fake sysfs sensor trees under DIR, as the kernel does. Layouts: {_LAYOUTS}; "
        f"boards: {', '.join(JETSON_BOARDS)}.",
    )
    parser.add_argument("root", metavar="DIR", type=Path)
    parser.add_argument("layouts", metavar="LAYOUT", nargs="+")
    parser.add_argument("--power", metavar="RAIL=W", action="append", default=[], help="constant power of a rail")
    parser.add_argument("--default-w", type=float, default=1.0, help="power of the other rails (default 1 W)")
    parser.add_argument("--run-s", type=float, default=0.0, help="keep updating the files for this long")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    try:
        trees = [_build(args.root, layout) for layout in args.layouts]
        tree = trees[0]
        for other in trees[1:]:
            tree = tree | other
        powers = {}
        for item in args.power:
            rail, _, watts = item.partition("=")
            powers[rail] = Constant(float(watts))
        writer = SysfsWriter(tree, powers, default=Constant(args.default_w))
    except ValueError as exc:
        parser.error(str(exc))
    if args.run_s > 0:
        with writer:
            time.sleep(args.run_s)
    else:
        writer.step(time.monotonic())
    print(f"{args.root}: rails {', '.join(tree.drivers)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
