"""Fitted predictors as versioned JSON: save, load (validated), predict layer tables, presets.

A predictor file holds everything needed to predict a new network from its layer table, and nothing
executable (no pickle)::

    {
      "format": "synergy-predictor", "format_version": 1, "synergy_version": "0.1.0",
      "target": {"name": "energy_j", "unit": "J", "column": "energy_mj", "level": "network"},
      "model": {"name": "layer-type", "class": "LayerTypeModel", "params": {...}, "state": {...}},
      "features": {"macs": "multiply-accumulates ...", ...},
      "domain": {"op_keys": {"Conv3x3": {"op": "Conv", "category": "conv", "kernel_area": 9,
                                          "ranges": {"macs": [min, max], ...}}, ...},
                 "networks": 6466, "level": "network", "unit_macs": [min, max],
                 "counters": {"ase_spec": [min, max], ...}},   # counter models only
      "evaluation": {...cross-validated scores...},
      "training": {"sources": [...], "created": "..."}
    }

:func:`load_predictor` accepts a path or the name of a preset shipped in ``synergy/presets/``.

A predictor of the ``counters`` form predicts from measured counters: it applies to the layers of
``synergy measure`` runs (:meth:`Predictor.predict_frames`), not to layer tables.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd

from synergy.atomic import write_text_atomic
from synergy.errors import DomainWarning, ModelSpecError, OutputExistsError, PredictorFormatError
from synergy.graph.layers import LayerTable, op_category
from synergy.models.additive import AdditiveModel, LayerTypeModel, MacLinearModel, OpMeanBaseline, PolynomialModel, Term
from synergy.models.counters import COUNTER_DOCS, HARDWARE_COUNTERS, LayerChainModel, LayerCounterModel
from synergy.models.data import LayerData
from synergy.models.features import FEATURE_DOCS
from synergy.models.residual import ResidualModel

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LIMIT",
    "DomainWarning",
    "LayerPrediction",
    "Prediction",
    "Predictor",
    "load_predictor",
    "preset_names",
]

FORMAT = "synergy-predictor"
FORMAT_VERSION = 1

#: Features whose training ranges are recorded and checked.
RANGE_FEATURES: tuple[str, ...] = ("macs", "bytes_moved", "output_elems")
#: Values may exceed the training range by this factor before a warning.
RANGE_SLACK = 1.25

_ADDITIVE: dict[str, type[AdditiveModel]] = {
    "OpMeanBaseline": OpMeanBaseline,
    "MacLinearModel": MacLinearModel,
    "LayerTypeModel": LayerTypeModel,
    "PolynomialModel": PolynomialModel,
}


#: The largest magnitude of any number in a predictor file (coefficients, ranges, scales): what a fit of
#: physical targets can produce, with room to spare; anything beyond it is damage, not data.
LIMIT = 1e30


def _params(estimator: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in estimator.get_params(deep=False).items()}


def _restore_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def _floats(values: Any, what: str, *, nonneg: bool = False) -> list[float]:
    """Numbers of a predictor file, checked: finite, at most :data:`LIMIT` in magnitude, ``≥ 0`` if asked."""
    if isinstance(values, (str, bytes, dict)):
        raise ValueError(f"{what} is not a list of numbers")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{what} holds {v!r}, not a number")
        out.append(float(v))
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{what} holds non-finite numbers")
    if any(abs(v) > LIMIT for v in out):
        raise ValueError(f"{what} holds numbers beyond ±{LIMIT:.0e}")
    if nonneg and any(v < 0 for v in out):
        raise ValueError(f"{what} holds negative numbers")
    return out


def _float(value: Any, what: str, *, nonneg: bool = False) -> float:
    return _floats([value], what, nonneg=nonneg)[0]


def _additive_state(model: AdditiveModel) -> dict[str, Any]:
    return {
        "terms": [t.to_dict() for t in model.terms_],
        "coef": [float(c) for c in model.coef_],
        "network_cost": float(model.network_cost_),
        "level": model.level_,
        "op_keys": model.op_keys_,
    }


def _additive_from(cls_name: str, params: dict[str, Any], state: dict[str, Any]) -> AdditiveModel:
    cls = _ADDITIVE[cls_name]
    model = cls(**_restore_params(params))
    terms = [Term.from_dict(t) for t in state["terms"]]
    _floats([t.scale for t in terms], "term scales")
    coef = _floats(state["coef"], "model coefficients", nonneg=cls.nonneg)
    if len(coef) != len(terms):
        raise ValueError(f"{len(coef)} coefficients for {len(terms)} terms")
    model.terms_ = terms
    model.coef_ = np.array(coef)
    model.network_cost_ = _float(state["network_cost"], "network cost", nonneg=cls.nonneg)
    model.level_ = str(state["level"])
    model.op_keys_ = _op_keys(state["op_keys"])
    return model


def _op_keys(data: Any) -> dict[str, dict[str, Any]]:
    return {
        str(k): {
            "op": str(v["op"]),
            "category": str(v["category"]),
            "kernel_area": _float(v["kernel_area"], f"kernel area of {k}", nonneg=True),
        }
        for k, v in data.items()
    }


_COUNTER: dict[str, type[LayerCounterModel] | type[LayerChainModel]] = {
    "LayerCounterModel": LayerCounterModel,
    "LayerChainModel": LayerChainModel,
}


def _counter_state(model: LayerCounterModel | LayerChainModel) -> dict[str, Any]:
    state: dict[str, Any] = {
        "counters": list(model.counters_),
        "coef": [float(c) for c in model.coef_],
        "intercept": float(model.intercept_),
        "counter_ranges": {k: [float(v) for v in r] for k, r in model.counter_ranges_.items()},
        "rest": None
        if model.rest_ is None
        else {"params": _params(model.rest_), "state": _additive_state(model.rest_)},
        "op_keys": model.op_keys_,
    }
    if isinstance(model, LayerChainModel):
        state["counter_coef"] = [float(c) for c in model.counter_coef_]
        state["counter_intercept"] = [float(c) for c in model.counter_intercept_]
    return state


def _counter_from(cls_name: str, params: dict[str, Any], state: dict[str, Any]) -> LayerCounterModel | LayerChainModel:
    model = _COUNTER[cls_name](**_restore_params(params))
    counters = tuple(str(c) for c in state["counters"])
    unknown = [c for c in counters if c not in HARDWARE_COUNTERS]
    if not counters or unknown:
        raise ValueError(f"unknown counter columns {unknown or 'none'}")
    coef = _floats(state["coef"], "counter model coefficients")
    if len(coef) != len(counters):
        raise ValueError(f"{len(coef)} coefficients for {len(counters)} counters")
    model.counters_ = counters
    model.coef_ = np.array(coef)
    model.intercept_ = _float(state["intercept"], "counter model intercept")
    model.counter_ranges_ = {
        str(k): _floats(v, f"range of {k}", nonneg=True) for k, v in state["counter_ranges"].items()
    }
    rest = state["rest"]
    model.rest_ = None if rest is None else _additive_from("LayerTypeModel", dict(rest["params"]), rest["state"])
    model.op_keys_ = _op_keys(state["op_keys"])
    model.level_ = "layer"
    model.network_cost_ = 0.0
    if isinstance(model, LayerChainModel):
        slope = _floats(state["counter_coef"], "counter per MAC")
        offset = _floats(state["counter_intercept"], "counter constants")
        if len(slope) != len(counters) or len(offset) != len(counters):
            raise ValueError(f"the chain's MAC stages do not match its {len(counters)} counters")
        model.counter_coef_ = np.array(slope)
        model.counter_intercept_ = np.array(offset)
    return model


def model_state(model: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(class name, params, learned state)`` of a fitted model, JSON-ready."""
    if isinstance(model, ResidualModel):
        state = {
            "base": _additive_state(model.base_),
            "keys": list(model.keys_),
            "pairs": list(model.pairs_),
            "mean": [float(v) for v in model.mean_],
            "std": [float(v) for v in model.std_],
            "points": [[float(v) for v in row] for row in model.points_],
            "dual_coef": [float(v) for v in model.dual_coef_],
            "alpha": model.alpha_,
            "gamma": model.gamma_,
            "level": model.level_,
        }
        return "ResidualModel", _params(model), state
    if isinstance(model, AdditiveModel):
        return type(model).__name__, _params(model), _additive_state(model)
    if isinstance(model, (LayerCounterModel, LayerChainModel)):
        return type(model).__name__, _params(model), _counter_state(model)
    raise TypeError(f"cannot store a {type(model).__name__} in a predictor file")


def model_from_state(cls_name: str, params: dict[str, Any], state: dict[str, Any]) -> Any:
    """Inverse of :func:`model_state` (raises ``KeyError``/``TypeError``/``ValueError`` on bad input)."""
    if cls_name == "ResidualModel":
        model = ResidualModel(**_restore_params(params))
        model.base_ = _additive_from("LayerTypeModel", {}, state["base"])
        model.keys_ = [str(k) for k in state["keys"]]
        # files written before the adjacent pairs of op keys joined the composition have none
        model.pairs_ = [str(k) for k in state.get("pairs", [])]
        model.mean_ = np.array(_floats(state["mean"], "mean"))
        model.std_ = np.array(_floats(state["std"], "std", nonneg=True))
        if np.any(model.std_ == 0):
            raise ValueError("std holds zeros")
        points = np.array([_floats(r, "points") for r in state["points"]], dtype=float)
        model.dual_coef_ = np.array(_floats(state["dual_coef"], "dual coefficients"))
        width = len(model.keys_) + len(model.pairs_) + 1
        if points.ndim != 2 or points.shape[1] != width or len(model.dual_coef_) != len(points):
            raise ValueError("correction points and coefficients do not match")
        if len(model.mean_) != width or len(model.std_) != width:
            raise ValueError("feature scaling does not match the op keys")
        model.points_ = points
        model.alpha_ = _float(state["alpha"], "alpha", nonneg=True)
        model.gamma_ = _float(state["gamma"], "gamma", nonneg=True)
        clip = _float(model.clip, "clip", nonneg=True)
        if clip >= 1:
            raise ValueError(f"clip must lie below 1, got {clip}")
        model.level_ = str(state["level"])
        model.op_keys_ = model.base_.op_keys_
        return model
    if cls_name in _ADDITIVE:
        return _additive_from(cls_name, params, state)
    if cls_name in _COUNTER:
        return _counter_from(cls_name, params, state)
    raise ValueError(f"unknown model class {cls_name!r}")


def training_domain(data: LayerData) -> dict[str, Any]:
    """Op keys seen and the range of :data:`RANGE_FEATURES` per op key, plus network MACs."""
    frame = data.frame
    keys: dict[str, Any] = {}
    for key, rows in frame.groupby("op_key", sort=True):
        first = rows.iloc[0]
        keys[str(key)] = {
            "op": str(first["op"]),
            "category": str(first["category"]),
            "kernel_area": float(first["kernel_area"]),
            "ranges": {f: [float(rows[f].min()), float(rows[f].max())] for f in RANGE_FEATURES},
        }
    macs = np.zeros(data.n_units)
    np.add.at(macs, frame["unit"].to_numpy(dtype=int), frame["macs"].to_numpy(dtype=float))
    return {
        "op_keys": keys,
        "networks": len(data.networks),
        "level": data.level,
        "unit_macs": [float(macs.min()), float(macs.max())] if len(macs) else [0.0, 0.0],
    }


class LayerPrediction(NamedTuple):
    """The prediction of one layer: its ``name``, canonical ``op`` and ``prediction`` (SI units)."""

    name: str
    op: str
    prediction: float


@dataclass(frozen=True)
class Prediction:
    """The prediction for one network.

    Attributes:
        model: the MODEL as given.
        target: quantity predicted (``energy_j``).
        unit: its SI unit.
        total: the network's prediction (sum of layers plus the fixed cost per network).
        overhead: the fixed cost per network included in ``total`` (not attributed to a layer).
        layers: one :class:`LayerPrediction` per layer, in the order of the layer table.
        warnings: why the prediction may be unreliable (outside the training domain).
    """

    model: str
    target: str
    unit: str
    total: float
    overhead: float
    layers: tuple[LayerPrediction, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``synergy predict --format json``)."""
        return {
            "model": self.model,
            "target": self.target,
            "unit": self.unit,
            "total": self.total,
            "overhead": self.overhead,
            "layers": [layer._asdict() for layer in self.layers],
            "warnings": list(self.warnings),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: ``name``, ``op``, ``layer_type``, the target (``energy_j``) and ``share``
        (of the total, a fraction)."""
        values = np.array([layer.prediction for layer in self.layers], dtype=float)
        return pd.DataFrame(
            {
                "name": [layer.name for layer in self.layers],
                "op": [layer.op for layer in self.layers],
                "layer_type": [op_category(layer.op) for layer in self.layers],
                self.target: values,
                "share": values / self.total if self.total else np.zeros(len(values)),
            }
        )

    def __repr__(self) -> str:
        extra = f", {len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}" if self.warnings else ""
        return (
            f"<Prediction {self.model}: {self.target} {_fmt(self.total)} {self.unit}, {len(self.layers)} layers{extra}>"
        )

    def _repr_html_(self) -> str:
        frame = self.to_frame().sort_values(self.target, ascending=False).head(10)
        notes = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (
            f"<p><b>{html.escape(self.model)}</b>: {self.target} {_fmt(self.total)} {html.escape(self.unit)} "
            f"({len(self.layers)} layers; fixed cost per network {_fmt(self.overhead)} {html.escape(self.unit)})</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "<p>largest layers:</p>"
            + frame.to_html(index=False, float_format=_fmt)
        )


def _fmt(value: float) -> str:
    return f"{value:.3g}"


@dataclass
class Predictor:
    """A fitted model with its target, features and training domain.

    Attributes:
        name: the model form (``layer-type``, ``residual``, ...).
        estimator: the fitted estimator.
        target: SI name of the target (``energy_j``).
        unit: SI unit (``J``).
        column: the data column it was fitted on.
        domain: see :func:`training_domain`.
        evaluation: cross-validated scores, free-form JSON.
        training: sources and creation details, free-form JSON.
    """

    name: str
    estimator: Any
    target: str
    unit: str
    column: str
    domain: dict[str, Any]
    evaluation: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON document (see the module docstring)."""
        from synergy import __version__

        cls_name, params, state = model_state(self.estimator)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "synergy_version": __version__,
            "target": {"name": self.target, "unit": self.unit, "column": self.column, "level": self.domain["level"]},
            "model": {"name": self.name, "class": cls_name, "params": params, "state": state},
            "features": {**FEATURE_DOCS, **{c: COUNTER_DOCS[c] for c in getattr(self.estimator, "counters_", ())}},
            "domain": self.domain,
            "evaluation": self.evaluation,
            "training": self.training,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "predictor") -> Predictor:
        """Validate and rebuild a predictor.

        Raises:
            PredictorFormatError: not a predictor, a newer format version, or a damaged document.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PredictorFormatError(f"{source} is not a SyNERGY predictor: give a file written by 'synergy fit'")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise PredictorFormatError(f"{source} has no valid format_version: re-create it with 'synergy fit'")
        if version > FORMAT_VERSION:
            raise PredictorFormatError(
                f"{source} has predictor format {version}, newer than this SyNERGY reads ({FORMAT_VERSION}): "
                "upgrade synergy-nn"
            )
        try:
            target = data["target"]
            model = data["model"]
            estimator = model_from_state(str(model["class"]), dict(model["params"]), model["state"])
            domain = data["domain"]
            ranges = [(f"range of {k} {f}", b) for k, v in domain["op_keys"].items() for f, b in v["ranges"].items()]
            ranges.append(("network MACs range", domain["unit_macs"]))
            ranges += [(f"range of {c}", b) for c, b in domain.get("counters", {}).items()]
            for what, bounds in ranges:
                lo, hi = _floats(bounds, what, nonneg=True)
                if lo > hi:
                    raise ValueError(f"{what} is inverted")
            if isinstance(estimator, tuple(_COUNTER.values())) and domain["level"] != "layer":
                raise ValueError("a counter model fitted on network-level data")
            if int(domain["networks"]) < 0:
                raise ValueError("a negative number of training networks")
            if domain["level"] not in ("network", "layer"):
                raise ValueError(f"unknown level {domain['level']!r}")
            return cls(
                name=str(model["name"]),
                estimator=estimator,
                target=str(target["name"]),
                unit=str(target["unit"]),
                column=str(target["column"]),
                domain=domain,
                evaluation=dict(data.get("evaluation", {})),
                training=dict(data.get("training", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise PredictorFormatError(
                f"{source} is not a valid predictor ({detail}): re-create it with 'synergy fit'"
            ) from exc

    def save(self, path: Path, force: bool = False) -> Path:
        """Write the predictor atomically (temporary file in the same folder, then rename).

        Raises:
            OutputExistsError: ``path`` exists and ``force`` is false.
        """
        if path.exists() and not force:
            raise OutputExistsError(f"{path} exists: choose another -o or pass --force to overwrite it")
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    # -- prediction ---------------------------------------------------------------------------------
    def domain_warnings(self, data: LayerData, layer_pred: np.ndarray | None = None) -> list[list[str]]:
        """For every unit of ``data``: why it leaves the training domain (empty lists when it does not).

        Op types never seen in training are named with what stood in for them and what their layers were
        predicted at (``layer_pred``, the per-layer predictions; computed when not given).
        """
        out: list[list[str]] = [[] for _ in range(data.n_units)]
        frame = data.frame
        units = frame["unit"].to_numpy(dtype=int)
        _, mapping = self.estimator.resolve_keys(data)
        if mapping:
            if layer_pred is None:
                layer_pred = np.asarray(self.estimator.predict_layers(data))
            shared = any(t.select == "any" for t in getattr(self._layer_model(), "terms_", ()))
            mine = frame["op_key"].isin(list(mapping)).to_numpy()
            unseen = pd.DataFrame({"unit": units[mine], "op_key": frame["op_key"].to_numpy()[mine]})
            unseen["value"] = np.asarray(layer_pred, dtype=float)[mine]
            for group, rows in unseen.groupby(["unit", "op_key"], sort=True):
                pair = cast(tuple[Any, Any], group)
                unit, key = int(pair[0]), str(pair[1])
                substitute = mapping[key]
                how = f"as {substitute}" if substitute else "no similar op type"
                if not substitute and shared:
                    how += ": the costs every layer shares"
                layers = f"{len(rows)} layer{'s' if len(rows) != 1 else ''}"
                total = float(rows["value"].sum())
                part = f"{key} ({how}; {layers}, {_fmt(total)} {self.unit})"
                out[unit].append(part)
            for unit, parts in enumerate(out):
                if parts:
                    out[unit] = [f"op types never seen in training: {', '.join(parts)}"]
        seen = self.domain["op_keys"]
        known = frame[frame["op_key"].isin(list(seen))]
        beyond: list[list[str]] = [[] for _ in range(data.n_units)]
        if len(known):
            stats = known.groupby(["unit", "op_key"], sort=True)[list(RANGE_FEATURES)].agg(["min", "max"])
            keys = stats.index.get_level_values(1)
            for feature in RANGE_FEATURES:
                lo = np.array([seen[k]["ranges"][feature][0] for k in keys])
                hi = np.array([seen[k]["ranges"][feature][1] for k in keys])
                vmin = stats[(feature, "min")].to_numpy()
                vmax = stats[(feature, "max")].to_numpy()
                with np.errstate(divide="ignore", invalid="ignore"):
                    above = np.where(hi > 0, vmax / hi, np.inf)
                    below = np.where(vmin > 0, lo / vmin, np.inf)
                for i in np.flatnonzero((vmax > hi * RANGE_SLACK) | (vmin < lo / RANGE_SLACK)):
                    unit, key = stats.index[int(i)]
                    how = f"×{above[i]:.2g}" if vmax[i] > hi[i] * RANGE_SLACK else f"÷{below[i]:.2g}"
                    beyond[int(unit)].append(f"{key} {feature} {how}")
        if self.domain["level"] == "network":
            macs = np.zeros(data.n_units)
            np.add.at(macs, units, frame["macs"].to_numpy(dtype=float))
            macs_lo, macs_hi = self.domain["unit_macs"]
            for index in np.flatnonzero((macs > macs_hi * RANGE_SLACK) | (macs < macs_lo / RANGE_SLACK)):
                value = float(macs[index])
                how = f"×{value / macs_hi:.2g}" if value > macs_hi else f"÷{macs_lo / max(value, 1):.2g}"
                beyond[int(index)].append(f"network macs {how}")
        counters = self.domain.get("counters", {}) if self.needs_counters else {}
        if counters:
            covered = frame["category"].isin(list(self.estimator.categories)).to_numpy()
            for counter, (lo, hi) in counters.items():
                if counter not in frame.columns:
                    continue
                values = frame[counter].to_numpy(dtype=float)
                for unit in np.unique(units[covered]):
                    mine = values[covered & (units == unit)]
                    mine = mine[np.isfinite(mine)]
                    if not len(mine):
                        continue
                    top, bottom = float(mine.max()), float(mine.min())
                    if top > hi * RANGE_SLACK:
                        beyond[int(unit)].append(f"{counter} ×{top / hi:.2g}" if hi > 0 else f"{counter} (above 0)")
                    elif bottom < lo / RANGE_SLACK:
                        beyond[int(unit)].append(f"{counter} ÷{lo / max(bottom, 1.0):.2g}")
        for unit, parts in enumerate(beyond):
            if parts:
                out[unit].append(
                    "outside the training range (× above its maximum, ÷ below its minimum): " + ", ".join(parts)
                )
        return out

    def _layer_model(self) -> Any:
        """The additive model behind the layer predictions (a residual model's baseline)."""
        return getattr(self.estimator, "base_", None) or getattr(self.estimator, "rest_", None) or self.estimator

    def predict_data(self, data: LayerData) -> tuple[np.ndarray, np.ndarray]:
        """Per-layer and per-unit predictions of layer data (SI units)."""
        layers = self.estimator.predict_layers(data)
        totals = self.estimator.predict(data)
        return np.asarray(layers), np.asarray(totals)

    @property
    def needs_counters(self) -> bool:
        """Whether predicting needs measured counters (the ``counters`` form): see :meth:`predict_frames`."""
        return bool(getattr(self.estimator, "needs_counters", False))

    def check_models_supported(self) -> None:
        """Raise :class:`ModelSpecError` when this predictor cannot predict from layer tables (MODEL specs)."""
        if self.needs_counters:
            columns = ", ".join(self.estimator.counters_)
            raise ModelSpecError(
                f"a {self.name} predictor predicts from measured counters ({columns}), not from a MODEL: give "
                "a run directory or layers.csv from 'synergy measure', or fit --model chain to predict from MACs"
            )

    def predict(
        self, model: Any, input_shape: Sequence[Sequence[int]] | None = None, *, warn: bool = True
    ) -> Prediction:
        """Predict one network, given as anything :func:`synergy.analyze` takes or as its result.

        Args:
            model: a MODEL spec (``torchvision:resnet18``, ``nb201:ARCH``, ``path.onnx``), a path, a
                :class:`~synergy.graph.layers.LayerTable`, a built ``torch.nn.Module`` (its input: ``input_shape``,
                else the module's own ``input_shape`` attribute, as for a MODEL), a run directory or
                ``layers.csv`` of ``synergy measure``, or a :class:`~synergy.measurement.MeasureResult`
                (their measured layers, with their counters).
            input_shape: the network's input shapes (default: the model's own).
            warn: issue the prediction's domain problems as :class:`~synergy.errors.DomainWarning`.

        Raises:
            ModelSpecError, InputShapeError: the model cannot be analysed (as :func:`synergy.analyze`), or a
                module has no input shape.
            DatasetError: a run that cannot be read.
        """
        if isinstance(model, LayerTable):
            return self.predict_tables([model], warn=warn)[0]
        if isinstance(model, (str, Path)):
            path = Path(model)
            if path.is_dir() or (path.suffix.lower() == ".csv" and path.is_file()):
                from synergy.models.dataset import load_measured_layers

                return self.predict_frames([load_measured_layers(path)], [str(model)], warn=warn)[0]
            from synergy.graph.analysis import analyze

            return self.predict_tables([analyze(str(model), input_shape)], warn=warn)[0]
        from synergy.measurement.result import MeasureResult

        if isinstance(model, MeasureResult):
            from synergy.models.dataset import result_layers

            return self.predict_frames([result_layers(model.layers, model.model)], [model.model], warn=warn)[0]
        if callable(getattr(model, "forward", None)) and callable(getattr(model, "parameters", None)):
            from synergy.graph.resolve import declared_input_shapes

            shapes = input_shape if input_shape is not None else declared_input_shapes(model)
            if shapes is None:
                raise ModelSpecError(
                    f"a {type(model).__name__} module has no input shape of its own: give input_shape, or give "
                    "the module (or its class) an input_shape attribute such as (1, 3, 224, 224)"
                )
            from synergy.graph.torch_frontend import analyze_module

            return self.predict_tables([analyze_module(model, shapes, name=type(model).__name__)], warn=warn)[0]
        raise ModelSpecError(
            f"cannot predict a {type(model).__name__}: give a MODEL spec, a path, a LayerTable, a MeasureResult or "
            "a torch module"
        )

    def predict_tables(
        self, tables: Sequence[LayerTable], names: Sequence[str] | None = None, *, warn: bool = True
    ) -> list[Prediction]:
        """Predict networks from their layer tables; domain problems become warnings in each result (and,
        with ``warn``, :class:`~synergy.errors.DomainWarning`).

        Layer-level predictors give every layer its prediction and the total is their sum.

        Raises:
            ModelSpecError: a predictor that needs measured counters (use :meth:`predict_frames`).
        """
        self.check_models_supported()
        names = list(names) if names is not None else [t.model for t in tables]
        if not tables:
            return []
        return self.predict_layer_data(LayerData.from_tables(tables, names), names, warn=warn)

    def predict_frames(
        self, frames: Sequence[pd.DataFrame], names: Sequence[str], *, warn: bool = True
    ) -> list[Prediction]:
        """Predict networks from layer frames: measured runs (:func:`synergy.models.dataset.load_measured_layers`,
        counter columns included) or :func:`~synergy.models.features.layer_frame` of layer tables.

        Raises:
            DatasetError: a ``counters`` predictor and a network without the counters of its covered layers.
        """
        if not frames:
            return []
        return self.predict_layer_data(LayerData.from_frames(frames, names), names, warn=warn)

    def predict_layer_data(self, data: LayerData, names: Sequence[str], *, warn: bool = True) -> list[Prediction]:
        """Predict every unit of network-level layer data (one unit per network, named by ``names``); with
        ``warn``, issue their domain problems as :class:`~synergy.errors.DomainWarning`."""
        layer_pred, totals = self.predict_data(data)
        if self.domain["level"] == "layer":
            totals = np.zeros(data.n_units)
            np.add.at(totals, data.frame["unit"].to_numpy(dtype=int), layer_pred)
        units = data.frame["unit"].to_numpy(dtype=int)
        problems = self.domain_warnings(data, layer_pred)
        layer_sums = np.zeros(data.n_units)
        np.add.at(layer_sums, units, layer_pred)
        names_col = data.frame["name"].to_numpy()
        ops_col = data.frame["op"].to_numpy()
        out = []
        starts = np.searchsorted(units, np.arange(data.n_units + 1))
        for i, name in enumerate(names):
            a, b = starts[i], starts[i + 1]
            out.append(
                Prediction(
                    model=name,
                    target=self.target,
                    unit=self.unit,
                    total=float(totals[i]),
                    overhead=float(totals[i]) - float(layer_sums[i]),
                    layers=tuple(
                        LayerPrediction(str(n), str(o), float(p))
                        for n, o, p in zip(names_col[a:b], ops_col[a:b], layer_pred[a:b], strict=True)
                    ),
                    warnings=tuple(problems[i]),
                )
            )
        if warn:
            self.warn(out)
        return out

    def warn(self, predictions: Sequence[Prediction]) -> None:
        """Issue every prediction's domain problems as :class:`~synergy.errors.DomainWarning`."""
        for p in predictions:
            for text in p.warnings:
                warnings.warn(f"{p.model}: {text}", DomainWarning, stacklevel=3)

    # -- display ------------------------------------------------------------------------------------
    def _summary(self) -> dict[str, str]:
        score = self.evaluation.get("scores", {}).get(self.name, {})
        out = {
            "form": self.name,
            "target": f"{self.target} [{self.unit}]",
            "level": str(self.domain.get("level", "")),
            "op types": str(len(self.domain.get("op_keys", {}))),
            "trained on": f"{self.domain.get('networks', 0)} networks",
        }
        if "mean_err" in score:
            out["mean error"] = f"{100 * float(score['mean_err']):.2f} % ({self.evaluation.get('protocol', 'cv')})"
        if self.training.get("description"):
            out["data"] = str(self.training["description"])
        return out

    def __repr__(self) -> str:
        s = self._summary()
        error = f", {s['mean error'].split(' (')[0]} mean error" if "mean error" in s else ""
        return f"<Predictor {self.name}: {s['target']}, {s['level']} level, {s['trained on']}{error}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._summary().items()
        )
        return f"<table><caption>SyNERGY predictor</caption>{rows}</table>"


def preset_names() -> list[str]:
    """Names of the predictors shipped with the package."""
    folder = resources.files("synergy") / "presets"
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_predictor(source: str | Path) -> Predictor:
    """Load a predictor file, or a shipped preset by name (``rpi5-onnxruntime``).

    Raises:
        PredictorFormatError: neither a file nor a preset; corrupt JSON; not a valid predictor; a newer format.
    """
    path = Path(source)
    if path.is_file():
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PredictorFormatError(f"{label} cannot be read ({exc}): check the file") from exc
    else:
        name = str(source)
        resource = resources.files("synergy") / "presets" / f"{name}.json"
        if "/" in name or not resource.is_file():
            raise PredictorFormatError(
                f"predictor {name!r} is neither a file nor a preset: give a file from 'synergy fit' or one of "
                f"{', '.join(preset_names()) or '(no presets installed)'}"
            )
        label = f"preset {name}"
        text = resource.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PredictorFormatError(f"{label} is not valid JSON ({exc}): re-create it with 'synergy fit'") from exc
    return Predictor.from_dict(data, label)
