"""A physical baseline with a learned nonlinear correction.

:class:`ResidualModel` first fits a non-negative :class:`~synergy.models.additive.LayerTypeModel` (the
physics: per op type, energy grows with work and bytes moved, plus fixed costs). It then learns how the
*relative* error of that baseline depends on the network's composition — the share of the baseline
energy in each op key and the baseline total — with a kernel ridge regression (RBF kernel), and applies
it as a factor: ``prediction = baseline · (1 + correction)``. Each layer's prediction is scaled by its
network's factor, so the layers still sum to the total. Interactions the additive form cannot express
(caches shared by neighbouring layers, runtime fusion) land in the correction.

With ``neighbours`` (the default) the composition also holds the share of the baseline energy in every
*adjacent pair* of op keys: layer ``Conv3x3`` run right after ``Relu`` counts to ``Relu>Conv3x3`` (``^`` for
a network's first layer), in the order of the layer table, which is the order of execution. That is what
a runtime's fusion and the cache left warm by the previous kernel depend on, and what a count per op key
cannot see. These features are shares of the network's baseline energy, so they stay as they are when
every layer grows or shrinks alike with the input; only the log of the baseline total follows the input
size.

Regularisation and kernel width are chosen by grouped cross-validation on the training data; the
correction is clipped to ±``clip`` so that it can never dominate the physics far from the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GroupKFold

from synergy.errors import NotFittedError
from synergy.models.additive import LayerTypeModel, _check_data
from synergy.models.data import LayerData

__all__ = ["ResidualModel", "adjacent_pairs", "composition"]


def adjacent_pairs(frame: pd.DataFrame) -> np.ndarray:
    """Per layer, ``previous op key>op key`` within its network in frame order (``^`` before the first)."""
    prev = frame.groupby("network", sort=False)["op_key"].shift(1)
    return np.asarray((prev.fillna("^").astype(str) + ">" + frame["op_key"].astype(str)).to_numpy(), dtype=object)


def _shares(units: np.ndarray, labels: np.ndarray, layers: np.ndarray, names: list[str], n_units: int) -> np.ndarray:
    """Per unit, the sum of ``layers`` whose label is each of ``names`` (labels not in ``names`` left out)."""
    index = {k: i for i, k in enumerate(names)}
    cols = np.fromiter((index.get(str(v), -1) for v in labels), dtype=int, count=len(labels))
    out = np.zeros((n_units, len(names)))
    ok = cols >= 0
    np.add.at(out, (units[ok], cols[ok]), layers[ok])
    return out


def composition(
    base: LayerTypeModel, data: LayerData, keys: list[str], pairs: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: the share of the baseline prediction in each of ``keys``, then in each adjacent pair of op
    keys of ``pairs`` (see :func:`adjacent_pairs`), and the log of the baseline total.

    Returns:
        ``(features, baseline_totals)``; features have ``len(keys) + len(pairs) + 1`` columns.
    """
    resolved, _ = base.resolve_keys(data)
    layers = base.predict_layers(resolved)
    units = resolved.frame["unit"].to_numpy(dtype=int)
    totals = np.zeros(data.n_units)
    np.add.at(totals, units, layers)
    if base.level_ == "network":
        totals = totals + base.network_cost_
    shares = _shares(units, resolved.frame["op_key"].to_numpy(), layers, keys, data.n_units)
    if pairs:
        labels = adjacent_pairs(resolved.frame)
        shares = np.column_stack([shares, _shares(units, labels, layers, pairs, data.n_units)])
    safe = np.where(totals > 0, totals, 1.0)
    feats = np.column_stack([shares / safe[:, None], np.log(safe)])
    return feats, totals


def _rbf(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    d2 = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T
    return np.asarray(np.exp(-gamma * np.maximum(d2, 0.0)))


class ResidualModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Non-negative layer-type baseline × (1 + kernel-ridge correction of its relative error).

    Parameters:
        alphas: candidate ridge strengths of the correction.
        gammas: candidate RBF widths (on standardised composition features).
        clip: largest correction magnitude (relative).
        max_points: at most this many training networks are kept for the correction (a random subset,
            seeded) so that predictor files stay small.
        cv: folds of the grouped cross-validation choosing ``alpha`` and ``gamma``.
        neighbours: add the shares of adjacent pairs of op keys to the composition.
    """

    def __init__(
        self,
        alphas: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
        gammas: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1),
        clip: float = 0.3,
        max_points: int = 1000,
        cv: int = 5,
        neighbours: bool = True,
    ):
        self.alphas = alphas
        self.gammas = gammas
        self.clip = clip
        self.max_points = max_points
        self.cv = cv
        self.neighbours = neighbours

    def _fit_krr(self, Z: np.ndarray, r: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
        K = _rbf(Z, Z, gamma)
        K[np.diag_indices_from(K)] += alpha
        return np.asarray(np.linalg.solve(K, r))

    def fit(self, X: LayerData, y: Any) -> ResidualModel:
        """Fit the baseline, then the correction of its relative error.

        Returns:
            self.
        """
        data, target = _check_data(self, X, y)
        assert target is not None
        base = LayerTypeModel().fit(data, target)
        keys = sorted(base.op_keys_)
        pairs = sorted({str(p) for p in adjacent_pairs(data.frame)}) if self.neighbours else []
        feats, totals = composition(base, data, keys, pairs)
        # A unit the baseline puts at zero (a layer whose fitted terms all vanished) has no relative error to
        # learn; its prediction stays zero whatever the factor.
        r = np.divide(target, totals, out=np.ones_like(target), where=totals > 0) - 1.0
        mean = feats.mean(axis=0)
        std = feats.std(axis=0)
        std[std == 0] = 1.0
        Z = (feats - mean) / std
        rng = np.random.default_rng(0)
        groups = data.groups
        if len(Z) > self.max_points:
            keep = np.sort(rng.choice(len(Z), self.max_points, replace=False))
            Z, r, groups, target_k, totals_k = Z[keep], r[keep], groups[keep], target[keep], totals[keep]
        else:
            target_k, totals_k = target, totals
        best = (np.inf, self.alphas[0], self.gammas[0])
        n_groups = len(np.unique(groups))
        if n_groups >= 3 and (len(self.alphas) > 1 or len(self.gammas) > 1):
            splits = list(GroupKFold(n_splits=min(self.cv, n_groups)).split(Z, groups=groups))
            for alpha in self.alphas:
                for gamma in self.gammas:
                    errs = []
                    for tr, te in splits:
                        dual = self._fit_krr(Z[tr], r[tr], alpha, gamma)
                        corr = np.clip(_rbf(Z[te], Z[tr], gamma) @ dual, -self.clip, self.clip)
                        errs.append(np.abs(totals_k[te] * (1 + corr) / target_k[te] - 1))
                    score = float(np.mean(np.concatenate(errs)))
                    if score < best[0]:
                        best = (score, alpha, gamma)
        _, alpha, gamma = best
        self.base_ = base
        self.keys_ = keys
        self.pairs_ = pairs
        self.mean_ = mean
        self.std_ = std
        self.points_ = Z
        self.dual_coef_ = self._fit_krr(Z, r, alpha, gamma)
        self.alpha_ = float(alpha)
        self.gamma_ = float(gamma)
        self.level_ = data.level
        self.op_keys_ = base.op_keys_
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    def resolve_keys(self, data: LayerData) -> tuple[LayerData, dict[str, str | None]]:
        """See :meth:`AdditiveModel.resolve_keys`."""
        self._check_fitted()
        return self.base_.resolve_keys(data)

    def factors(self, X: LayerData) -> np.ndarray:
        """The multiplicative correction ``1 + correction`` of every unit."""
        self._check_fitted()
        feats, _ = composition(self.base_, X, self.keys_, self.pairs_)
        Z = (feats - self.mean_) / self.std_
        corr = np.clip(_rbf(Z, self.points_, self.gamma_) @ self.dual_coef_, -self.clip, self.clip)
        return np.asarray(1.0 + corr)

    @property
    def network_cost_(self) -> float:
        """The baseline's fixed cost per network (before correction)."""
        return float(self.base_.network_cost_)

    def predict_layers(self, X: LayerData) -> np.ndarray:
        """Per-layer predictions: the baseline's, scaled by the network's correction factor."""
        self._check_fitted()
        data, _ = _check_data(self, X)
        factors = self.factors(data)
        return np.asarray(self.base_.predict_layers(data) * factors[data.frame["unit"].to_numpy(dtype=int)])

    def predict(self, X: LayerData) -> np.ndarray:
        """One prediction per unit."""
        self._check_fitted()
        data, _ = _check_data(self, X)
        return np.asarray(self.base_.predict(data) * self.factors(data))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
