"""CPU frequency scaling: per-core frequency channel, cpufreq policies, turbo/boost and SMT state.

Layout read (``root`` is ``/`` on a real machine)::

    root/sys/devices/system/cpu/
        online                             "0-7"
        cpu<N>/cpufreq -> ../cpufreq/policy<P>
        cpufreq/policy<P>/
            related_cpus                   "0 1 2 3"
            scaling_driver                 intel_pstate | acpi-cpufreq | amd-pstate | tegra194 | …
            scaling_governor               performance | powersave | schedutil | ondemand | userspace | …
            scaling_available_governors
            scaling_cur_freq               kHz (the kernel's view; on intel_pstate an APERF/MPERF estimate)
            cpuinfo_cur_freq               kHz (read from hardware; usually root-only, mode 0400)
            scaling_min_freq / scaling_max_freq / cpuinfo_min_freq / cpuinfo_max_freq     kHz
        cpufreq/boost                      1 = boost on (acpi-cpufreq, amd-pstate)
        intel_pstate/no_turbo              1 = turbo off
        smt/control, smt/active            on | off | forceoff | notsupported | notimplemented; 0/1
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synergy.context.base import ChannelNote, FileChannel, probe_file, read_text
from synergy.context.parsers import parse_cpu_list, parse_khz
from synergy.errors import ChannelReadError

__all__ = [
    "FIXED_GOVERNORS",
    "BoostState",
    "CpuFreqPolicy",
    "SmtState",
    "cpu_dir",
    "discover_cpu_freq",
    "online_cpus",
    "read_boost",
    "read_policies",
    "read_smt",
]

#: Governors that hold the frequency where it is put: the frequency does not follow the load.
FIXED_GOVERNORS = frozenset({"performance", "userspace"})


def cpu_dir(root: Path) -> Path:
    """``root/sys/devices/system/cpu``."""
    return root / "sys" / "devices" / "system" / "cpu"


def _index(path: Path, prefix: str) -> int:
    match = re.fullmatch(rf"{prefix}(\d+)", path.name)
    return int(match.group(1)) if match else -1


def _optional(path: Path) -> str | None:
    try:
        return read_text(path).strip()
    except ChannelReadError:
        return None


def _optional_khz(path: Path) -> float | None:
    text = _optional(path)
    if text is None:
        return None
    try:
        return parse_khz(text)
    except ChannelReadError:
        return None


def online_cpus(root: Path) -> tuple[int, ...]:
    """The online CPUs (``sys/devices/system/cpu/online``), or every ``cpuN`` folder when that file is absent."""
    text = _optional(cpu_dir(root) / "online")
    if text:
        try:
            return parse_cpu_list(text)
        except ChannelReadError:
            pass
    return tuple(sorted(i for i in (_index(p, "cpu") for p in cpu_dir(root).glob("cpu[0-9]*")) if i >= 0))


@dataclass(frozen=True)
class CpuFreqPolicy:
    """One cpufreq policy (a group of CPUs sharing a clock). Frequencies in Hz, None when not exposed."""

    name: str
    cpus: tuple[int, ...]
    driver: str | None
    governor: str | None
    available_governors: tuple[str, ...]
    min_hz: float | None
    max_hz: float | None
    hw_min_hz: float | None
    hw_max_hz: float | None
    cur_hz: float | None

    @property
    def fixed(self) -> bool:
        """True when the governor holds the frequency (``performance``/``userspace``) or min equals max."""
        if self.governor in FIXED_GOVERNORS:
            return True
        return self.min_hz is not None and self.min_hz == self.max_hz

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["cpus"] = list(self.cpus)
        data["available_governors"] = list(self.available_governors)
        data["fixed"] = self.fixed
        return data


def _policy_dirs(root: Path) -> list[Path]:
    policies = sorted(
        (p for p in (cpu_dir(root) / "cpufreq").glob("policy[0-9]*") if p.is_dir()), key=lambda p: _index(p, "policy")
    )
    if policies:
        return policies
    # Kernels before 4.3 (and some vendor kernels) only have per-CPU folders.
    return sorted(
        (p / "cpufreq" for p in cpu_dir(root).glob("cpu[0-9]*") if (p / "cpufreq").is_dir()),
        key=lambda p: _index(p.parent, "cpu"),
    )


def read_policies(root: Path = Path("/")) -> list[CpuFreqPolicy]:
    """Every cpufreq policy under ``root`` (empty when the kernel exposes no frequency scaling)."""
    policies = []
    seen: set[Path] = set()
    for folder in _policy_dirs(root):
        resolved = folder.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        cpus_text = _optional(folder / "related_cpus") or _optional(folder / "affected_cpus")
        try:
            cpus = parse_cpu_list(cpus_text) if cpus_text else ()
        except ChannelReadError:
            cpus = ()
        if not cpus and folder.name == "cpufreq":
            cpus = (_index(folder.parent, "cpu"),)
        name = folder.name if folder.name != "cpufreq" else folder.parent.name
        governors = _optional(folder / "scaling_available_governors")
        policies.append(
            CpuFreqPolicy(
                name=name,
                cpus=cpus,
                driver=_optional(folder / "scaling_driver"),
                governor=_optional(folder / "scaling_governor"),
                available_governors=tuple(governors.split()) if governors else (),
                min_hz=_optional_khz(folder / "scaling_min_freq"),
                max_hz=_optional_khz(folder / "scaling_max_freq"),
                hw_min_hz=_optional_khz(folder / "cpuinfo_min_freq"),
                hw_max_hz=_optional_khz(folder / "cpuinfo_max_freq"),
                cur_hz=_optional_khz(folder / "scaling_cur_freq"),
            )
        )
    return policies


@dataclass(frozen=True)
class BoostState:
    """Turbo/boost: ``enabled`` (None when unknown), the file it was read from, and the command that disables it."""

    enabled: bool | None
    path: str | None
    disable_command: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def read_boost(root: Path = Path("/")) -> BoostState:
    """Turbo/boost state from ``intel_pstate/no_turbo`` or ``cpufreq/boost`` (unknown when neither exists)."""
    no_turbo = cpu_dir(root) / "intel_pstate" / "no_turbo"
    text = _optional(no_turbo)
    if text in {"0", "1"}:
        return BoostState(
            enabled=text == "0",
            path=str(no_turbo),
            disable_command="echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo",
        )
    boost = cpu_dir(root) / "cpufreq" / "boost"
    text = _optional(boost)
    if text in {"0", "1"}:
        return BoostState(
            enabled=text == "1",
            path=str(boost),
            disable_command="echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost",
        )
    return BoostState(enabled=None, path=None, disable_command=None)


@dataclass(frozen=True)
class SmtState:
    """Simultaneous multithreading: ``control`` (on, off, forceoff, notsupported, …) and ``active``."""

    control: str | None
    active: bool | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def read_smt(root: Path = Path("/")) -> SmtState:
    """SMT state from ``sys/devices/system/cpu/smt`` (None fields when not exposed)."""
    control = _optional(cpu_dir(root) / "smt" / "control")
    active = _optional(cpu_dir(root) / "smt" / "active")
    return SmtState(control=control, active=None if active not in {"0", "1"} else active == "1")


def discover_cpu_freq(root: Path = Path("/")) -> tuple[FileChannel | None, list[ChannelNote]]:
    """The per-core frequency channel (rails ``cpu<N>_freq_hz``), or None and a note saying why not.

    Each online core's ``cpufreq/scaling_cur_freq`` is used; ``cpuinfo_cur_freq`` replaces it where the
    former is absent or unreadable.
    """
    notes: list[ChannelNote] = []
    files: list[tuple[str, Path]] = []
    base = cpu_dir(root)
    for cpu in online_cpus(root):
        folder = base / f"cpu{cpu}" / "cpufreq"
        if not folder.is_dir():
            continue
        chosen = None
        reasons = []
        for name in ("scaling_cur_freq", "cpuinfo_cur_freq"):
            probe = probe_file(folder / name)
            if probe.ok:
                chosen = folder / name
                break
            reasons.append(probe.reason)
        if chosen is None:
            notes.append(ChannelNote("cpu_freq", f"cpu{cpu}: " + "; ".join(reasons), str(folder)))
            continue
        files.append((f"cpu{cpu}_freq_hz", chosen))
    if not files:
        if not notes:
            notes.append(
                ChannelNote(
                    "cpu_freq",
                    "no cpufreq folder under sys/devices/system/cpu/cpu*/ (the kernel exposes no frequency "
                    "scaling here: common in containers and virtual machines)",
                    str(base),
                )
            )
        return None, notes
    return FileChannel("cpu_freq", files, parse_khz), notes
