"""SyNERGY: measure and predict the energy of neural-network inference, layer by layer.

The public API is what ``__all__`` lists; everything else may change without notice.
"""

from __future__ import annotations

from synergy.analysis import analyze
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
from synergy.layers import Layer, LayerTable, op_category

__version__ = "0.1.0"

__all__ = [
    "AlignmentError",
    "DatasetError",
    "GraphError",
    "InputShapeError",
    "Layer",
    "LayerTable",
    "MeasurementError",
    "ModelSpecError",
    "NotFittedError",
    "OutputExistsError",
    "PredictorFormatError",
    "SamplingError",
    "SensorError",
    "SensorPermissionError",
    "SensorReadError",
    "SensorUnavailable",
    "SynergyError",
    "UnsupportedOpError",
    "UsageError",
    "__version__",
    "analyze",
    "op_category",
]
