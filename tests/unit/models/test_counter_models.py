"""SyNERGY's counter and chain models: the scikit-learn contract and the chain's behaviour."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from synergy.models import ChainModel, CounterModel


@parametrize_with_checks([CounterModel(), CounterModel(fit_intercept=False), ChainModel()])
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)


def test_counter_model_recovers_coefficients() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(1e6, 1e8, size=(50, 2))
    y = 2e-9 * X[:, 0] + 5e-9 * X[:, 1] + 1e-3
    model = CounterModel().fit(X, y)
    np.testing.assert_allclose(model.coef_, [2e-9, 5e-9], rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, 1e-3, rtol=1e-6)


def test_chain_predicts_from_macs_alone() -> None:
    rng = np.random.default_rng(1)
    macs = rng.uniform(1e6, 1e9, size=80)
    simd = 0.25 * macs + 1e4
    bus = 0.01 * macs + 5e3
    energy = 2e-9 * simd + 5e-8 * bus
    X = np.column_stack([macs, simd, bus])
    model = ChainModel().fit(X, energy)
    only_macs = np.column_stack([macs, np.zeros_like(macs), np.zeros_like(macs)])
    np.testing.assert_allclose(model.predict(only_macs), energy, rtol=1e-6)
    np.testing.assert_allclose(model.predict_counters(only_macs)[:, 0], simd, rtol=1e-6)
