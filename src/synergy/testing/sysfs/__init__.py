"""Fake sysfs trees laid out as the kernel lays them out, and a writer that drives them like the hardware.

The package is split by job: :mod:`~synergy.testing.sysfs.power` (power functions),
:mod:`~synergy.testing.sysfs.files` (writing files as sysfs shows them), :mod:`~synergy.testing.sysfs.drivers`
(one object per hardware value), :mod:`~synergy.testing.sysfs.layouts` (the trees),
:mod:`~synergy.testing.sysfs.writer` (:class:`SysfsWriter`) and :mod:`~synergy.testing.sysfs.cli`
(``python -m synergy.testing.sysfs``); every name is importable from the package itself.

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

from synergy.testing.sysfs.cli import main
from synergy.testing.sysfs.drivers import (
    AmdGpuDriver,
    CounterDriver,
    Driver,
    FakeTree,
    Ina3221Driver,
    PowerFileDriver,
    VoltCurrDriver,
)
from synergy.testing.sysfs.files import write_atomic
from synergy.testing.sysfs.layouts import (
    DRAM_MAX_ENERGY_RANGE_UJ,
    JETSON_BOARDS,
    PACKAGE_MAX_ENERGY_RANGE_UJ,
    JetsonBoard,
    build_amdgpu,
    build_battery,
    build_ina238,
    build_jetson_hwmon,
    build_jetson_iio,
    build_rapl,
    write_dt_model,
)
from synergy.testing.sysfs.power import Constant, PowerFunction, Square, interval_energy_j, mean_power
from synergy.testing.sysfs.writer import SysfsWriter

__all__ = [
    "DRAM_MAX_ENERGY_RANGE_UJ",
    "JETSON_BOARDS",
    "PACKAGE_MAX_ENERGY_RANGE_UJ",
    "AmdGpuDriver",
    "Constant",
    "CounterDriver",
    "Driver",
    "FakeTree",
    "Ina3221Driver",
    "JetsonBoard",
    "PowerFileDriver",
    "PowerFunction",
    "Square",
    "SysfsWriter",
    "VoltCurrDriver",
    "build_amdgpu",
    "build_battery",
    "build_ina238",
    "build_jetson_hwmon",
    "build_jetson_iio",
    "build_rapl",
    "interval_energy_j",
    "main",
    "mean_power",
    "write_atomic",
    "write_dt_model",
]
