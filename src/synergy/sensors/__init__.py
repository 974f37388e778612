"""Power sensors: one small interface, one module per backend, and discovery.

Backends: :mod:`~synergy.sensors.jetson` (INA3221 hwmon/IIO, INA238), :mod:`~synergy.sensors.rpi_pmic`
(Raspberry Pi 5), :mod:`~synergy.sensors.rapl`,
:mod:`~synergy.sensors.nvml`, :mod:`~synergy.sensors.amdgpu`, :mod:`~synergy.sensors.power_supply`.
:func:`discover_sensors` lists what is usable and why the rest is not; :func:`open_sensor` opens one by
its ``--sensor`` name.
"""

from synergy.sensors.base import FilterModel, NullSensor, Reading, Sensor, SensorKind
from synergy.sensors.discovery import AUTO_ORDER, Discovery, discover_sensors, open_sensor

__all__ = [
    "AUTO_ORDER",
    "Discovery",
    "FilterModel",
    "NullSensor",
    "Reading",
    "Sensor",
    "SensorKind",
    "discover_sensors",
    "open_sensor",
]
