"""Thermal zones: temperatures (rails ``<type>_temp_c``) and their trip points.

Layout read::

    root/sys/class/thermal/thermal_zone<N>/
        type                   cpu-thermal, gpu-thermal, tj-thermal, x86_pkg_temp, acpitz, …
        temp                   m°C (-256000 on Tegra zones whose sensor is powered off: a gap)
        trip_point_<K>_temp    m°C
        trip_point_<K>_type    active | passive | hot | critical

Temperatures are in degrees Celsius, the unit trip points and datasheets use (``_temp_c``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.context.base import ChannelNote, FileChannel, probe_file, read_text, sanitize_rail
from synergy.context.parsers import TripPoint, parse_millicelsius, parse_trip_points
from synergy.errors import ChannelReadError

__all__ = ["ThermalZone", "discover_thermal", "read_thermal_zones", "thermal_dirs"]


def thermal_dirs(root: Path = Path("/")) -> list[Path]:
    """``root/sys/class/thermal/thermal_zone<N>`` folders, in zone order."""
    base = root / "sys" / "class" / "thermal"
    if not base.is_dir():
        return []

    def index(path: Path) -> int:
        match = re.fullmatch(r"thermal_zone(\d+)", path.name)
        return int(match.group(1)) if match else -1

    return sorted((p for p in base.glob("thermal_zone*") if index(p) >= 0), key=index)


@dataclass(frozen=True)
class ThermalZone:
    """One thermal zone: index, kernel type, rail name, current temperature (°C, None if a gap) and trips."""

    index: int
    type: str
    rail: str
    path: str
    temp_c: float | None
    trips: tuple[TripPoint, ...]

    @property
    def limit_c(self) -> float | None:
        """The lowest trip where the kernel throttles or shuts down (passive, hot, critical), °C."""
        limits = [trip.temp_c for trip in self.trips if trip.limits_performance]
        return min(limits) if limits else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "type": self.type,
            "rail": self.rail,
            "path": self.path,
            "temp_c": self.temp_c,
            "limit_c": self.limit_c,
            "trips": [{"index": t.index, "type": t.type, "temp_c": t.temp_c} for t in self.trips],
        }


def _zone_rails(folders: list[Path]) -> list[tuple[Path, str, str]]:
    """(folder, type, rail) for each zone; repeated types get the zone number appended."""
    typed = []
    for folder in folders:
        try:
            kind = read_text(folder / "type").strip() or folder.name
        except ChannelReadError:
            kind = folder.name
        typed.append((folder, kind))
    counts: dict[str, int] = {}
    for _, kind in typed:
        counts[sanitize_rail(kind)] = counts.get(sanitize_rail(kind), 0) + 1
    result = []
    for folder, kind in typed:
        stem = sanitize_rail(kind)
        if counts[stem] > 1:
            stem = f"{stem}_{folder.name.removeprefix('thermal_zone')}"
        result.append((folder, kind, f"{stem}_temp_c"))
    return result


def read_thermal_zones(root: Path = Path("/")) -> list[ThermalZone]:
    """Every thermal zone with its current temperature and trip points."""
    zones = []
    for folder, kind, rail in _zone_rails(thermal_dirs(root)):
        try:
            temp_c: float | None = parse_millicelsius(read_text(folder / "temp"))
        except ChannelReadError:
            temp_c = None
        files = {}
        for path in folder.glob("trip_point_*"):
            try:
                files[path.name] = read_text(path)
            except ChannelReadError:
                continue
        zones.append(
            ThermalZone(
                index=int(folder.name.removeprefix("thermal_zone")),
                type=kind,
                rail=rail,
                path=str(folder),
                temp_c=None if temp_c is None or math.isnan(temp_c) else temp_c,
                trips=parse_trip_points(files),
            )
        )
    return zones


def discover_thermal(root: Path = Path("/")) -> tuple[FileChannel | None, list[ChannelNote]]:
    """The thermal channel: one ``<type>_temp_c`` rail per readable zone, a note for each unreadable one."""
    notes: list[ChannelNote] = []
    files: list[tuple[str, Path]] = []
    for folder, _, rail in _zone_rails(thermal_dirs(root)):
        probe = probe_file(folder / "temp")
        if probe.ok:
            files.append((rail, folder / "temp"))
        else:
            notes.append(ChannelNote("thermal", probe.reason, str(folder / "temp")))
    if not files:
        if not notes:
            notes.append(
                ChannelNote(
                    "thermal",
                    "no thermal zone under sys/class/thermal (common in containers and virtual machines)",
                    str(root / "sys" / "class" / "thermal"),
                )
            )
        return None, notes
    return FileChannel("thermal", files, parse_millicelsius), notes
