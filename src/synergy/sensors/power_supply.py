"""Battery power through the Linux ``power_supply`` class (laptops, phones, battery-powered boards).

``/sys/class/power_supply/<NAME>/`` with ``type`` = ``Battery`` holds ``power_now`` (µW) on some fuel
gauges, or ``voltage_now`` (µV) and ``current_now`` (µA) on others; power is then V × I from two reads.
Drivers disagree on the sign of the current (many report discharge as negative, others as positive), so
the magnitude is used: the value is the power flowing out of (or, while ``status`` is ``Charging``, into)
the battery. It equals the system's draw only while the battery is discharging with no charger attached.

Fuel gauges average internally and refresh every few hundred milliseconds to seconds; the period is not
published, so :attr:`PowerSupplySensor.update_period_s` is ``None`` and a sampler should probe it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorUnavailable
from synergy.sensors._sysfs import display_path, read_int, select_rails, try_read_text
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind

__all__ = ["PowerSupplyRail", "PowerSupplySensor", "find_power_supplies"]


@dataclass(frozen=True)
class PowerSupplyRail:
    """One power supply's power files.

    Attributes:
        rail: the supply's name (``BAT0``).
        type: the ``type`` file (``Battery``).
        files: ``(power_now,)`` in µW, or ``(voltage_now, current_now)`` in µV and µA.
        directory: the supply's directory.
    """

    rail: str
    type: str
    files: tuple[Path, ...]
    directory: Path

    @property
    def divisor(self) -> int:
        """The file value (or the product of both) divided by it is watts."""
        return 1_000_000 if len(self.files) == 1 else 1_000_000_000_000


def find_power_supplies(root: Path = Path("/"), types: Sequence[str] = ("Battery",)) -> list[PowerSupplyRail]:
    """Supplies of the given ``type`` under ``root`` that report power or voltage and current."""
    found: list[PowerSupplyRail] = []
    for directory in sorted((root / "sys/class/power_supply").glob("*")):
        kind = try_read_text(directory / "type") or ""
        if kind not in types:
            continue
        if (directory / "power_now").exists():
            files: tuple[Path, ...] = (directory / "power_now",)
        elif (directory / "voltage_now").exists() and (directory / "current_now").exists():
            files = (directory / "voltage_now", directory / "current_now")
        else:
            continue
        found.append(PowerSupplyRail(directory.name, kind, files, directory))
    return found


class PowerSupplySensor(Sensor):
    """Battery power in watts (magnitude), one rail per supply."""

    name = "power-supply"
    kind = SensorKind.POWER
    filter_model = FilterModel("instant", 0.0)
    update_period_s: float | None = None

    def __init__(
        self, root: Path = Path("/"), rails: Sequence[str] | None = None, types: Sequence[str] = ("Battery",)
    ) -> None:
        """Find the supplies under ``root``.

        Args:
            root: the directory that replaces ``/``.
            rails: supply names to read (default: all found).
            types: the ``type`` values accepted (default ``Battery``; add ``UPS`` or ``USB`` deliberately).

        Raises:
            SensorUnavailable: no matching supply, or an unknown supply requested.
        """
        self.root = root
        found = find_power_supplies(root, types)
        if not found:
            raise SensorUnavailable(
                f"no {'/'.join(types)} with power_now or voltage_now and current_now under "
                f"{display_path(root / 'sys/class/power_supply', root)}"
            )
        found = select_rails(found, rails, "power supply")
        self.supplies = tuple(found)
        self.rails = tuple(rail.rail for rail in found)
        self.total_rails = self.rails
        self._plan = tuple((rail.files, rail.divisor) for rail in found)

    def read(self) -> Reading:
        """Read every supply; watts (magnitude, whatever the driver's sign convention)."""
        t0 = now_ns()
        values = []
        for files, divisor in self._plan:
            product = 1
            for path in files:
                product *= read_int(path, self.root)
            values.append(abs(product) / divisor)
        t1 = now_ns()
        return Reading(t_ns=(t0 + t1) // 2, values=tuple(values))

    def status(self) -> dict[str, str]:
        """Each supply's ``status`` (``Discharging``, ``Charging``, ``Full``, ...; ``unknown`` if absent)."""
        return {rail.rail: try_read_text(rail.directory / "status") or "unknown" for rail in self.supplies}

    def details(self) -> dict[str, Any]:
        """Files read and status per supply."""
        return {
            "files": {rail.rail: [display_path(p, self.root) for p in rail.files] for rail in self.supplies},
            "status": self.status(),
        }
