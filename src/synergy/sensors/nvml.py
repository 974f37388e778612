"""NVIDIA GPU energy and power through NVML (``nvidia-ml-py``, the optional extra ``synergy-nn[nvml]``).

Per GPU (one rail ``gpu<i>`` each) the backend prefers the **total-energy counter**
(``nvmlDeviceGetTotalEnergyConsumption``, mJ since the driver loaded, Volta and newer): an integral, exact
over long windows, updated about every 100 ms on many datacenter GPUs (10 ms on some consumer ones). Where a
GPU has no counter it reads the **instantaneous power field** (``nvmlDeviceGetFieldValues`` with
``NVML_FI_DEV_POWER_INSTANT``, GPU scope, falling back to module scope), mW. It never uses
``nvmlDeviceGetPowerUsage`` / ``NVML_FI_DEV_POWER_AVERAGE``: on Ampere and newer (except GA100) that is a
one-second moving average, useless for attributing energy to layers.

NVML errors are translated once, here, by :func:`translate_nvml_error`; nothing else in SyNERGY sees an
``NVMLError``. The NVML module is injectable (``nvml_module=``) so tests run against
:class:`synergy.testing.fake_nvml.FakeNVML`. On Jetson boards NVML initialises but answers NOT_SUPPORTED
for power and energy; use the ``jetson`` backend there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from synergy.clock import now_ns
from synergy.errors import SensorError, SensorPermissionError, SensorReadError, SensorUnavailable
from synergy.sensors.base import FilterModel, Reading, Sensor, SensorKind

__all__ = ["NvmlSensor", "load_nvml", "translate_nvml_error"]

INSTALL_HINT = "pip install 'synergy-nn[nvml]'"

# NVML return codes (nvml.h); read from the module when it defines them.
_CODES = {
    "NVML_SUCCESS": 0,
    "NVML_ERROR_UNINITIALIZED": 1,
    "NVML_ERROR_NOT_SUPPORTED": 3,
    "NVML_ERROR_NO_PERMISSION": 4,
    "NVML_ERROR_NOT_FOUND": 6,
    "NVML_ERROR_DRIVER_NOT_LOADED": 9,
    "NVML_ERROR_TIMEOUT": 10,
    "NVML_ERROR_LIBRARY_NOT_FOUND": 12,
    "NVML_ERROR_FUNCTION_NOT_FOUND": 13,
    "NVML_ERROR_GPU_IS_LOST": 15,
    "NVML_ERROR_RESET_REQUIRED": 16,
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": 18,
    "NVML_ERROR_NO_DATA": 21,
    "NVML_ERROR_NOT_READY": 27,
    "NVML_ERROR_GPU_NOT_FOUND": 28,
}

_UNAVAILABLE_REASONS = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": "the NVIDIA driver library libnvidia-ml.so.1 was not found (no NVIDIA driver)",
    "NVML_ERROR_DRIVER_NOT_LOADED": "the NVIDIA kernel driver is not loaded",
    "NVML_ERROR_NOT_SUPPORTED": "not supported by this GPU or driver",
    "NVML_ERROR_FUNCTION_NOT_FOUND": "this driver's NVML lacks the function (upgrade the driver)",
    "NVML_ERROR_GPU_IS_LOST": "the GPU has fallen off the bus",
    "NVML_ERROR_RESET_REQUIRED": "the GPU needs a reset",
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": "the NVML library and the kernel driver versions differ (reboot)",
    "NVML_ERROR_NOT_FOUND": "no such GPU",
    "NVML_ERROR_GPU_NOT_FOUND": "no such GPU",
    "NVML_ERROR_UNINITIALIZED": "NVML is not initialised",
}


def _code(nvml: Any, name: str) -> int:
    return int(getattr(nvml, name, _CODES[name]))


def load_nvml(nvml_module: Any = None) -> Any:
    """The NVML module to use: ``nvml_module`` if given, else ``pynvml`` imported now.

    Raises:
        SensorUnavailable: ``nvidia-ml-py`` is not installed.
    """
    if nvml_module is not None:
        return nvml_module
    try:
        import pynvml
    except ImportError as exc:
        raise SensorUnavailable(f"nvidia-ml-py is not installed: {INSTALL_HINT}") from exc
    return pynvml


def translate_nvml_error(nvml: Any, exc: Exception, what: str) -> SensorError:
    """The SyNERGY error for an ``NVMLError`` raised while doing ``what``.

    Missing library, driver, GPU or support → :class:`SensorUnavailable`; NO_PERMISSION →
    :class:`SensorPermissionError`; anything else (timeouts, no data yet) → :class:`SensorReadError`.
    """
    value = getattr(exc, "value", None)
    for name, reason in _UNAVAILABLE_REASONS.items():
        if value == _code(nvml, name):
            return SensorUnavailable(f"NVML {what}: {reason}")
    if value == _code(nvml, "NVML_ERROR_NO_PERMISSION"):
        return SensorPermissionError(f"NVML {what}: insufficient permissions (run as a user with GPU access)")
    return SensorReadError(f"NVML {what}: {exc} (NVML error {value})")


@contextlib.contextmanager
def _nvml_errors(nvml: Any, what: str) -> Iterator[None]:
    try:
        yield
    except nvml.NVMLError as exc:
        raise translate_nvml_error(nvml, exc, what) from exc


def _field_value(nvml: Any, field: Any) -> float:
    """The number in an ``nvmlFieldValue_t``, by its ``valueType``."""
    attribute = {
        getattr(nvml, "NVML_VALUE_TYPE_DOUBLE", 0): "dVal",
        getattr(nvml, "NVML_VALUE_TYPE_UNSIGNED_INT", 1): "uiVal",
        getattr(nvml, "NVML_VALUE_TYPE_UNSIGNED_LONG", 2): "ulVal",
        getattr(nvml, "NVML_VALUE_TYPE_UNSIGNED_LONG_LONG", 3): "ullVal",
        getattr(nvml, "NVML_VALUE_TYPE_SIGNED_LONG_LONG", 4): "sllVal",
        getattr(nvml, "NVML_VALUE_TYPE_SIGNED_INT", 5): "siVal",
        getattr(nvml, "NVML_VALUE_TYPE_UNSIGNED_SHORT", 6): "usVal",
    }.get(field.valueType, "uiVal")
    return float(getattr(field.value, attribute))


def _instant_power_mw(nvml: Any, handle: Any, scope: int) -> float:
    """One instantaneous power read, mW; raises ``NVMLError`` like the library would."""
    (field,) = nvml.nvmlDeviceGetFieldValues(handle, [(nvml.NVML_FI_DEV_POWER_INSTANT, scope)])
    if field.nvmlReturn != _code(nvml, "NVML_SUCCESS"):
        raise nvml.NVMLError(field.nvmlReturn)
    return _field_value(nvml, field)


class NvmlSensor(Sensor):
    """NVIDIA GPUs through NVML: cumulative joules from the energy counter, or watts from instant power.

    Example:
        >>> from synergy.testing.fake_nvml import FakeGPU, FakeNVML
        >>> sensor = NvmlSensor(nvml_module=FakeNVML([FakeGPU(power_w=100.0)]))
        >>> sensor.kind, sensor.rails
        (<SensorKind.ENERGY: 'energy'>, ('gpu0',))
        >>> sensor.close()
    """

    name = "nvml"

    def __init__(self, nvml_module: Any = None, gpus: Sequence[int] | None = None, mode: str = "auto") -> None:
        """Initialise NVML and choose, per GPU, the energy counter or the instant power field.

        Args:
            nvml_module: the NVML module (default: ``pynvml``, imported now); tests pass a fake.
            gpus: GPU indices to read (default: all).
            mode: ``auto`` (the counter when every chosen GPU has one, else instant power), ``energy`` or
                ``power``.

        Raises:
            SensorUnavailable: nvidia-ml-py, the driver or a GPU is missing, or no GPU reports energy or
                power (Jetson).
            SensorPermissionError: NVML refuses this user.
        """
        if mode not in ("auto", "energy", "power"):
            raise ValueError(f"mode must be 'auto', 'energy' or 'power', got {mode!r}")
        nvml = load_nvml(nvml_module)
        self._nvml = nvml
        self._open = False
        with _nvml_errors(nvml, "initialisation"):
            nvml.nvmlInit()
        self._open = True
        try:
            self._setup(gpus, mode)
        except BaseException:
            self.close()
            raise

    def _setup(self, gpus: Sequence[int] | None, mode: str) -> None:
        nvml = self._nvml
        with _nvml_errors(nvml, "device count"):
            count = int(nvml.nvmlDeviceGetCount())
        if count == 0:
            raise SensorUnavailable("NVML found no GPU")
        indices = list(range(count)) if gpus is None else list(gpus)
        bad = [i for i in indices if not 0 <= i < count]
        if bad:
            raise SensorUnavailable(f"GPU index {bad[0]} does not exist; NVML sees {count} GPU(s)")
        self.indices = tuple(indices)
        self._handles: list[Any] = []
        self.gpu_names: list[str] = []
        energy_ok: list[bool] = []
        scopes: list[int | None] = []
        reasons: list[str] = []
        for index in indices:
            with _nvml_errors(nvml, f"GPU {index} handle"):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = nvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else str(name)
            self._handles.append(handle)
            self.gpu_names.append(name)
            try:
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                energy_ok.append(True)
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) == _code(nvml, "NVML_ERROR_NO_PERMISSION"):
                    raise translate_nvml_error(nvml, exc, f"GPU {index} energy counter") from exc
                energy_ok.append(False)
            scopes.append(self._probe_scope(handle))
            if not energy_ok[-1] and scopes[-1] is None:
                reasons.append(f"GPU {index} ({name})")
        if reasons:
            raise SensorUnavailable(
                "NVML reports neither the energy counter nor instant power (NOT_SUPPORTED) for "
                + ", ".join(reasons)
                + "; on a Jetson use the jetson sensor"
            )
        use_energy = mode == "energy" or (mode == "auto" and all(energy_ok))
        if use_energy and not all(energy_ok):
            missing = [f"GPU {i}" for i, ok in zip(indices, energy_ok, strict=True) if not ok]
            raise SensorUnavailable(f"NVML energy counter not supported on {', '.join(missing)} (pre-Volta GPU)")
        if not use_energy and any(scope is None for scope in scopes):
            missing = [f"GPU {i}" for i, scope in zip(indices, scopes, strict=True) if scope is None]
            raise SensorUnavailable(f"NVML instant power not supported on {', '.join(missing)}")
        self._scopes = scopes
        self.rails = tuple(f"gpu{i}" for i in indices)
        self.total_rails = self.rails
        self.update_period_s = None
        if use_energy:
            self.kind = SensorKind.ENERGY
            self.filter_model = FilterModel("counter", 0.0)
        else:
            self.kind = SensorKind.POWER
            self.filter_model = FilterModel("instant", 0.0)
        self.read()

    def _probe_scope(self, handle: Any) -> int | None:
        nvml = self._nvml
        for scope_name in ("NVML_POWER_SCOPE_GPU", "NVML_POWER_SCOPE_MODULE"):
            scope = int(getattr(nvml, scope_name, 0 if scope_name.endswith("GPU") else 1))
            try:
                _instant_power_mw(nvml, handle, scope)
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) == _code(nvml, "NVML_ERROR_NO_PERMISSION"):
                    raise translate_nvml_error(nvml, exc, "instant power") from exc
                continue
            return scope
        return None

    def read(self) -> Reading:
        """Every GPU's cumulative energy (J) or instant power (W)."""
        nvml = self._nvml
        with _nvml_errors(nvml, "read"):
            t0 = now_ns()
            if self.kind is SensorKind.ENERGY:
                values = tuple(nvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1e3 for h in self._handles)
            else:
                values = tuple(
                    _instant_power_mw(nvml, h, s or 0) / 1e3 for h, s in zip(self._handles, self._scopes, strict=True)
                )
            t1 = now_ns()
        return Reading(t_ns=(t0 + t1) // 2, values=values)

    def close(self) -> None:
        """Shut NVML down (once)."""
        if self._open:
            self._open = False
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()

    def details(self) -> dict[str, Any]:
        """GPU names and, for instant power, the scope used."""
        scope_names = {0: "gpu", 1: "module"}
        detail: dict[str, Any] = {"gpus": dict(zip(self.rails, self.gpu_names, strict=True))}
        if self.kind is SensorKind.POWER:
            detail["power_scope"] = {
                rail: scope_names.get(int(scope or 0), str(scope))
                for rail, scope in zip(self.rails, self._scopes, strict=True)
            }
        detail["source"] = (
            "nvmlDeviceGetTotalEnergyConsumption" if self.kind is SensorKind.ENERGY else "NVML_FI_DEV_POWER_INSTANT"
        )
        return detail
