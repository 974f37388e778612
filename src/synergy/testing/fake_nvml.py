# ruff: noqa: N802, N815 - the names mirror nvidia-ml-py
"""A fake NVML module for tests and demos on machines without an NVIDIA GPU.

:class:`FakeNVML` instances stand in for the ``pynvml`` module of ``nvidia-ml-py``: the functions the
SyNERGY backend calls have the real names and parameters, the constants have the real values, and errors
are raised as :class:`NVMLError` with the real ``.value`` codes (and the real per-code subclasses, such as
``NVMLError_NotSupported``). Each :class:`FakeGPU` has a power function of monotonic time; its energy
counter (mJ) advances with that power in steps of ``counter_period_s``, like the driver's.

Example:
    >>> from synergy.sensors.nvml import NvmlSensor
    >>> nvml = FakeNVML([FakeGPU("NVIDIA H100 80GB HBM3", power_w=250.0)])
    >>> with NvmlSensor(nvml_module=nvml) as sensor:
    ...     sensor.kind.value, sensor.rails
    ('energy', ('gpu0',))

Presets: :meth:`FakeNVML.jetson` (NVML initialises, power and energy are NOT_SUPPORTED),
``FakeGPU(energy_supported=False)`` (a pre-Volta GPU with instant power only), ``FakeNVML(
library_found=False)`` (no driver).
"""

from __future__ import annotations

import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["FakeGPU", "FakeNVML", "NVMLError"]

# Return codes, as in nvml.h and nvidia-ml-py.
NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_ALREADY_INITIALIZED = 5
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_INSUFFICIENT_POWER = 8
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_IRQ_ISSUE = 11
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_CORRUPTED_INFOROM = 14
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_IN_USE = 19
NVML_ERROR_MEMORY = 20
NVML_ERROR_NO_DATA = 21
NVML_ERROR_NOT_READY = 27
NVML_ERROR_GPU_NOT_FOUND = 28
NVML_ERROR_UNKNOWN = 999

NVML_VALUE_TYPE_DOUBLE = 0
NVML_VALUE_TYPE_UNSIGNED_INT = 1
NVML_VALUE_TYPE_UNSIGNED_LONG = 2
NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3
NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4
NVML_VALUE_TYPE_SIGNED_INT = 5
NVML_VALUE_TYPE_UNSIGNED_SHORT = 6

NVML_FI_DEV_POWER_AVERAGE = 185
NVML_FI_DEV_POWER_INSTANT = 186

NVML_POWER_SCOPE_GPU = 0
NVML_POWER_SCOPE_MODULE = 1
NVML_POWER_SCOPE_MEMORY = 2

_ERROR_STRINGS = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_ALREADY_INITIALIZED: "Already Initialized",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_TIMEOUT: "Timeout",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_NO_DATA: "No data",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """NVML's error: ``NVMLError(code)`` builds the per-code subclass, whose ``value`` is the code."""

    _valClassMapping: ClassVar[dict[int, type[NVMLError]]] = {}
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return _ERROR_STRINGS.get(self.value, f"NVML Error with code {self.value}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NVMLError) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def _make_error_classes() -> dict[str, type[NVMLError]]:
    classes: dict[str, type[NVMLError]] = {}
    for name, value in list(globals().items()):
        if not name.startswith("NVML_ERROR_"):
            continue
        class_name = "NVMLError_" + string.capwords(name.replace("NVML_ERROR_", ""), "_").replace("_", "")
        cls = type(class_name, (NVMLError,), {"__module__": __name__})
        NVMLError._valClassMapping[value] = cls
        classes[class_name] = cls
    return classes


_ERROR_CLASSES = _make_error_classes()
globals().update(_ERROR_CLASSES)


@dataclass
class _Value:
    """``c_nvmlValue_t``: one union member is meaningful, per ``valueType``."""

    dVal: float = 0.0
    uiVal: int = 0
    ulVal: int = 0
    ullVal: int = 0
    sllVal: int = 0
    siVal: int = 0
    usVal: int = 0


@dataclass
class FieldValue:
    """``c_nvmlFieldValue_t``: the per-field result of ``nvmlDeviceGetFieldValues``.

    ``timestamp`` is in µs (CPU wall time, as NVML reports it); ``nvmlReturn`` is the per-field status
    (the call itself succeeds even when a field is not supported).
    """

    fieldId: int = 0
    scopeId: int = 0
    timestamp: int = 0
    latencyUsec: int = 0
    valueType: int = NVML_VALUE_TYPE_UNSIGNED_INT
    nvmlReturn: int = NVML_SUCCESS
    value: _Value = field(default_factory=_Value)


PowerFunction = Callable[[float], float]


@dataclass
class FakeGPU:
    """One fake GPU.

    Attributes:
        name: what ``nvmlDeviceGetName`` returns.
        power_w: constant watts, or a function of monotonic seconds.
        energy_supported: whether the total-energy counter exists (Volta and newer).
        instant_scopes: power scopes answering ``NVML_FI_DEV_POWER_INSTANT`` (``NVML_POWER_SCOPE_*``).
        counter_period_s: how often the energy counter advances, seconds.
        initial_energy_mj: the counter's value when NVML is initialised (it counts from driver load).
        power_error: when set, every power/energy call raises this NVML code (``NVML_ERROR_GPU_IS_LOST``).
    """

    name: str = "NVIDIA A100-SXM4-40GB"
    power_w: float | PowerFunction = 60.0
    energy_supported: bool = True
    instant_scopes: tuple[int, ...] = (NVML_POWER_SCOPE_GPU,)
    counter_period_s: float = 0.1
    initial_energy_mj: int = 987_654_321
    power_error: int | None = None
    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"

    def power_at(self, t_s: float) -> float:
        """Watts at monotonic time ``t_s``."""
        return float(self.power_w(t_s) if callable(self.power_w) else self.power_w)


class _Handle:
    def __init__(self, index: int, gpu: FakeGPU, t0_s: float) -> None:
        self.index = index
        self.gpu = gpu
        self.t_integrated_s = t0_s
        self.energy_j = 0.0
        self.lock = threading.Lock()

    def energy_mj_at(self, t_s: float, step_s: float = 1e-3) -> int:
        """Counter value at ``t_s``: the integral of power up to the last counter tick before ``t_s``."""
        gpu = self.gpu
        with self.lock:
            ticks = int((t_s - self.t_integrated_s) / gpu.counter_period_s)
            target = self.t_integrated_s + ticks * gpu.counter_period_s
            t = self.t_integrated_s
            while t < target - 1e-12:
                dt = min(step_s, target - t)
                self.energy_j += gpu.power_at(t + dt / 2) * dt
                t += dt
            self.t_integrated_s = target
            return gpu.initial_energy_mj + int(self.energy_j * 1e3)


class FakeNVML:
    """A stand-in for the ``pynvml`` module (nvidia-ml-py): pass it as ``nvml_module``."""

    NVMLError = NVMLError
    NVML_SUCCESS = NVML_SUCCESS
    NVML_ERROR_UNINITIALIZED = NVML_ERROR_UNINITIALIZED
    NVML_ERROR_INVALID_ARGUMENT = NVML_ERROR_INVALID_ARGUMENT
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_NO_PERMISSION = NVML_ERROR_NO_PERMISSION
    NVML_ERROR_NOT_FOUND = NVML_ERROR_NOT_FOUND
    NVML_ERROR_DRIVER_NOT_LOADED = NVML_ERROR_DRIVER_NOT_LOADED
    NVML_ERROR_TIMEOUT = NVML_ERROR_TIMEOUT
    NVML_ERROR_LIBRARY_NOT_FOUND = NVML_ERROR_LIBRARY_NOT_FOUND
    NVML_ERROR_FUNCTION_NOT_FOUND = NVML_ERROR_FUNCTION_NOT_FOUND
    NVML_ERROR_GPU_IS_LOST = NVML_ERROR_GPU_IS_LOST
    NVML_ERROR_RESET_REQUIRED = NVML_ERROR_RESET_REQUIRED
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = NVML_ERROR_LIB_RM_VERSION_MISMATCH
    NVML_ERROR_NO_DATA = NVML_ERROR_NO_DATA
    NVML_ERROR_NOT_READY = NVML_ERROR_NOT_READY
    NVML_ERROR_GPU_NOT_FOUND = NVML_ERROR_GPU_NOT_FOUND
    NVML_ERROR_UNKNOWN = NVML_ERROR_UNKNOWN
    NVML_VALUE_TYPE_DOUBLE = NVML_VALUE_TYPE_DOUBLE
    NVML_VALUE_TYPE_UNSIGNED_INT = NVML_VALUE_TYPE_UNSIGNED_INT
    NVML_VALUE_TYPE_UNSIGNED_LONG = NVML_VALUE_TYPE_UNSIGNED_LONG
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = NVML_VALUE_TYPE_SIGNED_LONG_LONG
    NVML_VALUE_TYPE_SIGNED_INT = NVML_VALUE_TYPE_SIGNED_INT
    NVML_VALUE_TYPE_UNSIGNED_SHORT = NVML_VALUE_TYPE_UNSIGNED_SHORT
    NVML_FI_DEV_POWER_AVERAGE = NVML_FI_DEV_POWER_AVERAGE
    NVML_FI_DEV_POWER_INSTANT = NVML_FI_DEV_POWER_INSTANT
    NVML_POWER_SCOPE_GPU = NVML_POWER_SCOPE_GPU
    NVML_POWER_SCOPE_MODULE = NVML_POWER_SCOPE_MODULE
    NVML_POWER_SCOPE_MEMORY = NVML_POWER_SCOPE_MEMORY

    def __init__(
        self,
        gpus: Sequence[FakeGPU] = (FakeGPU(),),
        *,
        library_found: bool = True,
        driver_loaded: bool = True,
        driver_version: str = "550.54.15",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Args:
        gpus: the GPUs NVML reports.
        library_found: ``False`` makes ``nvmlInit`` raise LIBRARY_NOT_FOUND (no driver installed).
        driver_loaded: ``False`` makes ``nvmlInit`` raise DRIVER_NOT_LOADED.
        driver_version: what ``nvmlSystemGetDriverVersion`` returns.
        clock: monotonic seconds (inject a manual clock for deterministic tests).
        """
        for name, cls in _ERROR_CLASSES.items():
            setattr(self, name, cls)
        self.gpus = list(gpus)
        self.library_found = library_found
        self.driver_loaded = driver_loaded
        self.driver_version = driver_version
        self.clock = clock
        self.init_count = 0
        self.calls: list[str] = []
        self._handles: list[_Handle] = []

    @classmethod
    def jetson(cls, name: str = "Orin (nvgpu)") -> FakeNVML:
        """NVML as on a Jetson: it initialises and lists the iGPU, power and energy are NOT_SUPPORTED."""
        return cls([FakeGPU(name=name, energy_supported=False, instant_scopes=())], driver_version="540.4.0")

    # -- library lifetime --------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        """Initialise (reference-counted like the real library)."""
        self.calls.append("nvmlInit")
        if not self.library_found:
            raise NVMLError(NVML_ERROR_LIBRARY_NOT_FOUND)
        if not self.driver_loaded:
            raise NVMLError(NVML_ERROR_DRIVER_NOT_LOADED)
        if self.init_count == 0:
            now = self.clock()
            self._handles = [_Handle(i, gpu, now) for i, gpu in enumerate(self.gpus)]
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        """Shut down one reference."""
        self.calls.append("nvmlShutdown")
        self._check_init()
        self.init_count -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        """The driver version string."""
        self._check_init()
        return self.driver_version

    def _check_init(self) -> None:
        if self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    # -- devices -----------------------------------------------------------------------------------
    def nvmlDeviceGetCount(self) -> int:
        """Number of GPUs."""
        self._check_init()
        return len(self._handles)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        """The handle of GPU ``index``."""
        self._check_init()
        if not 0 <= index < len(self._handles):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return self._handles[index]

    def nvmlDeviceGetName(self, handle: Any) -> str:
        """The GPU's product name."""
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        """The GPU's UUID."""
        return self._gpu(handle).uuid

    def _gpu(self, handle: Any) -> FakeGPU:
        self._check_init()
        if not isinstance(handle, _Handle):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return handle.gpu

    # -- power and energy --------------------------------------------------------------------------
    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        """Energy since the driver loaded, mJ (NOT_SUPPORTED before Volta)."""
        gpu = self._gpu(handle)
        self.calls.append("nvmlDeviceGetTotalEnergyConsumption")
        if gpu.power_error is not None:
            raise NVMLError(gpu.power_error)
        if not gpu.energy_supported:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int(handle.energy_mj_at(self.clock()))

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        """Power averaged over the last second, mW (what SyNERGY never uses for attribution)."""
        gpu = self._gpu(handle)
        self.calls.append("nvmlDeviceGetPowerUsage")
        if gpu.power_error is not None:
            raise NVMLError(gpu.power_error)
        if not gpu.instant_scopes:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        now = self.clock()
        mean_w = sum(gpu.power_at(now - 1.0 + (k + 0.5) / 100) for k in range(100)) / 100
        return int(mean_w * 1e3)

    def nvmlDeviceGetFieldValues(self, handle: Any, fieldIds: Sequence[int | tuple[int, int]]) -> list[FieldValue]:
        """Field values; each ``fieldIds`` entry is an id or ``(id, scopeId)``; per-field ``nvmlReturn``."""
        gpu = self._gpu(handle)
        self.calls.append("nvmlDeviceGetFieldValues")
        now = self.clock()
        results = []
        for entry in fieldIds:
            field_id, scope = entry if isinstance(entry, tuple) else (entry, 0)
            result = FieldValue(fieldId=field_id, scopeId=scope, timestamp=int(time.time() * 1e6))
            if gpu.power_error is not None:
                result.nvmlReturn = gpu.power_error
            elif field_id == NVML_FI_DEV_POWER_INSTANT and scope in gpu.instant_scopes:
                result.value.uiVal = int(gpu.power_at(now) * 1e3)
            elif field_id == NVML_FI_DEV_POWER_AVERAGE and scope in gpu.instant_scopes:
                result.value.uiVal = self.nvmlDeviceGetPowerUsage(handle)
            else:
                result.nvmlReturn = NVML_ERROR_NOT_SUPPORTED
            results.append(result)
        return results
