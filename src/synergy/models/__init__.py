"""Energy models: SyNERGY's, NeuralPower-style, layer-type and residual models, and their evaluation.

:data:`MODELS` maps the names ``synergy fit --model`` takes to estimator factories: the models of layer
features, fitted on data of either level. :data:`COUNTER_MODELS` holds those that also need per-layer
hardware counters (layer-level data from ``synergy measure``), offered only where the data has them.
Every estimator follows the scikit-learn contract (``__init__`` only stores parameters, ``fit`` returns
``self``, learned state ends in ``_``); the additive ones take a :class:`~synergy.models.dataset.LayerData` so
that one network-level target can be spread over its layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synergy.models.additive import (
    AdditiveModel,
    LayerTypeModel,
    MacLinearModel,
    OpMeanBaseline,
    PolynomialModel,
    Term,
)
from synergy.models.counters import ChainModel, CounterModel, LayerChainModel, LayerCounterModel
from synergy.models.residual import ResidualModel

__all__ = [
    "BASELINE",
    "COUNTER_MODELS",
    "MODELS",
    "AdditiveModel",
    "ChainModel",
    "CounterModel",
    "LayerChainModel",
    "LayerCounterModel",
    "LayerTypeModel",
    "MacLinearModel",
    "OpMeanBaseline",
    "PolynomialModel",
    "ResidualModel",
    "Term",
]

#: ``--model`` name → (factory, one-line description), in table order.
MODELS: dict[str, tuple[Callable[[], Any], str]] = {
    "op-mean": (OpMeanBaseline, "a constant per op type (baseline)"),
    "mac-linear": (MacLinearModel, "SyNERGY's direct model: a·MACs + c"),
    "polynomial": (PolynomialModel, "NeuralPower-style polynomial per layer type, lasso-selected"),
    "layer-type": (LayerTypeModel, "per op type: MACs, bytes, elements, fixed cost (non-negative)"),
    "residual": (ResidualModel, "layer-type baseline × learned correction of its relative error"),
}

#: ``--model`` name → (factory, description) of the models that need per-layer hardware counters.
COUNTER_MODELS: dict[str, tuple[Callable[..., Any], str]] = {
    "counters": (LayerCounterModel, "SyNERGY's counter model on conv layers: a·SIMD + b·bus + c (needs counters)"),
    "chain": (LayerChainModel, "SyNERGY's chain on conv layers: MACs → SIMD, bus → energy (fitted with counters)"),
}

#: The model every other must beat.
BASELINE = "op-mean"
