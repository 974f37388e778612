"""x86 RAPL energy counters through the Linux powercap tree (Intel, and AMD Zen via ``intel_rapl_msr``).

Layout (``Documentation/power/powercap/powercap.rst``)::

    /sys/class/powercap/intel-rapl:<p>/         -> ../../devices/virtual/powercap/intel-rapl/intel-rapl:<p>
        name                  package-<p> | psys | dram
        energy_uj             cumulative µJ; mode 0400 (root only) since Linux 5.10 and stable backports
        max_energy_range_uj   the value at which energy_uj wraps to 0
        intel-rapl:<p>:<s>/   sub-zones: core | uncore | dram  (dram is NOT inside package)
    /sys/class/powercap/intel-rapl-mmio:<p>/    the same package domain through MMIO (some Intel clients)

Each zone is one rail; its value is the unwrapped cumulative energy in joules. The counters update about
every 976 µs (the RAPL time unit, visible as ``constraint_*_time_window_us``) and carry no timestamp, so a
window's energy is exact to within one update at either edge. The default total is the packages plus the
DRAM zones; on machines that expose only ``psys`` it is ``psys`` alone. ``core`` and ``uncore`` are inside
their package and ``psys`` covers the packages, so they are never added to it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorPermissionError, SensorReadError, SensorUnavailable
from synergy.sensors._sysfs import display_path, read_int, select_rails, try_read_text
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind
from synergy.sensors.counter import CounterUnwrapper

__all__ = ["RAPL_UPDATE_PERIOD_S", "RaplSensor", "RaplZone", "default_total_rails", "find_rapl_zones"]

#: How often RAPL energy counters update, seconds: the 976 µs RAPL time unit.
RAPL_UPDATE_PERIOD_S = 976e-6

_POWERCAP = "sys/class/powercap"
_ZONE_RE = re.compile(r"^(intel-rapl|intel-rapl-mmio):(\d+(?::\d+)*)$")

PERMISSION_REMEDY = (
    "run as root, or make the counters readable at boot with a udev rule such as "
    '\'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod 0444 /sys%p/energy_uj"\' (or a '
    "systemd-tmpfiles/sysfs.conf 'mode ... = 0444' line), or give perf access to power/energy-pkg with "
    "'sysctl kernel.perf_event_paranoid=0'"
)


@dataclass(frozen=True)
class RaplZone:
    """One powercap zone.

    Attributes:
        rail: the rail name: the zone's ``name`` (``package-0``, ``psys``), ``<package>/<name>`` for a
            sub-zone (``package-0/dram``), prefixed ``mmio:`` for the MMIO interface.
        name: the content of the zone's ``name`` file.
        zone_id: the directory name (``intel-rapl:0:1``).
        path: the zone directory (under the root).
        interface: ``msr`` (``intel-rapl``) or ``mmio`` (``intel-rapl-mmio``).
        top_level: whether the zone is a top-level zone (not a sub-zone).
    """

    rail: str
    name: str
    zone_id: str
    path: Path
    interface: str
    top_level: bool


def _zone_key(zone_id: str) -> tuple[str, tuple[int, ...]]:
    match = _ZONE_RE.match(zone_id)
    assert match is not None
    return match.group(1), tuple(int(part) for part in match.group(2).split(":"))


def find_rapl_zones(root: Path = Path("/")) -> list[RaplZone]:
    """Every powercap RAPL zone under ``root``, packages before their sub-zones, MSR before MMIO.

    Zones whose ``name`` cannot be read are skipped (a zone is useless without it).
    """
    base = root / _POWERCAP
    if not base.is_dir():
        return []
    ids = sorted((entry.name for entry in base.iterdir() if _ZONE_RE.match(entry.name)), key=_zone_key)
    zones: list[RaplZone] = []
    rails_by_id: dict[str, str] = {}
    for zone_id in ids:
        path = base / zone_id
        name = try_read_text(path / "name")
        if not name:
            continue
        control, numbers = _zone_key(zone_id)
        interface = "mmio" if control == "intel-rapl-mmio" else "msr"
        top_level = len(numbers) == 1
        parent_id = f"{control}:{numbers[0]}"
        rail = name if top_level else f"{rails_by_id.get(parent_id, parent_id)}/{name}"
        if interface == "mmio":
            rail = f"mmio:{rail}"
        if rail in rails_by_id.values():
            rail = f"{rail}@{zone_id}"
        rails_by_id[zone_id] = rail
        zones.append(RaplZone(rail, name, zone_id, path, interface, top_level))
    return zones


def default_total_rails(zones: Sequence[RaplZone]) -> tuple[str, ...]:
    """The non-overlapping total: packages + DRAM zones; ``psys`` alone where there is no package.

    The MSR interface is preferred; MMIO zones (the same package domain read another way) count only
    where the MSR interface has no package.
    """
    for interface in ("msr", "mmio"):
        mine = [zone for zone in zones if zone.interface == interface]
        packages = [zone.rail for zone in mine if zone.top_level and zone.name.startswith("package")]
        drams = [zone.rail for zone in mine if zone.name == "dram"]
        if packages:
            return (*packages, *drams)
        psys = [zone.rail for zone in mine if zone.top_level and zone.name == "psys"]
        if psys:
            return tuple(psys)
        if drams:
            return tuple(drams)
    return tuple(zone.rail for zone in zones if zone.top_level)


def permission_message(path: Path, root: Path) -> str:
    """The one-line explanation and remedy for a root-only ``energy_uj``."""
    where = display_path(path, root)
    try:
        mode = f"mode {stat.S_IMODE(path.stat().st_mode):04o}"
    except OSError:
        mode = "not readable"
    return f"{where} is readable by root only ({mode}, a Linux 5.10+ default against PLATYPUS): {PERMISSION_REMEDY}"


class RaplSensor(Sensor):
    """RAPL energy counters, one rail per powercap zone, values in cumulative joules (unwrapped).

    Example:
        >>> sensor = RaplSensor()                      # doctest: +SKIP
        >>> sensor.rails, sensor.total_rails           # doctest: +SKIP
        (('package-0', 'package-0/core', 'package-0/uncore', 'package-0/dram'), ('package-0', 'package-0/dram'))
    """

    name = "rapl"
    kind = SensorKind.ENERGY
    update_period_s: float | None = RAPL_UPDATE_PERIOD_S
    filter_model = FilterModel("counter", 0.0)

    def __init__(
        self,
        root: Path = Path("/"),
        rails: Sequence[str] | None = None,
        total_rails: Sequence[str] | None = None,
    ) -> None:
        """Open the RAPL zones under ``root``.

        Args:
            root: the directory that replaces ``/`` (tests, ``--sysfs-root``).
            rails: the rails to read (default: every zone).
            total_rails: the rails whose sum is the total (default: :func:`default_total_rails`).

        Raises:
            SensorUnavailable: no RAPL zone, or a requested rail that does not exist.
            SensorPermissionError: ``energy_uj`` is readable by root only.
            SensorReadError: a counter file holds garbage.
        """
        self.root = root
        zones = find_rapl_zones(root)
        if not zones:
            raise SensorUnavailable(f"no intel-rapl zone under {display_path(root / _POWERCAP, root)}")
        zones = select_rails(zones, rails, "RAPL rail(s)")
        readable, self.unreadable = self._split_readable(zones)
        if not readable:
            raise SensorPermissionError(next(iter(self.unreadable.values())))
        if rails is not None and self.unreadable:  # a rail the caller named cannot be left out silently
            raise SensorPermissionError(next(iter(self.unreadable.values())))
        self.zones: tuple[RaplZone, ...] = tuple(readable)
        self.rails = tuple(zone.rail for zone in readable)
        chosen = tuple(total_rails) if total_rails is not None else default_total_rails(readable)
        unknown = [rail for rail in chosen if rail not in self.rails]
        if unknown:
            raise SensorUnavailable(f"total rail(s) {', '.join(unknown)} are not among the rails {self.rails}")
        self.total_rails = chosen
        missing = [rail for rail in default_total_rails(zones) if rail in self.unreadable]
        self.total_note = (
            f"without {', '.join(missing)} (not readable by this user)" if missing and total_rails is None else ""
        )
        self._energy_files = tuple(zone.path / "energy_uj" for zone in readable)
        self._max_ranges_uj = tuple(read_int(zone.path / "max_energy_range_uj", root) for zone in readable)
        bad = [zone.rail for zone, rng in zip(readable, self._max_ranges_uj, strict=True) if rng <= 0]
        if bad:
            raise SensorReadError(f"max_energy_range_uj of {', '.join(bad)} is not positive")
        self._unwrappers = tuple(
            CounterUnwrapper(rng, what=display_path(path, root))
            for rng, path in zip(self._max_ranges_uj, self._energy_files, strict=True)
        )
        self.read()

    def _split_readable(self, zones: Sequence[RaplZone]) -> tuple[list[RaplZone], dict[str, str]]:
        """The zones whose ``energy_uj`` this user may read, and for each other one the remedy."""
        readable: list[RaplZone] = []
        unreadable: dict[str, str] = {}
        for zone in zones:
            path = zone.path / "energy_uj"
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM):
                    unreadable[zone.rail] = permission_message(path, self.root)
                    continue
                read_int(path, self.root)  # raises the translated error
            else:
                os.close(fd)
            readable.append(zone)
        return readable, unreadable

    def read(self) -> Reading:
        """Read every zone's counter; cumulative joules, unwrapped."""
        t0 = now_ns()
        raws = [read_int(path, self.root) for path in self._energy_files]
        t1 = now_ns()
        values = tuple(u.update(raw) / 1e6 for u, raw in zip(self._unwrappers, raws, strict=True))
        return Reading(t_ns=(t0 + t1) // 2, values=values)

    def details(self) -> dict[str, Any]:
        """Zones, their paths and wrap values, and the zones this user may not read (with the remedy)."""
        return {
            **({"total_note": self.total_note} if self.total_note else {}),
            **(
                {"unreadable": [{"rail": r, "reason": why} for r, why in self.unreadable.items()]}
                if self.unreadable
                else {}
            ),
            "zones": [
                {
                    "rail": zone.rail,
                    "zone": zone.zone_id,
                    "interface": zone.interface,
                    "path": display_path(zone.path, self.root),
                    "max_energy_range_j": rng / 1e6,
                }
                for zone, rng in zip(self.zones, self._max_ranges_uj, strict=True)
            ],
        }
