"""Find every context channel a machine offers; each is optional and each absence leaves one note."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from synergy.context.base import Channel, ChannelNote, ChannelSet
from synergy.context.cpufreq import discover_cpu_freq
from synergy.context.cpuload import discover_cpu_util
from synergy.context.devfreq import discover_emc_freq, discover_gpu_freq
from synergy.context.nvml import discover_nvml
from synergy.context.rpi import discover_rpi
from synergy.context.thermal import discover_thermal

__all__ = ["CHANNEL_NAMES", "discover_channels"]

#: Every channel name, in discovery order.
CHANNEL_NAMES: tuple[str, ...] = ("cpu_freq", "gpu_freq", "emc_freq", "thermal", "cpu_util", "rpi", "nvml")


def discover_channels(
    root: Path = Path("/"),
    *,
    nvml: Any | None = None,
    use_nvml: bool = True,
    pid: int | None = None,
    only: Collection[str] | None = None,
) -> ChannelSet:
    """Every context channel under ``root``, with one note per channel or file skipped.

    Args:
        root: filesystem root (``/``; a fake tree in tests; ``--sysfs-root`` on the command line).
        nvml: the NVML module to use (``pynvml`` when None and ``use_nvml``).
        use_nvml: whether to try NVML at all (off for fake trees without a stand-in module).
        pid: the measured process for ``self_cpu_util`` (default: this process).
        only: channel names to look for (default: all of :data:`CHANNEL_NAMES`).

    Returns:
        The channels found and the notes; never raises for a missing or unreadable channel.
    """
    wanted = set(CHANNEL_NAMES if only is None else only)
    unknown = wanted - set(CHANNEL_NAMES)
    if unknown:
        raise ValueError(f"unknown context channel(s) {sorted(unknown)}; known: {', '.join(CHANNEL_NAMES)}")
    finders: dict[str, Callable[[], tuple[Channel | None, list[ChannelNote]]]] = {
        "cpu_freq": lambda: discover_cpu_freq(root),
        "gpu_freq": lambda: discover_gpu_freq(root),
        "emc_freq": lambda: discover_emc_freq(root),
        "thermal": lambda: discover_thermal(root),
        "cpu_util": lambda: discover_cpu_util(root, pid),
        "rpi": lambda: discover_rpi(root),
        "nvml": lambda: discover_nvml(nvml),
    }
    channels: list[Channel] = []
    notes: list[ChannelNote] = []
    for name in CHANNEL_NAMES:
        if name not in wanted:
            continue
        if name == "nvml" and not use_nvml and nvml is None:
            notes.append(ChannelNote("nvml", "not probed (NVML is only used on the real root)"))
            continue
        channel, found_notes = finders[name]()
        notes.extend(found_notes)
        if channel is not None:
            channels.append(channel)
    return ChannelSet(channels=tuple(channels), notes=tuple(notes))
