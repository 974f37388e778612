"""A snapshot of the machine state that matters for a measurement, taken before (and after) it.

:func:`collect_context` reads, never writes: CPU model, online CPUs, SMT, turbo/boost, cpufreq policies,
devfreq devices (Jetson GPU and EMC), thermal zones with trip points, the Jetson power mode, the Raspberry
Pi firmware's ARM clock and throttling state, load averages,
the processes that used the CPU recently, and NVIDIA GPUs through NVML. Every part is optional; what could
not be read is listed in :attr:`SystemContext.notes`. ``to_dict()`` is what a result's metadata records.
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergy.clock import now_ns
from synergy.context.base import ChannelNote, read_text
from synergy.context.cpufreq import (
    BoostState,
    CpuFreqPolicy,
    SmtState,
    online_cpus,
    read_boost,
    read_policies,
    read_smt,
)
from synergy.context.cpuload import ProcessLoad, read_loadavg, top_processes
from synergy.context.devfreq import DevfreqDevice, discover_emc_freq, read_devfreq_devices
from synergy.context.nvml import read_nvml_gpus
from synergy.context.nvpmodel import PowerMode, read_power_mode
from synergy.context.rpi import read_rpi_state
from synergy.context.thermal import ThermalZone, read_thermal_zones
from synergy.errors import ChannelReadError, SensorUnavailable
from synergy.sensors._sysfs import device_tree_model

__all__ = ["CONTEXT_FORMAT_VERSION", "SystemContext", "collect_context"]

#: Version of :meth:`SystemContext.to_dict`'s layout.
CONTEXT_FORMAT_VERSION = 1


@dataclass
class SystemContext:
    """The machine state at one moment (see the module docstring). Frequencies Hz, temperatures °C."""

    root: str
    t_ns: int
    kernel: str | None
    cpu_model: str | None
    board: str | None
    l4t: str | None
    cpus_online: tuple[int, ...]
    smt: SmtState
    boost: BoostState
    policies: list[CpuFreqPolicy]
    devfreq: list[DevfreqDevice]
    thermal_zones: list[ThermalZone]
    power_mode: PowerMode | None
    loadavg: tuple[float, float, float] | None
    top_processes: list[ProcessLoad]
    top_interval_s: float
    nvml_gpus: list[dict[str, Any]]
    emc: dict[str, Any] | None = None
    rpi: dict[str, Any] | None = None
    notes: list[ChannelNote] = field(default_factory=list)

    @property
    def governors(self) -> dict[str, str | None]:
        """Policy name → governor."""
        return {policy.name: policy.governor for policy in self.policies}

    def summary_line(self) -> str:
        """One line for a measurement's printed summary: governors, turbo, power mode, device clocks.

        Example: ``CPU governor schedutil (3 policies, not fixed); Jetson power mode 0 MAXN; GPU 17000000.gpu
        nvhost_podgov, not locked``.
        """
        parts = []
        if self.policies:
            governors = sorted({str(p.governor) for p in self.policies})
            fixed = "fixed" if all(p.fixed for p in self.policies) else "not fixed"
            parts.append(f"CPU governor {'/'.join(governors)} ({len(self.policies)} policies, {fixed})")
        else:
            parts.append("CPU governor unknown (no cpufreq)")
        if self.boost.enabled is not None:
            parts.append(f"turbo {'on' if self.boost.enabled else 'off'}")
        if self.power_mode is not None:
            parts.append(f"Jetson power mode {self.power_mode.id} {self.power_mode.name}")
        for device in self.devfreq:
            if device.kind in {"gpu", "emc"}:
                state = "locked" if device.locked else "not locked"
                parts.append(f"{device.kind.upper()} {device.name} {device.governor}, {state}")
        if self.rpi is not None and self.rpi.get("arm_freq_hz"):
            parts.append(f"Raspberry Pi ARM {self.rpi['arm_freq_hz'] / 1e9:.3g} GHz")
        for gpu in self.nvml_gpus:
            sm = gpu.get("sm_clock_hz")
            parts.append(f"GPU {gpu['index']} SM {sm / 1e9:.3g} GHz" if sm else f"GPU {gpu['index']}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with a format version."""
        return {
            "format_version": CONTEXT_FORMAT_VERSION,
            "root": self.root,
            "t_ns": self.t_ns,
            "kernel": self.kernel,
            "cpu_model": self.cpu_model,
            "board": self.board,
            "l4t": self.l4t,
            "cpus_online": list(self.cpus_online),
            "smt": self.smt.to_dict(),
            "boost": self.boost.to_dict(),
            "cpufreq_policies": [p.to_dict() for p in self.policies],
            "devfreq": [d.to_dict() for d in self.devfreq],
            "thermal_zones": [z.to_dict() for z in self.thermal_zones],
            "power_mode": None if self.power_mode is None else self.power_mode.to_dict(),
            "loadavg": None if self.loadavg is None else list(self.loadavg),
            "top_processes": [p.to_dict() for p in self.top_processes],
            "top_interval_s": self.top_interval_s,
            "nvml_gpus": self.nvml_gpus,
            "emc": self.emc,
            "rpi": self.rpi,
            "notes": [n.to_dict() for n in self.notes],
        }


def _first_line(path: Path) -> str | None:
    try:
        text = read_text(path)
    except ChannelReadError:
        return None
    line = text.replace("\x00", "").strip().splitlines()
    return line[0].strip() if line else None


#: (implementer, part) of /proc/cpuinfo → core name, for the Jetson CPUs.
_ARM_PARTS = {
    ("0x41", "0xd07"): "Cortex-A57",
    ("0x41", "0xd42"): "Cortex-A78AE",
    ("0x41", "0xd4f"): "Neoverse-V2",
    ("0x4e", "0x004"): "NVIDIA Carmel",
    ("0x4e", "0x003"): "NVIDIA Denver 2",
}


def _cpu_model(root: Path) -> str | None:
    try:
        text = read_text(root / "proc" / "cpuinfo")
    except ChannelReadError:
        return None
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key and value.strip():
                return value.strip()
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    if fields.get("CPU implementer") and fields.get("CPU part"):
        part = fields["CPU part"]
        known = _ARM_PARTS.get((fields["CPU implementer"], part))
        return f"Arm {known}" if known else f"Arm implementer {fields['CPU implementer']} part {part}"
    return None


def _read_emc(root: Path) -> dict[str, Any] | None:
    channel, _ = discover_emc_freq(root)
    if channel is None:
        return None
    try:
        reading = channel.read()
    except ChannelReadError:
        return None
    values = {rail: (None if math.isnan(v) else v) for rail, v in zip(channel.rails, reading.values, strict=True)}
    return {**values, "source": channel.sources()["emc_freq_hz"]}


def collect_context(
    root: Path = Path("/"),
    *,
    nvml: Any | None = None,
    use_nvml: bool = True,
    top_interval_s: float = 0.5,
    exclude_pids: frozenset[int] | None = None,
) -> SystemContext:
    """Read the machine state under ``root``; never raises for a missing part (it becomes a note).

    Args:
        root: filesystem root.
        nvml: the NVML module (``pynvml`` when None and ``use_nvml``).
        use_nvml: whether to query NVML.
        top_interval_s: how long to watch other processes' CPU use, seconds (0 skips it).
        exclude_pids: processes left out of the top list (default: this process).
    """
    notes: list[ChannelNote] = []
    t_ns = now_ns()
    kernel = _first_line(root / "proc" / "sys" / "kernel" / "osrelease")
    if kernel is None and root == Path("/"):
        kernel = platform.release()
    policies = read_policies(root)
    if not policies:
        notes.append(ChannelNote("cpu_freq", "no cpufreq policy: the kernel exposes no CPU frequency scaling here"))
    devfreq = read_devfreq_devices(root)
    zones = read_thermal_zones(root)
    if not zones:
        notes.append(ChannelNote("thermal", "no thermal zone under sys/class/thermal"))
    power_mode, reason = read_power_mode(root)
    if reason is not None:
        notes.append(ChannelNote("power_mode", reason))
    top: list[ProcessLoad] = []
    if top_interval_s > 0:
        exclude = frozenset({os.getpid()}) if exclude_pids is None else exclude_pids
        top = top_processes(root, interval_s=top_interval_s, exclude=exclude)
    gpus: list[dict[str, Any]] = []
    if use_nvml or nvml is not None:
        try:
            gpus = read_nvml_gpus(nvml)
        except SensorUnavailable as exc:
            notes.append(ChannelNote("nvml", str(exc)))
    l4t = _first_line(root / "etc" / "nv_tegra_release")
    emc = _read_emc(root)
    rpi, rpi_reason = read_rpi_state(root)
    if rpi is None and rpi_reason and "Raspberry Pi" in str(device_tree_model(root)):
        notes.append(ChannelNote("rpi", rpi_reason))
    return SystemContext(
        root=str(root),
        t_ns=t_ns,
        kernel=kernel,
        cpu_model=_cpu_model(root),
        board=device_tree_model(root),
        l4t=l4t.lstrip("# ") if l4t else None,
        cpus_online=online_cpus(root),
        smt=read_smt(root),
        boost=read_boost(root),
        policies=policies,
        devfreq=devfreq,
        thermal_zones=zones,
        power_mode=power_mode,
        loadavg=read_loadavg(root),
        top_processes=top,
        top_interval_s=top_interval_s,
        nvml_gpus=gpus,
        emc=emc,
        rpi=rpi,
        notes=notes,
    )
