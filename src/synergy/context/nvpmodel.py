"""The Jetson power mode (``nvpmodel``), read-only, from the two files ``nvpmodel`` itself keeps.

* ``root/etc/nvpmodel.conf`` (on L4T a symlink to ``/etc/nvpmodel/nvpmodel_<board>.conf``): the catalogue,
  ``< POWER_MODEL ID=N NAME=… >`` per mode and ``< PM_CONFIG DEFAULT=N >``.
* ``root/var/lib/nvpmodel/status``: the mode last set, as ``pmode:000N`` (written by ``nvpmodel -m``; absent
  until the first change, when the board runs the default mode).

No ``nvpmodel`` binary is run and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergy.context.base import read_text
from synergy.context.parsers import parse_nvpmodel_conf, parse_nvpmodel_status
from synergy.errors import ChannelReadError

__all__ = ["PowerMode", "read_power_mode"]


@dataclass(frozen=True)
class PowerMode:
    """The current Jetson power mode.

    Attributes:
        id: the mode id, or None when unknown.
        name: its name in the catalogue (``MAXN``, ``30W``, ``MAXN_SUPER``, …), or None.
        source: ``status`` (read from the status file) or ``default`` (no status file: the boot default).
        modes: every mode of the catalogue, id → name.
        conf_path: the catalogue read.
    """

    id: int | None
    name: str | None
    source: str
    modes: dict[int, str]
    conf_path: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (mode ids as strings, as JSON keys must be)."""
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "modes": {str(k): v for k, v in sorted(self.modes.items())},
            "conf_path": self.conf_path,
        }


def read_power_mode(root: Path = Path("/")) -> tuple[PowerMode | None, str | None]:
    """The power mode, or None and the reason it is unknown (not a Jetson, unreadable or garbage files)."""
    conf = root / "etc" / "nvpmodel.conf"
    status = root / "var" / "lib" / "nvpmodel" / "status"
    if not conf.exists() and not status.exists():
        return None, "no etc/nvpmodel.conf: not a Jetson (or nvpmodel is not installed)"
    try:
        catalogue = parse_nvpmodel_conf(read_text(conf))
    except ChannelReadError as exc:
        return None, str(exc)
    try:
        current: int | None = parse_nvpmodel_status(read_text(status))
        source = "status"
    except ChannelReadError:
        current = catalogue.default_id
        source = "default"
    name = catalogue.modes.get(current) if current is not None else None
    return PowerMode(id=current, name=name, source=source, modes=dict(catalogue.modes), conf_path=str(conf)), None
