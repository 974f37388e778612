"""NVIDIA GPU clocks, temperature and clock-event (throttle) reasons through NVML.

The NVML module is injected (``pynvml`` from ``nvidia-ml-py`` by default, loaded by the one loader,
:func:`synergy.sensors.nvml.load_nvml`), so tests pass a stub holding just the functions called here.
Rails per GPU ``i``: ``gpu<i>_sm_clock_hz``, ``gpu<i>_mem_clock_hz`` (NVML gives MHz; stored in Hz),
``gpu<i>_temp_c`` and ``gpu<i>_throttle_mask`` (the bit mask of ``nvmlDeviceGetCurrentClocksEventReasons``,
or of the older ``nvmlDeviceGetCurrentClocksThrottleReasons``). A rail whose first call fails (NOT_SUPPORTED
on Jetson, for instance) is dropped with a note.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from synergy.clock import now_ns
from synergy.context.base import Channel, ChannelNote
from synergy.errors import ChannelReadError, SensorUnavailable
from synergy.sensors.base import Reading
from synergy.sensors.nvml import load_nvml

__all__ = [
    "THROTTLE_BITS",
    "THROTTLING_MASK",
    "NvmlChannel",
    "discover_nvml",
    "load_nvml",
    "read_nvml_gpus",
    "throttle_names",
]

#: NVML clock-event (throttle) reason bits and their names (nvml.h ``nvmlClocksEventReason*``).
THROTTLE_BITS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
#: The reasons that mean the clocks were held below what the workload asked for.
THROTTLING_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80

_CLOCK_SM = 1
_CLOCK_MEM = 2
_TEMPERATURE_GPU = 0


def throttle_names(mask: int) -> list[str]:
    """Names of the bits set in an NVML clock-event reason mask (unknown bits as ``bit_0x…``)."""
    names = [name for bit, name in THROTTLE_BITS.items() if mask & bit]
    unknown = mask & ~sum(THROTTLE_BITS)
    bit = 1
    while unknown:
        if unknown & bit:
            names.append(f"bit_{bit:#x}")
            unknown &= ~bit
        bit <<= 1
    return names


def _reason_function(nvml: Any) -> Callable[[Any], int] | None:
    for name in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
        function = getattr(nvml, name, None)
        if function is not None:
            return function  # type: ignore[no-any-return]
    return None


class NvmlChannel(Channel):
    """SM and memory clocks, temperature and throttle mask of every NVIDIA GPU NVML sees.

    Build it with :func:`discover_nvml`, which initialises NVML and drops unsupported rails.

    Args:
        nvml: the NVML module (``pynvml`` or a stand-in with the same functions), already initialised.
        calls: (rail, zero-argument function returning the rail's value in its unit), in rail order.
    """

    name = "nvml"

    def __init__(self, nvml: Any, calls: list[tuple[str, Callable[[], float]]]) -> None:
        self._nvml = nvml
        self._calls = calls
        self.rails = tuple(rail for rail, _ in calls)
        self._closed = False

    def read(self) -> Reading:
        """Call every rail's function; an NVML error or a nonsense value is a NaN gap."""
        start = now_ns()
        values = []
        first_error: Exception | None = None
        for _, call in self._calls:
            try:
                value = float(call())
            except Exception as exc:
                first_error = first_error or exc
                value = math.nan
            values.append(value if math.isfinite(value) and value >= 0 else math.nan)
        end = now_ns()
        if all(math.isnan(v) for v in values):
            raise ChannelReadError(f"nvml: every rail is a gap ({first_error})") from first_error
        return Reading(t_ns=(start + end) // 2, values=tuple(values))

    def sources(self) -> dict[str, str]:
        """Rail → NVML call."""
        result = {}
        for rail in self.rails:
            if rail.endswith("_sm_clock_hz"):
                result[rail] = "nvmlDeviceGetClockInfo(NVML_CLOCK_SM) × 1e6"
            elif rail.endswith("_mem_clock_hz"):
                result[rail] = "nvmlDeviceGetClockInfo(NVML_CLOCK_MEM) × 1e6"
            elif rail.endswith("_temp_c"):
                result[rail] = "nvmlDeviceGetTemperature(NVML_TEMPERATURE_GPU)"
            else:
                result[rail] = "nvmlDeviceGetCurrentClocksEventReasons"
        return result

    def close(self) -> None:
        """Shut NVML down once."""
        if not self._closed:
            self._closed = True
            shutdown = getattr(self._nvml, "nvmlShutdown", None)
            if shutdown is not None:
                with contextlib.suppress(Exception):
                    shutdown()


def _init(nvml: Any | None) -> tuple[Any, int]:
    module = load_nvml(nvml)
    try:
        module.nvmlInit()
        count = int(module.nvmlDeviceGetCount())
    except Exception as exc:
        raise SensorUnavailable(f"NVML did not initialise ({exc}): no NVIDIA driver or GPU") from exc
    return module, count


def _bind(function: Callable[..., Any], *args: Any, scale: float = 1.0) -> Callable[[], float]:
    """A zero-argument call of an NVML function, its result times ``scale``."""

    def call() -> float:
        return float(function(*args)) * scale

    return call


def _missing(*args: Any) -> Any:
    raise NotImplementedError("not in this NVML version")


def discover_nvml(nvml: Any | None = None) -> tuple[NvmlChannel | None, list[ChannelNote]]:
    """The NVML channel over every GPU, or None and a note (not installed, no driver, no GPU, nothing supported)."""
    try:
        module, count = _init(nvml)
    except SensorUnavailable as exc:
        return None, [ChannelNote("nvml", str(exc))]
    notes: list[ChannelNote] = []
    calls: list[tuple[str, Callable[[], float]]] = []
    clock_sm = getattr(module, "NVML_CLOCK_SM", _CLOCK_SM)
    clock_mem = getattr(module, "NVML_CLOCK_MEM", _CLOCK_MEM)
    temperature_gpu = getattr(module, "NVML_TEMPERATURE_GPU", _TEMPERATURE_GPU)
    reasons = _reason_function(module)
    for index in range(count):
        try:
            handle = module.nvmlDeviceGetHandleByIndex(index)
        except Exception as exc:
            notes.append(ChannelNote("nvml", f"gpu{index}: no handle ({exc})"))
            continue
        candidates: list[tuple[str, Callable[[], float]]] = [
            (f"gpu{index}_sm_clock_hz", _bind(module.nvmlDeviceGetClockInfo, handle, clock_sm, scale=1e6)),
            (f"gpu{index}_mem_clock_hz", _bind(module.nvmlDeviceGetClockInfo, handle, clock_mem, scale=1e6)),
            (f"gpu{index}_temp_c", _bind(module.nvmlDeviceGetTemperature, handle, temperature_gpu)),
        ]
        if reasons is not None:
            candidates.append((f"gpu{index}_throttle_mask", _bind(reasons, handle)))
        for rail, call in candidates:
            try:
                float(call())
            except Exception as exc:
                notes.append(ChannelNote("nvml", f"{rail}: not supported ({exc})"))
                continue
            calls.append((rail, call))
    if not calls:
        notes.append(ChannelNote("nvml", f"{count} GPU(s), but no clock, temperature or reason is readable"))
        channel = NvmlChannel(module, [])
        channel.close()
        return None, notes
    return NvmlChannel(module, calls), notes


def read_nvml_gpus(nvml: Any | None = None) -> list[dict[str, Any]]:
    """A snapshot of every GPU: name, clocks (Hz), max clocks, temperature, throttle reasons. Empty without NVML.

    Raises:
        SensorUnavailable: NVML is not installed or does not initialise.
    """
    module, count = _init(nvml)
    gpus = []
    reasons = _reason_function(module)

    def attempt(function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except Exception:
            return None

    clock_sm = getattr(module, "NVML_CLOCK_SM", _CLOCK_SM)
    clock_mem = getattr(module, "NVML_CLOCK_MEM", _CLOCK_MEM)
    temperature_gpu = getattr(module, "NVML_TEMPERATURE_GPU", _TEMPERATURE_GPU)
    try:
        for index in range(count):
            handle = attempt(module.nvmlDeviceGetHandleByIndex, index)
            if handle is None:
                continue
            name = attempt(module.nvmlDeviceGetName, handle)
            if isinstance(name, bytes):
                name = name.decode(errors="replace")
            sm = attempt(module.nvmlDeviceGetClockInfo, handle, clock_sm)
            mem = attempt(module.nvmlDeviceGetClockInfo, handle, clock_mem)
            sm_max = attempt(getattr(module, "nvmlDeviceGetMaxClockInfo", None) or _missing, handle, clock_sm)
            mem_max = attempt(getattr(module, "nvmlDeviceGetMaxClockInfo", None) or _missing, handle, clock_mem)
            temp = attempt(module.nvmlDeviceGetTemperature, handle, temperature_gpu)
            mask = attempt(reasons, handle) if reasons is not None else None
            gpus.append(
                {
                    "index": index,
                    "name": name,
                    "sm_clock_hz": None if sm is None else float(sm) * 1e6,
                    "mem_clock_hz": None if mem is None else float(mem) * 1e6,
                    "sm_clock_max_hz": None if sm_max is None else float(sm_max) * 1e6,
                    "mem_clock_max_hz": None if mem_max is None else float(mem_max) * 1e6,
                    "temp_c": None if temp is None else float(temp),
                    "throttle_mask": None if mask is None else int(mask),
                    "throttle_reasons": [] if mask is None else throttle_names(int(mask)),
                }
            )
    finally:
        shutdown = getattr(module, "nvmlShutdown", None)
        if shutdown is not None:
            attempt(shutdown)
    return gpus
