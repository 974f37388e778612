"""Device frequency scaling (devfreq): the Jetson GPU clock and the EMC (memory) clock.

GPU layouts found (frequencies in Hz)::

    root/sys/class/devfreq/<name> -> ../../devices/…/<name>        (the class symlinks; preferred)
    root/sys/devices/platform/bus@0/17000000.gpu/devfreq/17000000.gpu/      Orin, L4T 36 (JetPack 6)
    root/sys/devices/17000000.ga10b/devfreq/17000000.ga10b/                 Orin, L4T 35 (JetPack 5)
    root/sys/devices/17000000.gv11b/devfreq/17000000.gv11b/                 Xavier
    root/sys/devices/17000000.gp10b/devfreq/17000000.gp10b/                 TX2
    root/sys/devices/57000000.gpu/devfreq/57000000.gpu/                     Nano, TX1
        cur_freq  min_freq  max_freq  available_frequencies  governor  available_governors

EMC (external memory controller) clock, first found wins::

    a devfreq device whose name holds "emc" (e.g. …/31b0000.emc/devfreq/31b0000.emc/cur_freq, Hz)
    root/sys/kernel/debug/bpmp/debug/clk/emc/rate         Hz (Xavier/Orin; debugfs, root only)
    root/sys/kernel/debug/clk/emc/clk_rate                Hz (TX1/TX2/Nano; debugfs, root only)

and, where readable, ``root/sys/kernel/actmon_avg_activity/mc_all`` (average memory-controller activity in
kHz, as tegrastats reads it) gives ``emc_util = mc_all × 1000 / emc_freq_hz`` (clipped to 0..1).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.context.base import Channel, ChannelNote, FileChannel, probe_file, read_text
from synergy.context.parsers import parse_frequency_list, parse_hz, parse_int
from synergy.errors import ChannelReadError
from synergy.sensors.base import Reading

__all__ = [
    "DevfreqDevice",
    "EmcChannel",
    "devfreq_kind",
    "discover_emc_freq",
    "discover_gpu_freq",
    "find_devfreq_dirs",
    "read_devfreq_devices",
]

_GPU_NAME = re.compile(r"(^|[.\-_])(gpu|gp10b|gv11b|ga10b|gb10b|gk20a|gm20b)($|[.\-_])")
_EMC_NAME = re.compile(r"(^|[.\-_])emc($|[.\-_])")
#: Globs (relative to root) where devfreq devices live when ``sys/class/devfreq`` is absent.
_DEVFREQ_GLOBS = (
    "sys/devices/*/devfreq/*",
    "sys/devices/platform/*/devfreq/*",
    "sys/devices/platform/bus@0/*/devfreq/*",
    "sys/devices/gpu.0/devfreq/*",
)
#: Locked devfreq governors: the frequency does not follow the load.
_FIXED_DEVFREQ_GOVERNORS = frozenset({"performance", "userspace"})


def devfreq_kind(name: str) -> str:
    """``gpu``, ``emc`` or ``other`` from a devfreq device name (``17000000.gpu``, ``31b0000.emc``, ...)."""
    lowered = name.lower()
    if _GPU_NAME.search(lowered):
        return "gpu"
    if _EMC_NAME.search(lowered):
        return "emc"
    return "other"


def find_devfreq_dirs(root: Path = Path("/")) -> list[Path]:
    """Every devfreq device folder under ``root`` (class symlinks first, then the known device globs), deduplicated."""
    candidates: list[Path] = []
    class_dir = root / "sys" / "class" / "devfreq"
    if class_dir.is_dir():
        candidates.extend(sorted(class_dir.iterdir()))
    for pattern in _DEVFREQ_GLOBS:
        candidates.extend(sorted(root.glob(pattern)))
    found: list[Path] = []
    seen: set[Path] = set()
    for candidate in candidates:
        if not (candidate / "cur_freq").exists():
            continue
        resolved = candidate.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        found.append(candidate)
    return found


def _optional(path: Path) -> str | None:
    try:
        return read_text(path).strip()
    except ChannelReadError:
        return None


def _optional_hz(path: Path) -> float | None:
    text = _optional(path)
    if text is None:
        return None
    try:
        return parse_hz(text)
    except ChannelReadError:
        return None


@dataclass(frozen=True)
class DevfreqDevice:
    """One devfreq device: its kind (gpu, emc, other), governor and frequencies in Hz (None when not exposed)."""

    name: str
    kind: str
    path: str
    governor: str | None
    available_governors: tuple[str, ...]
    cur_hz: float | None
    min_hz: float | None
    max_hz: float | None
    available_hz: tuple[float, ...]

    @property
    def locked(self) -> bool:
        """True when the clock cannot follow the load: min equals max, or a fixed governor."""
        if self.governor in _FIXED_DEVFREQ_GOVERNORS:
            return True
        return self.min_hz is not None and self.min_hz == self.max_hz

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["available_governors"] = list(self.available_governors)
        data["available_hz"] = list(self.available_hz)
        data["locked"] = self.locked
        return data


def read_devfreq_devices(root: Path = Path("/")) -> list[DevfreqDevice]:
    """Every devfreq device with its governor and frequencies."""
    devices = []
    for folder in find_devfreq_dirs(root):
        available_text = _optional(folder / "available_frequencies")
        try:
            available = parse_frequency_list(available_text) if available_text else ()
        except ChannelReadError:
            available = ()
        governors = _optional(folder / "available_governors")
        devices.append(
            DevfreqDevice(
                name=folder.name,
                kind=devfreq_kind(folder.name),
                path=str(folder),
                governor=_optional(folder / "governor"),
                available_governors=tuple(governors.split()) if governors else (),
                cur_hz=_optional_hz(folder / "cur_freq"),
                min_hz=_optional_hz(folder / "min_freq"),
                max_hz=_optional_hz(folder / "max_freq"),
                available_hz=available,
            )
        )
    return devices


def discover_gpu_freq(root: Path = Path("/")) -> tuple[FileChannel | None, list[ChannelNote]]:
    """The integrated-GPU devfreq channel (rail ``gpu_freq_hz``, or ``gpu<i>_freq_hz`` for several)."""
    notes: list[ChannelNote] = []
    folders = [f for f in find_devfreq_dirs(root) if devfreq_kind(f.name) == "gpu"]
    files: list[tuple[str, Path]] = []
    for folder in folders:
        probe = probe_file(folder / "cur_freq")
        if probe.ok:
            files.append((folder.name, folder / "cur_freq"))
        else:
            notes.append(ChannelNote("gpu_freq", probe.reason, str(folder / "cur_freq")))
    if not files:
        if not notes:
            notes.append(
                ChannelNote(
                    "gpu_freq",
                    "no GPU devfreq device (sys/class/devfreq/*gpu*, *.gv11b, *.ga10b, …): not a Jetson, or the "
                    "GPU driver is not loaded",
                    str(root / "sys" / "class" / "devfreq"),
                )
            )
        return None, notes
    if len(files) == 1:
        rails = [("gpu_freq_hz", files[0][1])]
    else:
        rails = [(f"gpu{i}_freq_hz", path) for i, (_, path) in enumerate(files)]
    return FileChannel("gpu_freq", rails, parse_hz), notes


class EmcChannel(Channel):
    """The EMC (memory) clock, rail ``emc_freq_hz``, plus ``emc_util`` when ``mc_all`` is readable.

    Args:
        freq_path: a file holding the EMC frequency in Hz.
        activity_path: ``actmon_avg_activity/mc_all`` (kHz of activity), or None.
    """

    name = "emc_freq"

    def __init__(self, freq_path: Path, activity_path: Path | None = None) -> None:
        self._freq_path = freq_path
        self._activity_path = activity_path
        self.rails = ("emc_freq_hz",) if activity_path is None else ("emc_freq_hz", "emc_util")

    def read(self) -> Reading:
        """Read the clock (and the activity); a garbage or unreadable value is a NaN gap."""
        start = now_ns()
        try:
            freq_hz = parse_hz(read_text(self._freq_path), what="emc frequency")
        except ChannelReadError as exc:
            freq_error: ChannelReadError | None = exc
            freq_hz = math.nan
        else:
            freq_error = None
        values = [freq_hz]
        if self._activity_path is not None:
            util = math.nan
            try:
                activity_khz = parse_int(read_text(self._activity_path), what="mc_all")
                if freq_hz > 0 and activity_khz >= 0:
                    util = min(1.0, activity_khz * 1e3 / freq_hz)
            except ChannelReadError:
                pass
            values.append(util)
        end = now_ns()
        if freq_error is not None and all(math.isnan(v) for v in values):
            raise ChannelReadError(f"emc_freq: every rail is a gap ({freq_error})") from freq_error
        return Reading(t_ns=(start + end) // 2, values=tuple(values))

    def sources(self) -> dict[str, str]:
        """Rail → file path."""
        result = {"emc_freq_hz": str(self._freq_path)}
        if self._activity_path is not None:
            result["emc_util"] = f"{self._activity_path} × 1000 / emc_freq_hz"
        return result


def discover_emc_freq(root: Path = Path("/")) -> tuple[EmcChannel | None, list[ChannelNote]]:
    """The EMC clock channel from devfreq, bpmp debugfs or the legacy clock debugfs, whichever is readable."""
    notes: list[ChannelNote] = []
    candidates = [f / "cur_freq" for f in find_devfreq_dirs(root) if devfreq_kind(f.name) == "emc"]
    candidates += [
        root / "sys" / "kernel" / "debug" / "bpmp" / "debug" / "clk" / "emc" / "rate",
        root / "sys" / "kernel" / "debug" / "clk" / "emc" / "clk_rate",
    ]
    chosen = None
    for path in candidates:
        probe = probe_file(path)
        if probe.ok:
            chosen = path
            break
        if probe.status == "denied":
            notes.append(ChannelNote("emc_freq", probe.reason + " (debugfs needs root)", str(path)))
    if chosen is None:
        if not notes:
            notes.append(
                ChannelNote(
                    "emc_freq",
                    "no EMC clock (an *emc devfreq device, sys/kernel/debug/bpmp/debug/clk/emc/rate or "
                    "sys/kernel/debug/clk/emc/clk_rate): not a Jetson, or debugfs is not mounted",
                    None,
                )
            )
        return None, notes
    activity = root / "sys" / "kernel" / "actmon_avg_activity" / "mc_all"
    return EmcChannel(chosen, activity if probe_file(activity).ok else None), []
