"""Additive models: network-level and layer-level fitting on synthetic networks with known costs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from synergy.errors import NotFittedError
from synergy.graph.layers import Layer, LayerTable
from synergy.models import MODELS, LayerTypeModel, MacLinearModel, OpMeanBaseline, PolynomialModel, ResidualModel
from synergy.models.data import LayerData
from synergy.models.evaluate import metrics
from synergy.models.residual import adjacent_pairs
from synthetic_nets import conv, cost, eltwise, linear, networks


@pytest.fixture(scope="module")
def split() -> tuple[LayerData, np.ndarray, LayerData, np.ndarray]:
    tables, y = networks(90, seed=1)
    train = LayerData.from_tables(tables[:60])
    test = LayerData.from_tables(tables[60:])
    return train, y[:60], test, y[60:]


def layer_level(tables: list[LayerTable]) -> tuple[LayerData, np.ndarray]:
    data = LayerData.from_tables(tables)
    frame = data.frame.copy()
    frame["unit"] = np.arange(len(frame))
    y = np.array([cost(layer) for t in tables for layer in t.layers])
    return LayerData(frame, len(frame), frame["network"].to_numpy(), data.networks, tuple(frame["name"]), "layer"), y


def test_layer_type_fits_network_totals(split: tuple[LayerData, np.ndarray, LayerData, np.ndarray]) -> None:
    train, y_train, test, y_test = split
    model = LayerTypeModel().fit(train, y_train)
    assert metrics(y_test, model.predict(test))["mean_err"] < 0.01
    assert np.all(model.coef_ >= 0)
    layers = model.predict_layers(test)
    totals = np.zeros(test.n_units)
    np.add.at(totals, test.frame["unit"].to_numpy(), layers)
    np.testing.assert_allclose(totals + model.network_cost_, model.predict(test))


def test_every_model_beats_or_matches_the_baseline(split: tuple[LayerData, np.ndarray, LayerData, np.ndarray]) -> None:
    train, y_train, test, y_test = split
    errors = {
        name: metrics(y_test, factory().fit(train, y_train).predict(test))["mean_err"]
        for name, (factory, _) in MODELS.items()
    }
    assert errors["layer-type"] < errors["op-mean"]
    assert errors["residual"] < errors["op-mean"]
    assert errors["polynomial"] < 0.05
    assert errors["mac-linear"] > errors["layer-type"]


def test_layer_level_recovers_per_layer_costs() -> None:
    tables, _ = networks(40, seed=2)
    data, y = layer_level(tables)
    model = LayerTypeModel().fit(data, y)
    assert model.level_ == "layer" and model.network_cost_ == 0.0
    np.testing.assert_allclose(model.predict(data), y, rtol=0.02)
    base = OpMeanBaseline().fit(data, y)
    assert metrics(y, base.predict(data))["mean_err"] > metrics(y, model.predict(data))["mean_err"]


def test_mac_linear_is_a_line_in_macs() -> None:
    tables, y = networks(30, seed=3)
    data = LayerData.from_tables(tables)
    model = MacLinearModel().fit(data, y)
    macs = np.array([t.macs for t in tables], dtype=float)
    slope = model.coef_[0] / model.terms_[0].scale
    np.testing.assert_allclose(model.predict(data), slope * macs + model.network_cost_)


def test_unseen_kernel_falls_back_to_nearest() -> None:
    tables, y = networks(30, seed=4)
    model = LayerTypeModel().fit(LayerData.from_tables(tables), y)
    new = LayerTable("n", (), (conv("c", 16, 16, 8, 5), eltwise("r", "Relu", 16, 8), linear("fc", 16, 10)), 0)
    data = LayerData.from_tables([new])
    _, mapping = model.resolve_keys(data)
    assert mapping == {"Conv5x5": "Conv3x3"}
    assert model.predict(data)[0] > 0


def is_1x1(layer: Layer) -> bool:
    return layer.op == "Conv" and layer.macs == layer.input_shapes[0][1] * layer.output_elements


def test_residual_learns_a_composition_effect() -> None:
    tables, y = networks(160, seed=5)
    data = LayerData.from_tables(tables)
    # energy 15 % higher on networks dominated by 1x1 convolutions: not expressible additively
    share = np.array([sum(lay.macs for lay in t.layers if is_1x1(lay)) / t.macs for t in tables])
    y = y * (1 + 0.15 * (share > 0.5))
    train, test = np.arange(120), np.arange(120, 160)
    base = LayerTypeModel().fit(data.subset(train), y[train])
    res = ResidualModel().fit(data.subset(train), y[train])
    e_base = metrics(y[test], base.predict(data.subset(test)))["mean_err"]
    e_res = metrics(y[test], res.predict(data.subset(test)))["mean_err"]
    assert e_res < e_base
    factors = res.factors(data.subset(test))
    assert np.all(np.abs(factors - 1) <= res.clip + 1e-12)


def test_adjacent_pairs_follow_the_layer_order_within_each_network() -> None:
    tables, _ = networks(2, seed=7)
    data = LayerData.from_tables(tables)
    pairs = adjacent_pairs(data.frame)
    for unit in range(2):
        keys = list(data.frame.loc[data.frame["unit"] == unit, "op_key"])
        expected = [f"{a}>{b}" for a, b in zip(["^", *keys[:-1]], keys, strict=True)]
        assert list(pairs[data.frame["unit"].to_numpy() == unit]) == expected


def test_residual_learns_which_op_follows_which() -> None:
    tables, y = networks(240, seed=8)
    data = LayerData.from_tables(tables)
    # 20 % more energy where the classifier runs right after an Add: the op counts cannot tell
    after_add = np.array([t.layers[-2].op == "Add" for t in tables])
    y = y * (1 + 0.2 * after_add)
    train, test = np.arange(180), np.arange(180, 240)
    errors = {}
    for neighbours in (False, True):
        model = ResidualModel(neighbours=neighbours).fit(data.subset(train), y[train])
        assert (len(model.pairs_) > 0) == neighbours
        errors[neighbours] = metrics(y[test], model.predict(data.subset(test)))["mean_err"]
    assert errors[True] < 0.7 * errors[False]


@pytest.mark.parametrize("factory", [OpMeanBaseline, MacLinearModel, LayerTypeModel, PolynomialModel, ResidualModel])
def test_estimator_contract(factory: type) -> None:
    model = factory()
    assert clone(model).get_params() == model.get_params()
    tables, y = networks(12, seed=6)
    data = LayerData.from_tables(tables)
    with pytest.raises(NotFittedError):
        model.predict(data)
    assert model.fit(data, y) is model
    with pytest.raises(TypeError, match="LayerData"):
        model.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="units"):
        factory().fit(data, y[:-1])
