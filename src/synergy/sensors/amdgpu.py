"""AMD GPU board power through the ``amdgpu`` hwmon interface.

``/sys/class/drm/card<N>/device/hwmon/hwmon<K>/`` with ``name`` = ``amdgpu`` holds ``power1_input``
(instantaneous socket power, µW, newer GPUs and kernels) and/or ``power1_average`` (the SMU's running
average, µW). The instantaneous file is preferred; with the average only, the reading is modelled as a
box average over ``average_window_s`` (the SMU does not publish its window; about one second is typical),
which makes it unsuitable for attributing energy to short layers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorUnavailable
from synergy.sensors._sysfs import display_path, read_int, select_rails, try_read_text
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind

__all__ = ["AmdGpuRail", "AmdGpuSensor", "find_amdgpu_rails"]

_CARD_RE = re.compile(r"^card(\d+)$")


@dataclass(frozen=True)
class AmdGpuRail:
    """One AMD GPU's power file.

    Attributes:
        rail: ``card<N>``.
        path: ``power1_input`` when present, else ``power1_average``.
        instant: whether ``path`` is the instantaneous file.
    """

    rail: str
    path: Path
    instant: bool


def find_amdgpu_rails(root: Path = Path("/")) -> list[AmdGpuRail]:
    """One rail per ``amdgpu`` card under ``root`` that has a power file, by card number."""
    rails: list[AmdGpuRail] = []
    cards = [p for p in (root / "sys/class/drm").glob("card*") if _CARD_RE.match(p.name)]
    for card in sorted(cards, key=lambda p: int(p.name[4:])):
        for hwmon in sorted((card / "device/hwmon").glob("hwmon*")):
            if try_read_text(hwmon / "name") != "amdgpu":
                continue
            if (hwmon / "power1_input").exists():
                rails.append(AmdGpuRail(card.name, hwmon / "power1_input", True))
            elif (hwmon / "power1_average").exists():
                rails.append(AmdGpuRail(card.name, hwmon / "power1_average", False))
            break
    return rails


class AmdGpuSensor(Sensor):
    """AMD GPU power in watts, one rail per card."""

    name = "amdgpu"
    kind = SensorKind.POWER

    def __init__(
        self, root: Path = Path("/"), rails: Sequence[str] | None = None, average_window_s: float = 1.0
    ) -> None:
        """Find the cards under ``root``.

        Args:
            root: the directory that replaces ``/``.
            rails: cards to read (``card0``, ...; default: all).
            average_window_s: the window assumed for ``power1_average``, seconds.

        Raises:
            SensorUnavailable: no amdgpu hwmon with a power file, or an unknown card requested.
        """
        self.root = root
        found = find_amdgpu_rails(root)
        if not found:
            raise SensorUnavailable(
                "no amdgpu hwmon with power1_input or power1_average under "
                f"{display_path(root / 'sys/class/drm', root)}/card*/device/hwmon"
            )
        found = select_rails(found, rails, "AMD GPU(s)")
        self.gpus = tuple(found)
        self.rails = tuple(rail.rail for rail in found)
        self.total_rails = self.rails
        if all(rail.instant for rail in found):
            self.filter_model = FilterModel("instant", 0.0)
            self.update_period_s = None
        else:
            self.filter_model = FilterModel("box", average_window_s)
            self.update_period_s = None

    def read(self) -> Reading:
        """Read every card's power file; watts."""
        t0 = now_ns()
        values = tuple(read_int(rail.path, self.root) / 1e6 for rail in self.gpus)
        t1 = now_ns()
        return Reading(t_ns=(t0 + t1) // 2, values=values)

    def details(self) -> dict[str, Any]:
        """The file read per card."""
        return {"files": {rail.rail: display_path(rail.path, self.root) for rail in self.gpus}}
