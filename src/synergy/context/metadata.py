"""System metadata recorded with every measurement: CPU, governor, frequencies, versions, kernel.

Read from ``/proc`` and ``/sys`` under an injectable root; anything unreadable is recorded as ``None``
rather than failing the measurement.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from synergy.sensors._sysfs import PROC_MAX_BYTES, try_read_text

__all__ = ["cpu_frequencies_hz", "system_metadata"]

_PACKAGES = ("synergy-nn", "torch", "torchvision", "onnx", "onnxruntime", "numpy", "scipy", "pandas")


def _read(path: Path) -> str | None:
    return try_read_text(path, PROC_MAX_BYTES)


def _cpu_model(root: Path) -> str | None:
    text = _read(root / "proc/cpuinfo")
    if text:
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                return value.strip()
    return platform.processor() or None


def cpu_frequencies_hz(root: Path = Path("/")) -> dict[str, float | None]:
    """Current frequency of each CPU, Hz (``None`` where cpufreq is absent)."""
    out: dict[str, float | None] = {}
    cpus = sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*"), key=lambda p: int(p.name[3:]))
    for cpu in cpus:
        khz = _read(cpu / "cpufreq/scaling_cur_freq")
        out[cpu.name] = float(khz) * 1e3 if khz and khz.isdigit() else None
    return out


def system_metadata(root: Path = Path("/")) -> dict[str, Any]:
    """CPU model and count, governor, frequency limits and current frequencies, kernel, Python, versions."""
    cpufreq = root / "sys/devices/system/cpu/cpu0/cpufreq"

    def khz(name: str) -> float | None:
        text = _read(cpufreq / name)
        return float(text) * 1e3 if text and text.isdigit() else None

    versions: dict[str, str | None] = {}
    for package in _PACKAGES:
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_model": _cpu_model(root),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "governor": _read(cpufreq / "scaling_governor"),
        "frequency_min_hz": khz("scaling_min_freq"),
        "frequency_max_hz": khz("scaling_max_freq"),
        "frequencies_hz": cpu_frequencies_hz(root),
        "kernel": platform.release(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "versions": versions,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
