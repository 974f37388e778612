"""SyNERGY: measure and predict the energy of neural-network inference, layer by layer.

The public API is what ``__all__`` lists; everything else may change without notice.
"""

from __future__ import annotations

from synergy.errors import (
    AlignmentError,
    DatasetError,
    GraphError,
    InputShapeError,
    MeasurementError,
    ModelSpecError,
    NotFittedError,
    OutputExistsError,
    PredictorFormatError,
    SamplingError,
    SensorError,
    SensorPermissionError,
    SensorReadError,
    SensorUnavailable,
    SynergyError,
    UnsupportedOpError,
    UsageError,
)

__version__ = "0.1.0"

#: Public names whose modules import heavy dependencies: loaded on first access (PEP 562), so that
#: ``import synergy`` and the command line start fast.
_LAZY: dict[str, str] = {
    "Discovery": "synergy.sensors.discovery",
    "Layer": "synergy.graph.layers",
    "LayerTable": "synergy.graph.layers",
    "Monitor": "synergy.monitor",
    "Window": "synergy.monitor",
    "analyze": "synergy.graph.analysis",
    "op_category": "synergy.graph.layers",
    "DomainWarning": "synergy.errors",
    "MeasureOptions": "synergy.measurement",
    "MeasureResult": "synergy.measurement",
    "Prediction": "synergy.models.predictor",
    "Predictor": "synergy.models.predictor",
    "Sampler": "synergy.sampling.sampler",
    "Sensor": "synergy.sensors.base",
    "Timeline": "synergy.sampling.timeline",
    "collect_context": "synergy.context.system",
    "discover_sensors": "synergy.sensors.discovery",
    "fit_predictor": "synergy.models.fitting",
    "load_predictor": "synergy.models.predictor",
    "measure": "synergy.measurement",
    "measure_idle": "synergy.sampling.idle",
    "open_sensor": "synergy.sensors.discovery",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'synergy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AlignmentError",
    "DatasetError",
    "Discovery",
    "DomainWarning",
    "GraphError",
    "InputShapeError",
    "Layer",
    "LayerTable",
    "MeasureOptions",
    "MeasureResult",
    "MeasurementError",
    "ModelSpecError",
    "Monitor",
    "NotFittedError",
    "OutputExistsError",
    "Prediction",
    "Predictor",
    "PredictorFormatError",
    "Sampler",
    "SamplingError",
    "Sensor",
    "SensorError",
    "SensorPermissionError",
    "SensorReadError",
    "SensorUnavailable",
    "SynergyError",
    "Timeline",
    "UnsupportedOpError",
    "UsageError",
    "Window",
    "__version__",
    "analyze",
    "collect_context",
    "discover_sensors",
    "fit_predictor",
    "load_predictor",
    "measure",
    "measure_idle",
    "op_category",
    "open_sensor",
]

# The one model resolver (no heavy import: torch is imported when a model is built).
from synergy.errors import UntrustedCodeError as UntrustedCodeError  # noqa: E402
from synergy.graph.resolve import ResolvedModel as ResolvedModel  # noqa: E402
from synergy.graph.resolve import resolve_model as resolve_model  # noqa: E402

__all__ = sorted([*__all__, "ResolvedModel", "UntrustedCodeError", "resolve_model"])
