"""The breakdown by layer type never sums an undetermined layer as zero."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from synergy.measurement.result import MeasureResult


def _result(energies: list[float]) -> MeasureResult:
    layers = pd.DataFrame(
        {
            "layer": ["conv", "dw", "relu", "pool", "fc"],
            "op": ["Conv", "Conv", "Relu", "AdaptiveAvgPool", "Linear"],
            "category": ["conv", "conv", "activation", "pooling", "fc"],
            "duration_s": [2e-4, 2.5e-4, 3e-5, 8e-5, 5e-5],
            "energy_j": energies,
            "macs": [110_592, 36_864, 0, 0, 160],
        }
    )
    return MeasureResult(None, layers, {}, None, None)


def test_every_layer_determined_gives_every_share() -> None:
    table = _result([2.4e-3, 3.1e-3, 0.35e-3, 1.0e-3, 0.6e-3]).breakdown().set_index("type")
    assert table.loc["conv", "energy_j"] == pytest.approx(5.5e-3)
    assert table["energy_share"].sum() == pytest.approx(1.0)


def test_a_type_with_an_undetermined_layer_has_no_energy() -> None:
    table = _result([2.4e-3, 3.1e-3, 0.35e-3, 1.0e-3, math.nan]).breakdown().set_index("type")
    assert math.isnan(table.loc["fc", "energy_j"]) and math.isnan(table.loc["fc", "energy_share"])
    # the other types' shares are of the determined layers' energy
    assert table.loc["conv", "energy_share"] == pytest.approx(5.5 / 6.85)
    assert table["time_share"].sum() == pytest.approx(1.0)


def test_one_undetermined_layer_of_a_type_is_not_a_partial_sum() -> None:
    table = _result([2.4e-3, math.nan, 0.35e-3, 1.0e-3, 0.6e-3]).breakdown().set_index("type")
    assert math.isnan(table.loc["conv", "energy_j"])
    assert table.loc["pooling", "energy_j"] == pytest.approx(1.0e-3)
