"""SyNERGY's hardware-counter models, for layer-level data that carries counters.

- :class:`CounterModel`: ``energy = a·SIMD + b·bus (+ c)`` per layer, from the SIMD instruction count and
  the bus-access count of each layer (any number of counter columns works: one coefficient each).
- :class:`ChainModel`: SyNERGY's MAC-only chain: each counter is predicted from MACs by a linear fit
  (MACs → SIMD, MACs → bus), then the counter model turns the predicted counters into energy. It is fitted
  on layers with measured counters and predicts from MACs alone.

Both take a plain 2-D ``X``: :class:`CounterModel` one column per counter; :class:`ChainModel` MACs in the
first column and the counters in the others (only the first column is read by ``predict``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ChainModel", "CounterModel"]


def _linear(X: np.ndarray, y: np.ndarray, intercept: bool) -> tuple[np.ndarray, float]:
    A = np.column_stack([X, np.ones(len(X))]) if intercept else X
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
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

    def fit(self, X: Any, y: Any) -> CounterModel:
        """Fit on counters ``X`` (one column per counter) and energies ``y``.

        Returns:
            self.
        """
        X, y = validate_data(self, X, y, y_numeric=True)
        self.coef_, self.intercept_ = _linear(np.asarray(X, float), np.asarray(y, float), self.fit_intercept)
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

    def fit(self, X: Any, y: Any) -> ChainModel:
        """Fit on ``X`` = ``[MACs, counter_1, ...]`` and energies ``y``.

        With a single column the chain degenerates to a MAC-only linear model.

        Returns:
            self.
        """
        X, y = validate_data(self, X, y, y_numeric=True)
        X = np.asarray(X, float)
        macs, counters = X[:, :1], X[:, 1:]
        if counters.shape[1] == 0:
            counters = macs
        stages = [_linear(macs, counters[:, k], self.fit_intercept) for k in range(counters.shape[1])]
        self.counter_coef_ = np.array([s[0][0] for s in stages])
        self.counter_intercept_ = np.array([s[1] for s in stages])
        self.energy_ = CounterModel(self.fit_intercept).fit(counters, y)
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
