"""The shipped Raspberry Pi 5 presets, and the protocol behind them on the public data (skipped without it)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synergy.models import MODELS
from synergy.models.data import LayerData
from synergy.models.evaluate import small_train
from synergy.predictor import load_predictor, preset_names
from synergy.tablecache import analyze_many

PRESETS = ("rpi5-onnxruntime", "rpi5-torchmobile", "rpi5-litert")
CONV_HEAVY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def test_presets_ship() -> None:
    assert set(PRESETS) <= set(preset_names())


@pytest.mark.parametrize("name", PRESETS)
def test_presets_hold_up_when_the_input_changes(name: str) -> None:
    predictor = load_predictor(name)
    assert predictor.target == "energy_j" and predictor.unit == "J"
    assert predictor.evaluation["scores"] and predictor.evaluation["small_data"]["scores"]
    specs = [f"nb201:{CONV_HEAVY}", f"nb201:{MIXED}"]
    base = predictor.predict_tables(analyze_many([(s, None) for s in specs]))
    one_channel = predictor.predict_tables(analyze_many([(s, ((1, 1, 32, 32),)) for s in specs]))
    larger = predictor.predict_tables(analyze_many([(s, ((1, 3, 64, 64),)) for s in specs]))
    for b, g, big in zip(base, one_channel, larger, strict=True):
        for p in (b, g, big):
            assert math.isfinite(p.total) and p.total > 0
            assert all(math.isfinite(v) and v >= 0 for _, _, v in p.layers)
        assert 1e-4 < b.total < 0.1  # a CIFAR network on a Raspberry Pi: millijoules
        assert b.warnings == ()
        assert 0.85 < g.total / b.total <= 1.0  # only the stem sees fewer channels
        assert any("outside the training range" in w for w in big.warnings)
    # four times the pixels: about four times the energy of a conv-dominated network
    assert 2.8 < larger[0].total / base[0].total < 4.5


def first_networks(shared_data: Path, n: int) -> tuple[list[str], pd.DataFrame]:
    frame = pd.read_csv(shared_data / "rpi5-nb201" / "measurements.csv")
    archs = sorted(set(frame["arch_str"]))
    order = np.random.default_rng(0).permutation(len(archs))  # the order scripts/build_presets.py uses
    return sorted(archs[i] for i in order[:n]), frame


def test_small_data_protocol_on_rpi5(shared_data: Path) -> None:
    archs, frame = first_networks(shared_data, 120)
    tables = analyze_many([(f"nb201:{a}", None) for a in archs])
    data = LayerData.from_tables(tables, archs)
    y = frame[frame["framework"] == "onnx"].set_index("arch_str").loc[archs, "energy_mj"].to_numpy() * 1e-3
    scores = {
        name: small_train(name, MODELS[name][0], data, y, n_train=80, repeats=3).scores
        for name in ("mac-linear", "layer-type")
    }
    assert scores["layer-type"]["mean_err"] < 0.06
    assert scores["layer-type"]["kendall_tau"] > 0.8
    assert scores["layer-type"]["mean_err"] < scores["mac-linear"]["mean_err"]
