"""Evaluation grouped by network: metrics, grouped K-fold, the small-training-set protocol, plots.

Metrics (relative error ``e = prediction / measured − 1``):

- ``mean_err`` ± ``std_err``: mean and standard deviation of ``|e|`` (SyNERGY's metric);
- ``rmspe``: root mean squared percentage error, ``sqrt(mean(e²))``;
- ``within_5``, ``within_10``: share of predictions within ±5 % and ±10 %;
- ``kendall_tau``: rank agreement between predicted and measured values (do we order networks right?).

All are fractions (0.031 = 3.1 %). Two protocols: :func:`grouped_cv` (every unit predicted once by a model
that never saw its network) and :func:`small_train` (fit on ``n_train`` random networks, predict all the
others, repeated with fresh draws).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.model_selection import GroupKFold

from synergy.errors import DatasetError
from synergy.models.data import LayerData

__all__ = ["METRICS", "Evaluation", "grouped_cv", "metrics", "plot_predictions", "small_train"]

#: Metric names, in table order.
METRICS: tuple[str, ...] = ("mean_err", "std_err", "rmspe", "within_5", "within_10", "kendall_tau")

Factory = Callable[[], Any]


def metrics(measured: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The metrics of :data:`METRICS` (plus ``n``) of predictions against measurements."""
    y = np.asarray(measured, dtype=float)
    p = np.asarray(predicted, dtype=float)
    e = p / y - 1.0
    a = np.abs(e)
    tau = float(kendalltau(p, y).statistic) if len(y) > 1 and np.ptp(y) > 0 and np.ptp(p) > 0 else float("nan")
    return {
        "mean_err": float(a.mean()),
        "std_err": float(a.std()),
        "rmspe": float(np.sqrt(np.mean(e**2))),
        "within_5": float(np.mean(a <= 0.05 + 1e-12)),
        "within_10": float(np.mean(a <= 0.10 + 1e-12)),
        "kendall_tau": tau,
        "n": float(len(y)),
    }


@dataclass(frozen=True)
class Evaluation:
    """Out-of-sample predictions of one model and their metrics.

    Attributes:
        model: the model's name.
        protocol: ``grouped-5-fold`` or ``train-80 x10``-style description.
        measured: targets of the predicted units (pooled over folds or draws).
        predicted: their predictions.
        scores: :func:`metrics` of the pooled predictions; ``kendall_tau`` is the mean over draws for
            :func:`small_train`.
        per_layer_type: at layer level, the metrics per layer category.
    """

    model: str
    protocol: str
    measured: np.ndarray
    predicted: np.ndarray
    scores: dict[str, float]
    per_layer_type: pd.DataFrame | None = None


def _layer_type_table(data: LayerData, measured: np.ndarray, predicted: np.ndarray) -> pd.DataFrame | None:
    if data.level != "layer":
        return None
    cats = np.empty(data.n_units, dtype=object)
    cats[data.frame["unit"].to_numpy(dtype=int)] = data.frame["category"].to_numpy()
    rows = []
    for cat in sorted(set(cats)):
        mask = cats == cat
        row: dict[str, Any] = {"layer_type": cat, "layers": int(mask.sum())}
        row.update({k: v for k, v in metrics(measured[mask], predicted[mask]).items() if k != "n"})
        row["share_of_target"] = float(measured[mask].sum() / measured.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def grouped_cv(name: str, factory: Factory, data: LayerData, y: np.ndarray, n_splits: int = 5) -> Evaluation:
    """Grouped K-fold cross-validation: units of one network are never split between training and test.

    Raises:
        DatasetError: fewer than 2 networks.
    """
    n_groups = len(np.unique(data.groups))
    if n_groups < 2:
        raise DatasetError("cross-validation needs at least 2 networks: give more data")
    folds = min(n_splits, n_groups)
    predicted = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=folds).split(np.zeros(len(y)), groups=data.groups):
        model = factory().fit(data.subset(train), y[train])
        predicted[test] = model.predict(data.subset(test))
    return Evaluation(
        name,
        f"grouped {folds}-fold",
        y,
        predicted,
        metrics(y, predicted),
        _layer_type_table(data, y, predicted),
    )


def small_train(
    name: str,
    factory: Factory,
    data: LayerData,
    y: np.ndarray,
    n_train: int = 80,
    repeats: int = 10,
    seed: int = 0,
) -> Evaluation:
    """Fit on ``n_train`` random networks, predict every other network; repeat with fresh draws.

    Raises:
        DatasetError: not more networks than ``n_train``.
    """
    networks = np.unique(data.groups)
    if len(networks) <= n_train:
        raise DatasetError(f"the protocol needs more than {n_train} networks, the data has {len(networks)}")
    rng = np.random.default_rng(seed)
    measured, predicted, taus = [], [], []
    for _ in range(repeats):
        chosen = rng.choice(networks, n_train, replace=False)
        is_train = np.isin(data.groups, chosen)
        train, test = np.flatnonzero(is_train), np.flatnonzero(~is_train)
        model = factory().fit(data.subset(train), y[train])
        p = model.predict(data.subset(test))
        measured.append(y[test])
        predicted.append(p)
        taus.append(metrics(y[test], p)["kendall_tau"])
    m, p = np.concatenate(measured), np.concatenate(predicted)
    scores = metrics(m, p)
    scores["kendall_tau"] = float(np.mean(taus))
    scores["n"] = float(len(m) / repeats)
    return Evaluation(name, f"train on {n_train} networks, predict the rest, {repeats} draws", m, p, scores)


def scores_frame(evaluations: list[Evaluation]) -> pd.DataFrame:
    """One row per evaluation, percentages for errors and shares, τ as is."""
    rows = []
    for ev in evaluations:
        s = ev.scores
        rows.append(
            {
                "model": ev.model,
                "mean_err_%": 100 * s["mean_err"],
                "std_err_%": 100 * s["std_err"],
                "rmspe_%": 100 * s["rmspe"],
                "within_5_%": 100 * s["within_5"],
                "within_10_%": 100 * s["within_10"],
                "kendall_tau": s["kendall_tau"],
            }
        )
    return pd.DataFrame(rows)


def plot_predictions(evaluations: list[Evaluation], path: Path, unit: str = "", title: str = "") -> Path:
    """Predicted-vs-measured scatter (log-log), one panel per evaluation, written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    n = len(evaluations)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.0 * rows), squeeze=False)
    for ax, ev in zip(axes.flat, evaluations, strict=False):
        y, p = ev.measured, ev.predicted
        ax.scatter(y, p, s=4, alpha=0.35, linewidths=0)
        lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
        grid = np.array([lo, hi])
        ax.plot(grid, grid, "k-", lw=0.8)
        ax.plot(grid, grid * 1.1, "k--", lw=0.5)
        ax.plot(grid, grid * 0.9, "k--", lw=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"measured [{unit}]" if unit else "measured")
        ax.set_ylabel(f"predicted [{unit}]" if unit else "predicted")
        ax.set_title(f"{ev.model}: {100 * ev.scores['mean_err']:.1f} % mean error", fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
