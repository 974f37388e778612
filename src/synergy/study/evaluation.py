"""Every predictor of :data:`synergy.models.MODELS`, evaluated leave-one-network-out on the study's layers.

Each network is predicted, layer by layer, by a model fitted on all the *other* networks (grouped K-fold
with as many folds as networks). Two views of the same out-of-sample predictions:

- per layer: the relative error of every layer (SyNERGY's metric is its mean ± std);
- per network: the sum of a network's predicted layers against the sum of its measured layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synergy.errors import DatasetError
from synergy.models import MODELS
from synergy.models.data import LayerData
from synergy.models.dataset import TrainingSet
from synergy.models.evaluate import Evaluation, grouped_cv, metrics
from synergy.models.features import FEATURES, LABELS

__all__ = ["StudyEvaluation", "evaluate_models", "training_set"]


@dataclass(frozen=True)
class StudyEvaluation:
    """Leave-one-network-out evaluations of every model.

    Attributes:
        layers: one evaluation per model over layers.
        networks: one evaluation per model over network totals (sums of the same predictions).
        training: the data evaluated.
        dropped: layers left out because their target is not positive (a zero energy from the fit).
    """

    layers: tuple[Evaluation, ...]
    networks: tuple[Evaluation, ...]
    training: TrainingSet
    dropped: int

    def table(self) -> pd.DataFrame:
        """One row per model: per-layer and per-network errors (percent) and Kendall τ."""
        rows = []
        for lay, net in zip(self.layers, self.networks, strict=True):
            s, n = lay.scores, net.scores
            rows.append(
                {
                    "model": lay.model,
                    "description": MODELS[lay.model][1],
                    "layer_mean_err_%": 100 * s["mean_err"],
                    "layer_std_err_%": 100 * s["std_err"],
                    "layer_within_10_%": 100 * s["within_10"],
                    "layer_kendall_tau": s["kendall_tau"],
                    "network_mean_err_%": 100 * n["mean_err"],
                    "network_std_err_%": 100 * n["std_err"],
                    "network_within_10_%": 100 * n["within_10"],
                    "network_kendall_tau": n["kendall_tau"],
                }
            )
        return pd.DataFrame(rows)

    def by_type(self, model: str) -> pd.DataFrame:
        """Per-layer-type errors of one model (percent)."""
        for ev in self.layers:
            if ev.model == model and ev.per_layer_type is not None:
                frame = ev.per_layer_type.copy()
                for col in ("mean_err", "std_err", "rmspe", "within_5", "within_10", "share_of_target"):
                    frame[col] = 100 * frame[col]
                keep = ("layer_type", "layers", "kendall_tau")
                return frame.rename(columns={c: f"{c}_%" for c in frame.columns if c not in keep})
        raise KeyError(model)

    def best(self) -> str:
        """The model with the lowest per-layer mean relative error."""
        return min(self.layers, key=lambda ev: ev.scores["mean_err"]).model

    def predictions(self) -> pd.DataFrame:
        """Every layer's measured target and each model's out-of-sample prediction."""
        data = self.training.data
        frame = pd.DataFrame(
            {
                "network": [data.networks[g] for g in data.groups],
                "layer": [u.split(":", 1)[1] for u in data.units],
                "measured": self.training.y,
            }
        )
        for ev in self.layers:
            frame[ev.model] = ev.predicted
        return frame


def _usable(layers: pd.DataFrame, target: str) -> tuple[np.ndarray, np.ndarray]:
    values = pd.to_numeric(layers[target], errors="coerce").to_numpy(dtype=float)
    return values, np.isfinite(values) & (values > 0)


def networks_with_target(layers: pd.DataFrame, target: str) -> list[str]:
    """The networks with at least one layer whose target is a positive number, in table order."""
    _, keep = _usable(layers, target)
    return list(dict.fromkeys(layers.loc[keep, "network"].astype(str)))


def training_set(layers: pd.DataFrame, target: str, unit: str) -> tuple[TrainingSet, int]:
    """Layer-level training data from the study's layer table (one network per ``network`` value).

    Layers whose target is not a positive number are left out (a relative error needs a positive truth).

    Returns:
        The training set and the number of layers left out.
    """
    values, keep = _usable(layers, target)
    kept = layers.loc[keep].reset_index(drop=True)
    networks = tuple(dict.fromkeys(kept["network"].astype(str)))
    index = {n: i for i, n in enumerate(networks)}
    frame = pd.DataFrame({"name": kept["layer"].astype(str)})
    for label in LABELS[1:]:
        frame[label] = kept[label].astype(str).to_numpy()
    for feature in FEATURES:
        frame[feature] = kept[feature].to_numpy(dtype=float)
    frame["unit"] = np.arange(len(kept))
    frame["network"] = kept["network"].astype(str).map(index).to_numpy()
    units = tuple(f"{n}:{layer}" for n, layer in zip(kept["network"], kept["layer"], strict=True))
    groups = frame["network"].to_numpy()
    data = LayerData(frame, len(kept), groups, networks, units, "layer")
    training = TrainingSet(data, values[keep], target, unit, target, ("study",))
    return training, int((~keep).sum())


def evaluate_models(
    layers: pd.DataFrame,
    target: str,
    unit: str,
    *,
    models: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> StudyEvaluation:
    """Leave-one-network-out evaluation of every model (default: all of :data:`~synergy.models.MODELS`).

    Raises:
        DatasetError: fewer than 2 networks with usable layers.
    """
    training, dropped = training_set(layers, target, unit)
    data, y = training.data, training.y
    n_networks = len(data.networks)
    if n_networks < 2:
        raise DatasetError("leave-one-network-out evaluation needs at least 2 measured networks")
    by_layer, by_network = [], []
    for name in models if models is not None else list(MODELS):
        if progress is not None:
            progress(name)
        ev = grouped_cv(name, MODELS[name][0], data, y, n_splits=n_networks)
        by_layer.append(
            Evaluation(name, "leave one network out", ev.measured, ev.predicted, ev.scores, ev.per_layer_type)
        )
        measured = np.bincount(data.groups, weights=ev.measured, minlength=n_networks)
        predicted = np.bincount(data.groups, weights=ev.predicted, minlength=n_networks)
        by_network.append(
            Evaluation(name, "leave one network out, network totals", measured, predicted, metrics(measured, predicted))
        )
    return StudyEvaluation(tuple(by_layer), tuple(by_network), training, dropped)
