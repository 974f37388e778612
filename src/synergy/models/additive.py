"""Additive energy models: a network's energy is the sum of its layers' energies.

Every model here predicts one layer as ``Σ_k w_k · φ_k(layer)``, where each basis term ``φ_k`` is a product
of features (:mod:`synergy.models.features`) of the layers it selects (one op key, one category, or all),
divided by a fixed scale. A network's prediction is the sum over its layers (plus, for some models, a fixed
cost per network). Because the sum is linear in the weights, the same solver fits per-layer targets
(layer-level data) and network totals (network-level data): at network level the design row of a network is
the sum of its layers' basis rows, so per-layer energies come out of whole-network measurements.

Fitting minimises squared *relative* error (rows weighted by ``1/y``), with a few Huber reweighting
passes so that a handful of broken measurements do not steer the fit.

Models:

- :class:`OpMeanBaseline` — a constant per op key: the per-op-type mean every model must beat.
- :class:`MacLinearModel` — SyNERGY's direct model: ``a·MACs`` per layer plus a constant.
- :class:`LayerTypeModel` — per op key, non-negative coefficients on MACs, bytes moved and output
  elements, plus a fixed cost per layer (dispatch overhead), plus a fixed cost per network.
- :class:`PolynomialModel` — NeuralPower-style: per layer category, a polynomial of the scaled features,
  terms selected by a cross-validated lasso, then refitted.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear, nnls
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV

from synergy.errors import DatasetError, NotFittedError
from synergy.models.data import LayerData
from synergy.models.features import FEATURES

__all__ = [
    "TARGET_RANGE",
    "AdditiveModel",
    "LayerTypeModel",
    "MacLinearModel",
    "OpMeanBaseline",
    "PolynomialModel",
    "Term",
    "fit_relative",
    "op_key_info",
    "resolve_op_keys",
]


#: Targets a fit accepts, in SI units (joules, seconds, watts of one inference): wide enough for any
#: device, narrow enough that squares and sums of them stay finite in double precision.
TARGET_RANGE: tuple[float, float] = (1e-24, 1e24)


@dataclass(frozen=True)
class Term:
    """One basis term: ``Π features / scale`` on the layers it selects, 0 elsewhere.

    Attributes:
        select: ``op_key``, ``category`` or ``any``.
        value: the op key or category selected (``""`` for ``any``).
        features: features multiplied together (empty: the constant 1, a fixed cost per layer).
        scale: divisor keeping the column near 1.
    """

    select: str
    value: str
    features: tuple[str, ...]
    scale: float = 1.0

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``Conv3x3·macs``."""
        what = self.value if self.select != "any" else "*"
        return f"{what}·{'·'.join(self.features) if self.features else '1'}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"select": self.select, "value": self.value, "features": list(self.features), "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Term:
        """Inverse of :meth:`to_dict` (raises ``KeyError``/``TypeError``/``ValueError`` on bad input)."""
        select = str(data["select"])
        if select not in ("op_key", "category", "any"):
            raise ValueError(f"unknown term selector {select!r}")
        features = tuple(str(f) for f in data["features"])
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}")
        scale = float(data["scale"])
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"term scale must be positive, got {scale}")
        return cls(select, str(data["value"]), features, scale)


def layer_design(frame: pd.DataFrame, terms: list[Term]) -> np.ndarray:
    """The basis matrix, one row per layer, one column per term."""
    out = np.zeros((len(frame), len(terms)))
    features = {name: frame[name].to_numpy(dtype=float) for name in FEATURES}
    codes: dict[str, tuple[np.ndarray, dict[str, int]]] = {}
    for k, term in enumerate(terms):
        col = np.ones(len(frame))
        for name in term.features:
            col = col * features[name]
        if term.select == "any":
            out[:, k] = col / term.scale
            continue
        if term.select not in codes:
            labels, uniques = pd.factorize(frame[term.select])
            codes[term.select] = (labels, {str(u): i for i, u in enumerate(uniques)})
        labels, index = codes[term.select]
        mask = labels == index.get(term.value, -2)
        out[:, k] = np.where(mask, col / term.scale, 0.0)
    return out


def unit_design(data: LayerData, terms: list[Term]) -> np.ndarray:
    """The basis matrix summed per target unit (one row per unit)."""
    rows = layer_design(data.frame, terms)
    out = np.zeros((data.n_units, len(terms)))
    np.add.at(out, data.frame["unit"].to_numpy(dtype=int), rows)
    return out


def fit_relative(
    A: np.ndarray,
    y: np.ndarray,
    *,
    nonneg: bool = True,
    ridge: float | np.ndarray = 1e-6,
    floor: np.ndarray | None = None,
    robust: bool = True,
    iterations: int = 4,
    reject: float = 10.0,
) -> np.ndarray:
    """Least squares on relative error, optionally non-negative, ridge-stabilised and Huber-reweighted.

    Args:
        A: design, one row per target.
        y: targets (> 0).
        nonneg: constrain every coefficient to ≥ 0.
        ridge: ridge strength relative to the scaled design (stabilises collinear columns), one for all
            columns or one per column: where columns are collinear, the more lightly penalised carry the fit.
        floor: per column, a lower bound on its coefficient as a fraction of the coefficient that would
            explain the targets with that column alone (``nonneg`` only; 0: no bound beyond ``≥ 0``).
        robust: downweight rows whose relative residual is far out (Huber, 1.345 robust sigmas).
        iterations: reweighting passes when ``robust``.
        reject: rows beyond this many robust sigmas get no weight at all.

    Returns:
        The coefficients.
    """
    n, p = A.shape
    if p == 0:
        return np.zeros(0)
    # relative weights, capped so that a handful of absurdly small targets cannot own the first pass
    w = 1.0 / np.maximum(y, 0.1 * np.median(y))
    Aw = A * w[:, None]
    norms = np.sqrt((Aw**2).sum(axis=0))
    norms[norms == 0] = 1.0
    As = Aw / norms
    target = y * w  # 1 except for capped rows
    huber = np.ones(n)
    coef = np.zeros(p)
    reg = np.diag(np.sqrt(np.broadcast_to(np.asarray(ridge, dtype=float), (p,))))
    lower = None
    if nonneg and floor is not None and np.any(np.asarray(floor) > 0):
        # a column alone explains the (relative) targets with the scaled coefficient As·t / |As|² = As·t
        lower = np.maximum(np.asarray(floor, dtype=float) * (As.T @ target), 0.0)
    for _ in range(iterations if robust else 1):
        h = np.sqrt(huber)
        M = np.vstack([As * h[:, None], reg])
        b = np.concatenate([target * h, np.zeros(p)])
        if nonneg and lower is not None:
            # the solver may overshoot a bound by rounding: the bounds are the model's, not advice
            scaled = np.maximum(lsq_linear(M, b, bounds=(lower, np.inf), method="bvls").x, lower)
        elif nonneg:
            scaled, _ = nnls(M, b, maxiter=50 * p + 500)
        else:
            scaled = np.linalg.lstsq(M, b, rcond=None)[0]
        coef = scaled / norms
        resid = (A @ coef) / y - 1.0  # relative residuals, uncapped
        # robust spread of the relative residuals, floored at 0.5 % (no measurement is better than that)
        sigma = max(1.4826 * float(np.median(np.abs(resid - np.median(resid)))), 0.005)
        cut = 1.345 * sigma
        huber = np.where(np.abs(resid) <= cut, 1.0, cut / np.abs(resid))
        # gross errors (a broken measurement 1000x off) are dropped, not merely downweighted
        huber[np.abs(resid) > reject * sigma] = 0.0
    return np.asarray(coef)


def op_key_info(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Op key → ``{"op", "category", "kernel_area"}`` of every op key in a layer frame."""
    keys = frame.drop_duplicates("op_key")
    return {
        str(key): {"op": str(op), "category": str(cat), "kernel_area": float(area)}
        for key, op, cat, area in zip(
            keys["op_key"], keys["op"], keys["category"], keys["kernel_area"].astype(float), strict=True
        )
    }


def resolve_op_keys(seen: dict[str, dict[str, Any]], data: LayerData) -> tuple[LayerData, dict[str, str | None]]:
    """Map op keys of ``data`` that are not in ``seen`` to the nearest seen key.

    The nearest key has the same op and the nearest kernel area; failing that, the first seen key of the
    same category (never for the category ``other``).

    Args:
        seen: op key → ``{"op", "category", "kernel_area"}`` of the keys seen in training.
        data: the layers to predict.

    Returns:
        The data with substituted keys, and ``unseen key → substitute`` (``None``: no substitute).
    """
    frame = data.frame
    unseen = sorted({str(k) for k in pd.unique(frame["op_key"])} - set(seen))
    if not unseen:
        return data, {}
    mapping: dict[str, str | None] = {}
    info = frame.drop_duplicates("op_key").set_index("op_key")
    ops = info["op"].astype(str).to_dict()
    cats = info["category"].astype(str).to_dict()
    areas = info["kernel_area"].astype(float).to_dict()
    for key in unseen:
        op, cat, area = ops[key], cats[key], areas[key]
        same_op = [k for k, v in seen.items() if v["op"] == op]
        if same_op:
            mapping[key] = min(same_op, key=lambda k: (abs(float(seen[k]["kernel_area"]) - area), k))
            continue
        same_cat = sorted(k for k, v in seen.items() if v["category"] == cat and cat != "other")
        mapping[key] = same_cat[0] if same_cat else None
    frame = frame.copy()
    sub = {k: v for k, v in mapping.items() if v is not None}
    if sub:
        frame["op_key"] = frame["op_key"].replace(sub)
    return LayerData(frame, data.n_units, data.groups, data.networks, data.units, data.level), mapping


def _check_data(model: object, X: Any, y: Any | None = None) -> tuple[LayerData, np.ndarray | None]:
    name = type(model).__name__
    if not isinstance(X, LayerData):
        raise TypeError(f"{name} takes a LayerData (see synergy.models.dataset), got {type(X).__name__}")
    if y is None:
        return X, None
    target = np.asarray(y, dtype=float).ravel()
    if len(target) != X.n_units:
        raise ValueError(f"{name}: y has {len(target)} values but X has {X.n_units} units")
    if len(target) == 0:
        raise DatasetError(f"{name}: no training data")
    if not np.all(np.isfinite(target)) or np.any(target <= 0):
        raise DatasetError(f"{name}: targets must be finite and > 0")
    lo, hi = TARGET_RANGE
    outside = target[(target < lo) | (target > hi)]
    if len(outside):
        raise DatasetError(
            f"{name}: {len(outside)} target(s) outside {lo:g}…{hi:g} (SI units), e.g. {outside[0]:g}: "
            "no physical quantity of one inference is that large or small; check the target column and its unit"
        )
    return X, target


class AdditiveModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Base of the additive models: terms chosen at fit time, one weight per term, summed per unit.

    Subclasses implement :meth:`_terms` (the candidate terms for the training data) and may override
    :meth:`_solve`. Learned state: ``terms_``, ``coef_``, ``network_cost_`` (a fixed cost per network,
    only when fitted on network totals), ``op_keys_`` (op key → op, category, kernel area seen in
    training) and ``level_``.
    """

    #: Whether the model adds a fixed cost per network (network-level fits only).
    network_cost: bool = True
    #: Whether coefficients are constrained to be non-negative.
    nonneg: bool = True

    def _terms(self, data: LayerData, y: np.ndarray) -> list[Term]:
        raise NotImplementedError

    def _ridge(self, terms: list[Term], with_cost: bool) -> float | np.ndarray:
        """Ridge strength of every column (the terms', then the network cost's)."""
        return 1e-6

    def _floor(self, terms: list[Term], with_cost: bool) -> np.ndarray | None:
        """Per column, the lower bound of :func:`fit_relative` (``None``: none)."""
        return None

    def _solve(
        self, A: np.ndarray, y: np.ndarray, data: LayerData, ridge: float | np.ndarray, floor: np.ndarray | None
    ) -> np.ndarray:
        return fit_relative(A, y, nonneg=self.nonneg, ridge=ridge, floor=floor)

    def fit(self, X: LayerData, y: Any) -> AdditiveModel:
        """Fit on layer data ``X`` and one target per unit ``y`` (SI units).

        Returns:
            self.
        """
        data, target = _check_data(self, X, y)
        assert target is not None
        terms = self._terms(data, target)
        A = unit_design(data, terms)
        with_cost = self.network_cost and data.level == "network"
        if with_cost:
            A = np.column_stack([A, np.ones(data.n_units)])
        coef = self._solve(A, target, data, self._ridge(terms, with_cost), self._floor(terms, with_cost))
        self.terms_ = terms
        self.coef_ = coef[: len(terms)]
        self.network_cost_ = float(coef[-1]) if with_cost else 0.0
        self.level_ = data.level
        self.op_keys_: dict[str, dict[str, Any]] = op_key_info(data.frame)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    def resolve_keys(self, data: LayerData) -> tuple[LayerData, dict[str, str | None]]:
        """Map op keys unseen in training to the nearest seen key (same op, nearest kernel; else category).

        Returns:
            The data with substituted keys, and ``unseen key → substitute`` (``None``: no substitute).
        """
        self._check_fitted()
        return resolve_op_keys(self.op_keys_, data)

    def predict_layers(self, X: LayerData) -> np.ndarray:
        """Per-layer predictions, in the order of ``X.frame`` (SI units; fixed network cost excluded)."""
        self._check_fitted()
        data, _ = _check_data(self, X)
        data, _ = self.resolve_keys(data)
        return np.asarray(layer_design(data.frame, self.terms_) @ self.coef_)

    def predict(self, X: LayerData) -> np.ndarray:
        """One prediction per unit: the sum of its layers (plus the fixed network cost)."""
        layers = self.predict_layers(X)
        out = np.zeros(X.n_units)
        np.add.at(out, X.frame["unit"].to_numpy(dtype=int), layers)
        if self.level_ == "network":
            out += self.network_cost_
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = False
        return tags


class OpMeanBaseline(AdditiveModel):
    """A constant per op key (the per-op-type mean): the baseline every model must beat."""

    network_cost = False
    nonneg = True

    def _terms(self, data: LayerData, y: np.ndarray) -> list[Term]:
        return [Term("op_key", k, ()) for k in sorted(data.frame["op_key"].astype(str).unique())]


class MacLinearModel(AdditiveModel):
    """SyNERGY's direct model: energy = a·MACs per layer, plus a constant (per layer at layer level, per
    network at network level)."""

    network_cost = True
    nonneg = False

    def _terms(self, data: LayerData, y: np.ndarray) -> list[Term]:
        scale = float(max(data.frame["macs"].max(), 1.0))
        terms = [Term("any", "", ("macs",), scale)]
        if data.level == "layer":
            terms.append(Term("any", "", ()))
        return terms


class LayerTypeModel(AdditiveModel):
    """Per op key: non-negative coefficients on MACs, bytes moved, output elements, and a fixed cost per
    layer; the same four terms shared by every layer; plus a fixed cost per network (network-level fits).

    The shared terms are what every layer costs for the work it does, whatever its op type: they give a
    layer of a type never seen in training (or seen only at one size) a cost that grows with its MACs and
    bytes. Every term a layer type has work for is kept, even where the training data has a single size
    of that layer (the classifier of every NAS-Bench-201 network): a small ridge penalty spreads the cost
    evenly over terms the data cannot tell apart, instead of letting noise put all of it on one (a fixed
    cost that does not grow with the input, or a per-MAC cost that does).

    Parameters:
        features: the work features per op key (default ``("macs", "bytes_moved", "output_elems")``).
        fixed_cost: include the per-layer fixed cost (dispatch overhead).
        shared: include the terms shared by every layer.
        ridge: ridge strength relative to the scaled design (see :func:`fit_relative`).
        floor: no work is free: the shared cost per MAC and per byte moved is at least this fraction of
            what would explain the targets by MACs (or bytes) alone (see :func:`fit_relative`).
    """

    network_cost = True
    nonneg = True

    def __init__(
        self,
        features: tuple[str, ...] = ("macs", "bytes_moved", "output_elems"),
        fixed_cost: bool = True,
        shared: bool = True,
        ridge: float = 1e-4,
        floor: float = 0.01,
    ):
        self.features = features
        self.fixed_cost = fixed_cost
        self.shared = shared
        self.ridge = ridge
        self.floor = floor

    def _terms(self, data: LayerData, y: np.ndarray) -> list[Term]:
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"LayerTypeModel: unknown feature(s) {unknown}; expected names from {list(FEATURES)}")
        terms: list[Term] = []
        frame = data.frame
        groups: list[tuple[str, str, pd.DataFrame]] = [("any", "", frame)] if self.shared else []
        groups += [("op_key", str(key), rows) for key, rows in frame.groupby("op_key", sort=True)]
        for select, value, rows in groups:
            if self.fixed_cost:
                terms.append(Term(select, value, ()))
            for feature in self.features:
                peak = float(rows[feature].max())
                if peak > 0:
                    terms.append(Term(select, value, (feature,), peak))
        return terms

    def _ridge(self, terms: list[Term], with_cost: bool) -> float | np.ndarray:
        return float(self.ridge)

    def _floor(self, terms: list[Term], with_cost: bool) -> np.ndarray | None:
        if not self.floor:
            return None
        work = [t.select == "any" and t.features in (("macs",), ("bytes_moved",)) for t in terms]
        return np.array([self.floor if w else 0.0 for w in work] + ([0.0] if with_cost else []))


class PolynomialModel(AdditiveModel):
    """NeuralPower-style polynomial per layer category, with lasso feature selection, refitted by least
    squares on the selected terms.

    Parameters:
        degree: highest total degree of the polynomial terms.
        features: the features the polynomial is built from.
        by: ``category`` (NeuralPower's per layer type) or ``op_key``.
        cv: folds of the lasso's cross-validation (grouped by network).
    """

    network_cost = True
    nonneg = False

    def __init__(
        self,
        degree: int = 2,
        features: tuple[str, ...] = ("macs", "bytes_moved", "output_elems"),
        by: str = "category",
        cv: int = 5,
    ):
        self.degree = degree
        self.features = features
        self.by = by
        self.cv = cv

    def _candidates(self, data: LayerData) -> list[Term]:
        if self.by not in ("category", "op_key"):
            raise ValueError(f"PolynomialModel: by must be 'category' or 'op_key', got {self.by!r}")
        terms: list[Term] = []
        for key, rows in data.frame.groupby(self.by, sort=True):
            terms.append(Term(self.by, str(key), ()))
            usable = [f for f in self.features if rows[f].max() > 0 and rows[f].nunique() > 1]
            for d in range(1, self.degree + 1):
                for combo in itertools.combinations_with_replacement(usable, d):
                    scale = float(np.prod([rows[f].max() for f in combo]))
                    terms.append(Term(self.by, str(key), tuple(combo), scale))
        return terms

    def _terms(self, data: LayerData, y: np.ndarray) -> list[Term]:
        candidates = self._candidates(data)
        A = unit_design(data, candidates)
        keep = np.flatnonzero(np.abs(A).sum(axis=0) > 0)
        candidates = [candidates[i] for i in keep]
        A = A[:, keep]
        n_groups = len(np.unique(data.groups))
        if len(candidates) <= 2 or n_groups < 3:
            return candidates
        w = 1.0 / y
        Aw = A * w[:, None]
        norms = np.sqrt((Aw**2).sum(axis=0))
        norms[norms == 0] = 1.0
        folds = min(self.cv, n_groups)
        from sklearn.model_selection import GroupKFold

        splits = list(GroupKFold(n_splits=folds).split(Aw, groups=data.groups))
        lasso = LassoCV(cv=splits, fit_intercept=False, max_iter=5000, alphas=30, tol=1e-3)
        with warnings.catch_warnings():
            # the path's weakest penalties may not converge; the chosen penalty is what matters
            warnings.simplefilter("ignore", ConvergenceWarning)
            lasso.fit(Aw / norms, np.ones(len(y)))
        chosen = [t for t, c in zip(candidates, lasso.coef_, strict=True) if abs(c) > 1e-10]
        return chosen or candidates[:1]

    def _solve(
        self, A: np.ndarray, y: np.ndarray, data: LayerData, ridge: float | np.ndarray, floor: np.ndarray | None
    ) -> np.ndarray:
        return fit_relative(A, y, nonneg=False, ridge=1e-8)
