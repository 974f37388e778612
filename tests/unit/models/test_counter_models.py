"""SyNERGY's counter and chain models: the scikit-learn contract, the chain's behaviour, and the layer-data
models ``synergy fit --model counters|chain`` fits (coefficients recovered from synthetic counters)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from synergy.errors import DatasetError, NotFittedError
from synergy.models import ChainModel, CounterModel, LayerChainModel, LayerCounterModel
from synergy.models.counters import COUNTER_COLUMNS, SIMD_BUS, counter_support
from synergy.models.data import LayerData
from synergy.models.features import rows_frame
from synergy.runtime.counters import DEFAULT_EVENTS
from synthetic_counters import K_BUS, K_SIMD, A, B, C, counter_data


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


def test_sample_weight_fits_relative_error() -> None:
    rng = np.random.default_rng(2)
    X = rng.uniform(1e3, 1e8, size=(60, 1))
    y = 1e-9 * X[:, 0] * rng.lognormal(0, 0.1, 60) + 1e-6
    plain = CounterModel().fit(X, y)
    relative = CounterModel().fit(X, y, sample_weight=1 / y**2)
    rel_err = {name: np.mean(np.abs(m.predict(X) / y - 1)) for name, m in (("plain", plain), ("rel", relative))}
    assert rel_err["rel"] < rel_err["plain"]


# -- layer data -----------------------------------------------------------------------------------------


def test_layer_counter_model_recovers_the_coefficients() -> None:
    data, y = counter_data(8, seed=3)
    model = LayerCounterModel().fit(data, y)
    assert model.counters_ == ("ase_spec", "bus_access")
    np.testing.assert_allclose(model.coef_, [A, B], rtol=1e-6)
    assert model.intercept_ == pytest.approx(C, rel=1e-6)
    conv = (data.frame["op"] == "Conv").to_numpy()
    np.testing.assert_allclose(model.predict(data)[conv], y[conv], rtol=1e-9)
    # relu layers: the layer-type model fitted on them alone (its ridge penalty shrinks by a few 1e-4)
    assert model.rest_ is not None and set(model.rest_.op_keys_) == {"Relu"}
    np.testing.assert_allclose(model.predict_layers(data)[~conv], y[~conv], rtol=1e-3)


def test_layer_chain_recovers_the_mac_stages_and_predicts_from_macs_alone() -> None:
    data, y = counter_data(10, seed=4)
    model = LayerChainModel().fit(data, y)
    np.testing.assert_allclose(model.counter_coef_, [K_SIMD, K_BUS], rtol=0.05)
    conv = (data.frame["op"] == "Conv").to_numpy()
    truth = A * K_SIMD * data.frame["macs"].to_numpy() + B * K_BUS * data.frame["macs"].to_numpy() + C
    blind = data.frame.drop(columns=["ase_spec", "bus_access", "task_clock_ns"])
    no_counters = LayerData(blind, data.n_units, data.groups, data.networks, data.units, data.level)
    predicted = model.predict_layers(no_counters)
    assert np.mean(np.abs(predicted[conv] / truth[conv] - 1)) < 0.03
    np.testing.assert_allclose(model.predict_counters(no_counters)[conv, 0], K_SIMD * blind["macs"][conv], rtol=0.05)


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(1e-11, 1e-8),
    b=st.floats(1e-10, 1e-7),
    c=st.floats(0.0, 1e-4),
    k_simd=st.floats(0.05, 2.0),
    k_bus=st.floats(1e-4, 0.1),
    seed=st.integers(0, 2**16),
)
def test_counter_and_chain_recover_any_coefficients(
    a: float, b: float, c: float, k_simd: float, k_bus: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    macs = rng.uniform(1e5, 1e8, 40)
    simd = k_simd * macs * rng.lognormal(0, 0.05, 40)
    bus = k_bus * macs * rng.lognormal(0, 0.2, 40)
    energy = a * simd + b * bus + c
    frame = rows_frame([{"name": f"c{i}", "op": "Conv", "macs": m} for i, m in enumerate(macs)])
    frame["ase_spec"], frame["bus_access"] = simd, bus
    frame["unit"] = np.arange(40)
    frame["network"] = np.arange(40) // 5
    data = LayerData(frame, 40, frame["network"].to_numpy(), tuple("abcdefgh"), tuple(frame["name"]), "layer")
    counters = LayerCounterModel().fit(data, energy)
    np.testing.assert_allclose(counters.predict(data), energy, rtol=1e-6)
    assert counters.rest_ is None
    chain = LayerChainModel(relative=False).fit(data, energy)
    # ordinary least squares through the origin of the MAC stages: the slope is the ratio of sums
    slope = np.sum(macs * simd) / np.sum(macs * macs)
    assert chain.counter_coef_[0] == pytest.approx(slope, rel=0.05)
    assert np.all(np.isfinite(chain.predict(data)))


def test_counter_support_prefers_simd_and_bus_then_other_hardware_counters() -> None:
    data, _ = counter_data(3, seed=5)
    support = counter_support(data)
    assert support.columns == SIMD_BUS and support.describe() == "ase_spec (SIMD) and bus_access (bus)"
    frame = data.frame.drop(columns=["bus_access"])
    frame["instructions"] = frame["ase_spec"] * 3 + 1000
    frame["cache_misses"] = frame["macs"] / 100 + 7
    x86 = LayerData(frame, data.n_units, data.groups, data.networks, data.units, "layer")
    assert counter_support(x86).columns == ("ase_spec", "instructions", "cache_misses")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("network", "network-level data"),
        ("software-only", "task_clock_ns is CPU time"),
        ("nan", "not counted on every conv layer"),
        ("no-conv", "no conv layers"),
    ],
)
def test_counter_support_says_why_not(change: str, fragment: str) -> None:
    data, y = counter_data(3, seed=6)
    frame = data.frame.copy()
    level = "layer"
    if change == "network":
        level = "network"
    elif change == "software-only":
        frame = frame.drop(columns=["ase_spec", "bus_access"])
    elif change == "nan":
        frame.loc[0, "ase_spec"] = np.nan
        frame["bus_access"] = np.nan
    elif change == "no-conv":
        frame = frame[frame["op"] != "Conv"].reset_index(drop=True)
    bad = LayerData(frame, len(frame), frame["network"].to_numpy(), data.networks, tuple(frame["name"]), level)
    support = counter_support(bad)
    assert not support.available and fragment in support.reason
    with pytest.raises(DatasetError, match=r"--model counters needs per-layer hardware counters.*--runtime torch"):
        support.require("counters")
    if change != "network":
        with pytest.raises(DatasetError, match="--model chain needs"):
            LayerChainModel().fit(bad, y[frame["unit"].to_numpy()] if change == "no-conv" else y)


def test_layer_models_refuse_network_level_data_and_unknown_counters() -> None:
    data, y = counter_data(3, seed=7)
    network = LayerData(data.frame, data.n_units, data.groups, data.networks, data.units, "network")
    with pytest.raises(DatasetError, match="layer-level data"):
        LayerCounterModel().fit(network, y)
    with pytest.raises(ValueError, match="counters must be names"):
        LayerCounterModel(counters=("task_clock_ns",)).fit(data, y)
    with pytest.raises(NotFittedError):
        LayerChainModel().predict(data)


def test_counter_model_needs_the_counters_to_predict() -> None:
    data, y = counter_data(4, seed=8)
    model = LayerCounterModel().fit(data, y)
    blind = data.frame.drop(columns=["bus_access"])
    with pytest.raises(DatasetError, match=r"needs bus_access .* --model chain"):
        model.predict(LayerData(blind, data.n_units, data.groups, data.networks, data.units, data.level))
    assert LayerCounterModel.needs_counters and not LayerChainModel.needs_counters


def test_counter_model_params_follow_the_estimator_contract() -> None:
    model = LayerCounterModel(counters=("ase_spec",), fit_intercept=False)
    assert model.get_params() == {
        "counters": ("ase_spec",),
        "categories": ("conv",),
        "fit_intercept": False,
        "relative": True,
    }
    data, y = counter_data(3, seed=9)
    fitted = clone(model).fit(data, y)
    assert fitted.intercept_ == 0.0 and fitted.coef_.shape == (1,) and not hasattr(model, "coef_")


def test_every_hardware_event_of_measure_is_a_known_counter_column() -> None:
    assert {e.name for e in DEFAULT_EVENTS} == set(COUNTER_COLUMNS)
