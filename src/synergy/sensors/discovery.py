"""Finding the sensors a machine offers, and opening one by name.

:func:`discover_sensors` probes every backend under a root and returns the usable sensors (each opened
and read once) and, for every backend that is not usable, why not. :func:`open_sensor` opens the sensor
named on the command line (``--sensor auto|none|rapl|jetson|rpi-pmic|nvml|amdgpu|power-supply|trace:FILE``):
``auto`` takes the first usable backend in :data:`AUTO_ORDER` and falls back to a
:class:`~synergy.sensors.base.NullSensor` that carries every reason, so measuring code never branches on
'no sensor'.

Example:
    >>> from pathlib import Path
    >>> found = discover_sensors(Path("/nonexistent"))
    >>> found.sensors, sorted(found.unavailable)
    ([], ['amdgpu', 'jetson', 'nvml', 'power-supply', 'rapl', 'rpi-pmic'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergy.errors import SensorError, SensorUnavailable, UsageError
from synergy.sensors._sysfs import display_path
from synergy.sensors.amdgpu import AmdGpuSensor
from synergy.sensors.base import NullSensor, Sensor
from synergy.sensors.jetson import JetsonSensor
from synergy.sensors.nvml import NvmlSensor
from synergy.sensors.power_supply import PowerSupplySensor
from synergy.sensors.rapl import RaplSensor
from synergy.sensors.rpi_pmic import RpiPmicSensor

__all__ = ["AUTO_ORDER", "SENSOR_NAMES", "Discovery", "discover_sensors", "open_sensor"]

#: The order ``--sensor auto`` tries backends: the whole board's input first (Jetson, the Raspberry Pi 5
#: PMIC), then a discrete
#: GPU (NVML, AMD), the CPU package and DRAM (RAPL), and a battery last (coarse and slow).
AUTO_ORDER: tuple[str, ...] = ("jetson", "rpi-pmic", "nvml", "rapl", "amdgpu", "power-supply")

#: Every name :func:`open_sensor` accepts (``trace:FILE`` besides).
SENSOR_NAMES: tuple[str, ...] = ("auto", "none", *AUTO_ORDER)

_FACTORIES: dict[str, Callable[..., Sensor]] = {
    "jetson": JetsonSensor,
    "rapl": RaplSensor,
    "amdgpu": AmdGpuSensor,
    "power-supply": PowerSupplySensor,
    "rpi-pmic": RpiPmicSensor,
}


@dataclass
class Discovery:
    """What :func:`discover_sensors` found.

    Attributes:
        root: the root probed (``/`` normally).
        sensors: the usable sensors, opened, in :data:`AUTO_ORDER`.
        unavailable: backend name → why it is not usable (one line each).
    """

    root: Path
    sensors: list[Sensor] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    def best(self) -> Sensor:
        """The first usable sensor in :data:`AUTO_ORDER`, or a :class:`NullSensor` with every reason."""
        if self.sensors:
            return self.sensors[0]
        return NullSensor(reason=self.summary())

    def summary(self) -> str:
        """One line: every backend and why it is not usable."""
        if not self.unavailable:
            return "no power sensor was found"
        reasons = "; ".join(f"{name}: {reason}" for name, reason in self.unavailable.items())
        return f"no power sensor is usable ({reasons})"

    def close(self) -> None:
        """Close every sensor found."""
        for sensor in self.sensors:
            sensor.close()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the sensors' descriptions and the reasons."""
        return {
            "root": str(self.root),
            "sensors": [sensor.describe() for sensor in self.sensors],
            "unavailable": [{"name": name, "reason": reason} for name, reason in self.unavailable.items()],
        }

    def __enter__(self) -> Discovery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_backend(name: str, root: Path, nvml_module: Any, options: dict[str, Any]) -> Sensor:
    try:
        return _construct(name, root, nvml_module, options)
    except OSError as exc:  # a directory that cannot be listed while probing
        where = display_path(Path(exc.filename), root) if exc.filename else str(root)
        raise SensorUnavailable(f"cannot probe {where}: {exc.strerror or exc}") from exc


def _construct(name: str, root: Path, nvml_module: Any, options: dict[str, Any]) -> Sensor:
    if name == "nvml":
        if nvml_module is None and root != Path("/"):
            raise SensorUnavailable("not probed under --sysfs-root (NVML talks to the NVIDIA driver, not to sysfs)")
        return NvmlSensor(nvml_module=nvml_module, **options)
    return _FACTORIES[name](root=root, **options)


def discover_sensors(
    root: Path = Path("/"), nvml_module: Any = None, backend_options: Mapping[str, Mapping[str, Any]] | None = None
) -> Discovery:
    """Probe every backend under ``root``; open and read each usable one once.

    Args:
        root: the directory that replaces ``/`` for sysfs (``--sysfs-root``).
        nvml_module: the NVML module to probe (default: ``pynvml`` when ``root`` is ``/``; under another
            root NVML is not probed unless a module is given).
        backend_options: options of a backend by name (``{"rpi-pmic": {"calibration": (a, b)}}``).

    Returns:
        The usable sensors and, for every other backend, why it is not usable.
    """
    found = Discovery(root=root)
    for name in AUTO_ORDER:
        try:
            sensor = _open_backend(name, root, nvml_module, dict((backend_options or {}).get(name, {})))
        except SensorError as exc:
            found.unavailable[name] = str(exc)
            continue
        try:
            sensor.read()
        except SensorError as exc:
            sensor.close()
            found.unavailable[name] = f"found but not readable: {exc}"
            continue
        found.sensors.append(sensor)
    return found


def _open_trace(spec: str, options: dict[str, Any]) -> Sensor:
    path = spec[len("trace:") :]
    if not path:
        raise UsageError("--sensor trace:FILE needs a file name after 'trace:'")
    try:
        module = importlib.import_module("synergy.sensors.trace")
    except ModuleNotFoundError as exc:
        if exc.name != "synergy.sensors.trace":
            raise
        raise SensorUnavailable("trace sensors are not supported by this installation of synergy") from exc
    opener: Callable[..., Sensor] = module.open_trace_sensor
    return opener(Path(path), **options)


def open_sensor(name: str, root: Path = Path("/"), nvml_module: Any = None, **options: Any) -> Sensor:
    """Open the sensor ``name`` as given to ``--sensor``.

    Args:
        name: ``auto`` (the first usable in :data:`AUTO_ORDER`, else a :class:`NullSensor` carrying every
            reason), ``none`` (a :class:`NullSensor`), a backend (``rapl``, ``jetson``, ``nvml``,
            ``amdgpu``, ``power-supply``) or ``trace:FILE``.
        root: the directory that replaces ``/`` for sysfs.
        nvml_module: the NVML module for the ``nvml`` backend (default ``pynvml``).
        **options: passed to the backend (``rails=``, ``total_rails=``, ``filter_kind=``, ``gpus=``,
            ``calibration=`` for ``rpi-pmic``, ...).

    Raises:
        UsageError: an unknown name.
        SensorUnavailable: the named backend is absent (the message says what was probed).
        SensorPermissionError: it exists but cannot be read by this user.
    """
    if name.startswith("trace:"):
        return _open_trace(name, options)
    if name == "none":
        return NullSensor(reason="energy measurement was switched off (sensor 'none')")
    if name == "auto":
        # Options that name one backend's setting go to that backend; a calibration of the Pi's PMIC, say.
        routed = {"rpi-pmic": {"calibration": options["calibration"]}} if "calibration" in options else None
        found = discover_sensors(root, nvml_module, routed)
        best = found.best()
        for sensor in found.sensors:
            if sensor is not best:
                sensor.close()
        return best
    if name not in AUTO_ORDER:
        raise UsageError(f"unknown sensor {name!r}; choose one of {', '.join(SENSOR_NAMES)} or trace:FILE")
    return _open_backend(name, root, nvml_module, options)
