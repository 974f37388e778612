"""Power sensors: one small interface, one module per backend, and discovery."""

from synergy.sensors.base import FilterModel, NullSensor, Reading, Sensor, SensorKind

__all__ = ["FilterModel", "NullSensor", "Reading", "Sensor", "SensorKind"]
