"""Drivers: one object per hardware value (a counter, a latched power), advanced by the writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from synergy.testing.sysfs.files import write_atomic
from synergy.testing.sysfs.power import PowerFunction, interval_energy_j, mean_power


def _whole_uj(energy_uj: float) -> int:
    """The integer µJ a counter shows for an exact energy: the nearest whole µJ, so the floating-point error
    of the sum never costs a unit (``int(9999.999999998)`` would publish 9999 for 10 mJ)."""
    return round(energy_uj)


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
        return [(self.path, str(_whole_uj(self.energy_at(g_s, p)) % self.max_range_uj))]

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
        write_atomic(self.path, str(_whole_uj(self.energy_uj) % self.max_range_uj))

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

    def files(self) -> tuple[Path, ...]:
        """The files the driver writes."""
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


#: A counter, or a latching driver (INA3221, power files, batteries, the Raspberry Pi PMIC of
#: :mod:`synergy.testing.vcgencmd`).
Driver = CounterDriver | _LatchingDriver


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
