"""SyNERGY's hardware-counter models, for layer-level data that carries counters.

On plain arrays (scikit-learn estimators, checked with ``check_estimator``):

- :class:`CounterModel`: ``energy = a·SIMD + b·bus (+ c)`` per layer, from the SIMD instruction count and
  the bus-access count of each layer (any number of counter columns works: one coefficient each).
- :class:`ChainModel`: SyNERGY's MAC-only chain: each counter is predicted from MACs by a linear fit
  (MACs → SIMD, MACs → bus), then the counter model turns the predicted counters into energy. It is fitted
  on layers with measured counters and predicts from MACs alone.

:class:`CounterModel` takes one column per counter; :class:`ChainModel` MACs in the first column and the
counters in the others (only the first column is read by ``predict``).

On layer data (what ``synergy fit --model counters|chain`` fits; :class:`~synergy.models.data.LayerData`
from ``synergy measure`` runs with per-layer counter columns):

- :class:`LayerCounterModel` (``counters``): the counter model on the layers of the covered categories
  (SyNERGY: convolutions); predicting needs the measured counters of those layers.
- :class:`LayerChainModel` (``chain``): the chain on the same layers, fitted with their counters,
  predicting from MACs alone, so it applies to any network's layer table.

Like SyNERGY's, both are models of convolution layers. Every other layer (pooling, activations, fully
connected ...) is predicted by a :class:`~synergy.models.additive.LayerTypeModel` fitted on those layers,
so that every layer gets a prediction and networks can be summed.

Counter columns are those ``synergy measure`` writes (:mod:`synergy.runtime.counters`): on ARM ``ase_spec``
(Advanced SIMD operations) and ``bus_access``; on x86 and ARM ``instructions``, ``cycles``,
``cache_misses``. :func:`counter_support` picks SIMD and bus where both are present on every covered
layer, otherwise every hardware counter that is. ``task_clock_ns`` (CPU time, a software counter) is
never used: fitting time or energy on it restates the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from synergy.errors import DatasetError, NotFittedError
from synergy.models.additive import LayerTypeModel, _check_data, op_key_info, resolve_op_keys
from synergy.models.data import LayerData

__all__ = [
    "COUNTER_COLUMNS",
    "COUNTER_DOCS",
    "COUNTER_ROLES",
    "HARDWARE_COUNTERS",
    "SIMD_BUS",
    "SOFTWARE_COUNTERS",
    "ChainModel",
    "CounterModel",
    "CounterSupport",
    "LayerChainModel",
    "LayerCounterModel",
    "counter_support",
]

#: SyNERGY's two counters: Advanced SIMD operations and bus accesses (ARM PMU events 0x74 and 0x19).
SIMD_BUS: tuple[str, ...] = ("ase_spec", "bus_access")
#: Hardware counter columns of ``layers.csv``, in order of preference.
HARDWARE_COUNTERS: tuple[str, ...] = (*SIMD_BUS, "instructions", "cycles", "cache_misses")
#: Software counter columns (never a model input).
SOFTWARE_COUNTERS: tuple[str, ...] = ("task_clock_ns",)
#: Every counter column ``synergy measure`` may write.
COUNTER_COLUMNS: tuple[str, ...] = (*HARDWARE_COUNTERS, *SOFTWARE_COUNTERS)
#: Counter column → one-line definition (per layer, per inference), stored in predictor files.
COUNTER_DOCS: dict[str, str] = {
    "ase_spec": "Advanced SIMD operations speculatively executed (ARM PMU event 0x74), per layer per inference",
    "bus_access": "bus accesses (ARM PMU event 0x19), per layer per inference",
    "instructions": "instructions retired (generic hardware event), per layer per inference",
    "cycles": "CPU cycles (generic hardware event), per layer per inference",
    "cache_misses": "last-level cache misses (generic hardware event), per layer per inference",
}
#: What the counters measure, for messages.
COUNTER_ROLES: dict[str, str] = {
    "ase_spec": "SIMD",
    "bus_access": "bus",
    "instructions": "instructions",
    "cycles": "cycles",
    "cache_misses": "cache misses",
}


def _linear(
    X: np.ndarray, y: np.ndarray, intercept: bool, weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Weighted least squares ``y ≈ X·coef (+ c)``, columns scaled to unit norm for conditioning."""
    A = np.column_stack([X, np.ones(len(X))]) if intercept else np.asarray(X, float)
    b = np.asarray(y, float)
    if weight is not None:
        root = np.sqrt(weight)
        A, b = A * root[:, None], b * root
    norms = np.sqrt((A**2).sum(axis=0))
    norms[norms == 0] = 1.0
    coef = np.linalg.lstsq(A / norms, b, rcond=None)[0] / norms
    if intercept:
        return coef[:-1], float(coef[-1])
    return coef, 0.0


class CounterModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """``y = Σ_k a_k·counter_k (+ c)``, least squares.

    Parameters:
        fit_intercept: fit the constant ``c``.
    """

    def __init__(self, fit_intercept: bool = True):
        self.fit_intercept = fit_intercept

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CounterModel:
        """Fit on counters ``X`` (one column per counter) and energies ``y``.

        Args:
            X: counters, one column per counter.
            y: energies (or any target).
            sample_weight: weight of every row's squared error (``1/y²`` fits relative error).

        Returns:
            self.
        """
        X, y = validate_data(self, X, y, y_numeric=True)
        weight = _check_sample_weight(sample_weight, X)
        self.coef_, self.intercept_ = _linear(np.asarray(X, float), np.asarray(y, float), self.fit_intercept, weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Energy of every row of counters."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.asarray(np.asarray(X, float) @ self.coef_ + self.intercept_)


class ChainModel(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """MACs → counters → energy (SyNERGY's chain), fitted with counters, predicting from MACs.

    Parameters:
        fit_intercept: fit constants in every stage.
    """

    def __init__(self, fit_intercept: bool = True):
        self.fit_intercept = fit_intercept

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ChainModel:
        """Fit on ``X`` = ``[MACs, counter_1, ...]`` and energies ``y``.

        With a single column the chain degenerates to a MAC-only linear model.

        Args:
            X: MACs, then one column per counter.
            y: energies (or any target).
            sample_weight: weight of every row's squared error in every stage.

        Returns:
            self.
        """
        X, y = validate_data(self, X, y, y_numeric=True)
        weight = _check_sample_weight(sample_weight, X)
        X = np.asarray(X, float)
        macs, counters = X[:, :1], X[:, 1:]
        if counters.shape[1] == 0:
            counters = macs
        stages = [_linear(macs, counters[:, k], self.fit_intercept, weight) for k in range(counters.shape[1])]
        self.counter_coef_ = np.array([s[0][0] for s in stages])
        self.counter_intercept_ = np.array([s[1] for s in stages])
        self.energy_ = CounterModel(self.fit_intercept).fit(counters, y, sample_weight=weight)
        return self

    def predict_counters(self, X: Any) -> np.ndarray:
        """The counters predicted from the MACs (first column of ``X``)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        macs = np.asarray(X, float)[:, :1]
        return np.asarray(macs * self.counter_coef_[None, :] + self.counter_intercept_[None, :])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # predict reads only the MACs column: on data where the others matter, its score is poor by design
        tags.regressor_tags.poor_score = True
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Energy from MACs through the predicted counters."""
        counters = self.predict_counters(X)
        return np.asarray(counters @ self.energy_.coef_ + self.energy_.intercept_)


# -- layer data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterSupport:
    """Which counters layer data offers to the counter models, and why (not).

    Attributes:
        columns: the counter columns to fit on (empty: the counter models cannot be fitted).
        reason: why ``columns`` is empty (empty when it is not).
        layers: covered layers (of ``categories``) in the data.
        categories: the layer categories the counter models cover.
    """

    columns: tuple[str, ...]
    reason: str
    layers: int
    categories: tuple[str, ...]

    @property
    def available(self) -> bool:
        """Whether the counter models can be fitted."""
        return bool(self.columns)

    def require(self, model: str) -> None:
        """Raise the one-line error of ``--model MODEL`` on data without usable counters.

        Raises:
            DatasetError: :attr:`available` is false.
        """
        if not self.available:
            raise DatasetError(
                f"--model {model} needs per-layer hardware counters, and {self.reason}: measure with "
                "'synergy measure --runtime torch' on a CPU whose PMU counts them, or choose another --model"
            )

    def describe(self) -> str:
        """``ase_spec (SIMD) and bus_access (bus)``-style list of the columns."""
        parts = [f"{c} ({COUNTER_ROLES[c]})" if COUNTER_ROLES.get(c, c) != c else c for c in self.columns]
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _usable(frame: pd.DataFrame, column: str) -> bool:
    if column not in frame.columns:
        return False
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return bool(len(values)) and bool(np.all(np.isfinite(values))) and bool(np.all(values >= 0))


def counter_support(data: LayerData, categories: Sequence[str] = ("conv",)) -> CounterSupport:
    """The counter columns :class:`LayerCounterModel` and :class:`LayerChainModel` would fit on.

    SIMD and bus (``ase_spec``, ``bus_access``) where both are counted on every covered layer; otherwise
    every hardware counter counted on every covered layer (and varying between layers).

    Args:
        data: the training data.
        categories: the layer categories the models cover.
    """
    cats = tuple(categories)
    names = "/".join(cats)
    if data.level != "layer":
        return CounterSupport((), "network-level data has no per-layer counters", 0, cats)
    frame = data.frame
    covered = frame[frame["category"].isin(cats)]
    if covered.empty:
        return CounterSupport((), f"the data has no {names} layers", 0, cats)
    present = [c for c in HARDWARE_COUNTERS if c in frame.columns and frame[c].notna().any()]
    if not present:
        software = [c for c in SOFTWARE_COUNTERS if c in frame.columns and frame[c].notna().any()]
        also = f"; {', '.join(software)} is CPU time, not a hardware counter" if software else ""
        reason = (
            "the layers carry no hardware counter column: ase_spec and bus_access (ARM), instructions, cycles or "
            f"cache_misses (where the PMU counts them){also}"
        )
        return CounterSupport((), reason, len(covered), cats)
    usable = [c for c in present if _usable(covered, c)]
    varying = [c for c in usable if covered[c].nunique() > 1]
    if not usable:
        reason = f"{', '.join(present)} are not counted on every {names} layer (runs without per-layer counters)"
        return CounterSupport((), reason, len(covered), cats)
    if not varying:
        return CounterSupport((), f"{', '.join(usable)} do not vary between {names} layers", len(covered), cats)
    if all(c in varying for c in SIMD_BUS):
        return CounterSupport(SIMD_BUS, "", len(covered), cats)
    return CounterSupport(tuple(varying), "", len(covered), cats)


class _CounterLayers(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Shared machinery: a counter-based model on the covered layers, a layer-type model on the others.

    Learned state: ``counters_`` (the counter columns), ``coef_`` and ``intercept_`` (the counter model:
    energy per counted event, constant per layer), ``rest_`` (the :class:`LayerTypeModel` of the other
    layers, ``None`` when training had none), ``op_keys_``, ``counter_ranges_`` (min and max of every
    counter over the covered training layers), ``level_`` (``layer``), ``network_cost_`` (0).
    """

    #: Whether predicting needs the measured counters of the covered layers.
    needs_counters: bool = True
    #: The ``--model`` name, for messages.
    label: str = ""

    def __init__(
        self,
        counters: tuple[str, ...] | None = None,
        categories: tuple[str, ...] = ("conv",),
        fit_intercept: bool = True,
        relative: bool = True,
    ):
        self.counters = counters
        self.categories = categories
        self.fit_intercept = fit_intercept
        self.relative = relative

    # subclasses: fit the covered layers (rows of ``frame``) and predict them
    def _fit_covered(self, frame: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> None:
        raise NotImplementedError

    def _predict_covered(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _covered(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(frame["category"].isin(list(self.categories)).to_numpy(), dtype=bool)

    def _columns(self, data: LayerData) -> tuple[str, ...]:
        support = counter_support(data, self.categories)
        if self.counters is None:
            support.require(self.label)
            return support.columns
        columns = tuple(str(c) for c in self.counters)
        unknown = [c for c in columns if c not in HARDWARE_COUNTERS]
        if unknown or not columns:
            raise ValueError(
                f"{type(self).__name__}: counters must be names from {list(HARDWARE_COUNTERS)}, got {list(columns)}"
            )
        frame = data.frame[self._covered(data.frame)]
        missing = [c for c in columns if not _usable(frame, c)]
        if missing:
            raise DatasetError(
                f"--model {self.label}: {', '.join(missing)} not counted on every {'/'.join(self.categories)} "
                "layer of the data: measure with 'synergy measure --runtime torch' where the PMU counts them"
            )
        return columns

    def fit(self, X: LayerData, y: Any) -> _CounterLayers:
        """Fit on layer-level data ``X`` (one layer per target) and one target per layer ``y`` (SI).

        Returns:
            self.

        Raises:
            DatasetError: network-level data, no covered layers, or no usable counters.
        """
        data, target = _check_data(self, X, y)
        assert target is not None
        frame = data.frame
        units = frame["unit"].to_numpy(dtype=int)
        if data.level != "layer" or len(units) != data.n_units:
            raise DatasetError(
                f"--model {self.label} fits per-layer targets: give layer-level data (layers.csv or run "
                "directories from 'synergy measure')"
            )
        columns = self._columns(data)
        covered = self._covered(frame)
        y_rows = target[units]
        weight = 1.0 / y_rows[covered] ** 2 if self.relative else None
        self.counters_ = columns
        self._fit_covered(frame.loc[covered].reset_index(drop=True), y_rows[covered], weight)
        self.counter_ranges_ = {
            c: [float(frame.loc[covered, c].min()), float(frame.loc[covered, c].max())] for c in columns
        }
        rest = units[~covered]
        self.rest_: LayerTypeModel | None = LayerTypeModel().fit(data.subset(rest), target[rest]) if len(rest) else None
        self.op_keys_ = op_key_info(frame)
        self.level_ = "layer"
        self.network_cost_ = 0.0
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    def resolve_keys(self, data: LayerData) -> tuple[LayerData, dict[str, str | None]]:
        """Op keys unseen in training and the nearest seen key (see :func:`resolve_op_keys`)."""
        self._check_fitted()
        return resolve_op_keys(self.op_keys_, data)

    def predict_layers(self, X: LayerData) -> np.ndarray:
        """Per-layer predictions, in the order of ``X.frame`` (SI units).

        Raises:
            DatasetError: the counter model without the counters of a covered layer.
        """
        self._check_fitted()
        data, _ = _check_data(self, X)
        frame = data.frame
        out = np.zeros(len(frame))
        covered = self._covered(frame)
        if covered.any():
            out[covered] = self._predict_covered(frame.loc[covered].reset_index(drop=True))
        rest = ~covered
        if rest.any() and self.rest_ is not None:
            sub = LayerData(
                frame.loc[rest].reset_index(drop=True), data.n_units, data.groups, data.networks, data.units, data.level
            )
            out[rest] = self.rest_.predict_layers(sub)
        return out

    def predict(self, X: LayerData) -> np.ndarray:
        """One prediction per unit: the sum of its layers."""
        layers = self.predict_layers(X)
        out = np.zeros(X.n_units)
        np.add.at(out, X.frame["unit"].to_numpy(dtype=int), layers)
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


class LayerCounterModel(_CounterLayers):
    """SyNERGY's counter model, ``energy = a·SIMD + b·bus (+ c)``, on the covered layers of layer data.

    Every other layer is predicted by a :class:`LayerTypeModel` fitted on those layers. Predicting needs
    the measured counters of the covered layers (a ``synergy measure`` run).

    Parameters:
        counters: the counter columns; ``None`` picks them with :func:`counter_support`.
        categories: the layer categories the counter model covers (SyNERGY: ``("conv",)``).
        fit_intercept: fit the constant ``c`` per layer.
        relative: least squares on relative error (rows weighted by ``1/y²``) rather than SyNERGY's
            ordinary least squares, which lets the largest layers decide and the small ones err by
            orders of magnitude.
    """

    needs_counters = True
    label = "counters"

    def _fit_covered(self, frame: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> None:
        X = frame[list(self.counters_)].to_numpy(dtype=float)
        model = CounterModel(self.fit_intercept).fit(X, y, sample_weight=weight)
        self.coef_ = np.asarray(model.coef_, dtype=float)
        self.intercept_ = float(model.intercept_)

    def _predict_covered(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.counters_ if not _usable(frame, c)]
        if missing:
            raise DatasetError(
                f"the counters predictor needs {', '.join(missing)} of every {'/'.join(self.categories)} layer: "
                "give a run directory or layers.csv measured with those counters ('synergy measure --runtime "
                "torch'), or fit --model chain to predict from MACs alone"
            )
        return np.asarray(frame[list(self.counters_)].to_numpy(dtype=float) @ self.coef_ + self.intercept_)


class LayerChainModel(_CounterLayers):
    """SyNERGY's chain on the covered layers: MACs → each counter (linear), then the counter model.

    Fitted on layers with measured counters; predicts from MACs alone, so it applies to any network's
    layer table. Every other layer is predicted by a :class:`LayerTypeModel` fitted on those layers.

    Parameters:
        counters: the counter columns; ``None`` picks them with :func:`counter_support`.
        categories: the layer categories the chain covers (SyNERGY: ``("conv",)``).
        fit_intercept: fit constants in every stage.
        relative: least squares on relative error (rows weighted by ``1/y²``) in every stage.

    Learned state beyond the shared one: ``counter_coef_`` and ``counter_intercept_`` (counter per MAC and
    constant, one per counter).
    """

    needs_counters = False
    label = "chain"

    def _fit_covered(self, frame: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> None:
        X = frame[["macs", *self.counters_]].to_numpy(dtype=float)
        model = ChainModel(self.fit_intercept).fit(X, y, sample_weight=weight)
        self.counter_coef_ = np.asarray(model.counter_coef_, dtype=float)
        self.counter_intercept_ = np.asarray(model.counter_intercept_, dtype=float)
        self.coef_ = np.asarray(model.energy_.coef_, dtype=float)
        self.intercept_ = float(model.energy_.intercept_)

    def predict_counters(self, X: LayerData) -> np.ndarray:
        """The counters predicted from MACs for every layer of ``X`` (one column per counter)."""
        self._check_fitted()
        data, _ = _check_data(self, X)
        macs = data.frame["macs"].to_numpy(dtype=float)[:, None]
        return np.asarray(macs * self.counter_coef_[None, :] + self.counter_intercept_[None, :])

    def _predict_covered(self, frame: pd.DataFrame) -> np.ndarray:
        macs = frame["macs"].to_numpy(dtype=float)[:, None]
        counters = macs * self.counter_coef_[None, :] + self.counter_intercept_[None, :]
        return np.asarray(counters @ self.coef_ + self.intercept_)
