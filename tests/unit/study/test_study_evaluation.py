"""Leave-one-network-out evaluation on synthetic layers (no measurement)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synergy.errors import DatasetError
from synergy.models import MODELS
from synergy.models.features import FEATURES
from synergy.study.evaluation import evaluate_models, training_set


def _layers(networks: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(networks):
        for i in range(12):
            conv = i % 3 != 2
            macs = float(rng.integers(1, 100) * 1e6) if conv else 0.0
            row = {
                "network": f"net{n}",
                "layer": f"l{i}",
                "op": "Conv" if conv else "Relu",
                "category": "conv" if conv else "activation",
                "op_key": "Conv3x3" if conv else "Relu",
            }
            row.update({f: 0.0 for f in FEATURES})
            row.update({"macs": macs, "output_elems": 1e4 * (1 + i), "bytes_moved": 4e4 * (1 + i)})
            row["kernel_area"] = 9.0 if conv else 0.0
            row["cpu_time_s"] = 2e-11 * macs + 1e-9 * row["output_elems"] + 5e-6
            rows.append(row)
    return pd.DataFrame(rows)


def test_exact_linear_data_is_predicted_exactly_out_of_sample() -> None:
    evaluation = evaluate_models(_layers(), "cpu_time_s", "s", models=["op-mean", "layer-type"])
    table = evaluation.table().set_index("model")
    assert table.loc["layer-type", "layer_mean_err_%"] < 1.0
    assert table.loc["layer-type", "network_mean_err_%"] < 1.0
    assert table.loc["op-mean", "layer_mean_err_%"] > table.loc["layer-type", "layer_mean_err_%"]
    assert evaluation.best() == "layer-type"
    assert [ev.protocol for ev in evaluation.layers] == ["leave one network out"] * 2
    # per network: the sums of the same out-of-sample layer predictions
    net = evaluation.networks[1]
    layers = evaluation.layers[1]
    assert np.isclose(net.predicted.sum(), layers.predicted.sum()) and len(net.measured) == 4
    by_type = evaluation.by_type("layer-type")
    assert set(by_type["layer_type"]) == {"conv", "activation"} and "kendall_tau" in by_type.columns
    predictions = evaluation.predictions()
    assert list(predictions.columns) == ["network", "layer", "measured", "op-mean", "layer-type"]


def test_every_model_runs_and_zero_targets_are_left_out() -> None:
    layers = _layers(3)
    layers.loc[[0, 5], "cpu_time_s"] = 0.0
    training, dropped = training_set(layers, "cpu_time_s", "s")
    assert dropped == 2 and training.data.n_units == len(layers) - 2
    evaluation = evaluate_models(layers, "cpu_time_s", "s")
    assert [ev.model for ev in evaluation.layers] == list(MODELS) and evaluation.dropped == 2
    assert np.isfinite(evaluation.table()["layer_mean_err_%"]).all()


def test_one_network_cannot_be_evaluated() -> None:
    with pytest.raises(DatasetError, match="at least 2"):
        evaluate_models(_layers(1), "cpu_time_s", "s")
