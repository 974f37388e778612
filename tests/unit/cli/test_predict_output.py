"""``synergy predict``'s table view: top and sort, human units, and each warning said once."""

from __future__ import annotations

import pytest

from synergy.cli import main
from synergy.cli.predict import _warn
from synergy.models.predictor import Prediction

ARCH = "nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_top_and_sort_on_a_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "rpi5-onnxruntime", ARCH, "--top", "4", "--sort", "energy_j"]) == 0
    out = capsys.readouterr().out
    table = out.split("by layer type")[0]
    assert "energy (µJ)" in table and "share (%)" in table
    assert table.count(" Conv ") == 4 and "more row(s) not shown" in table
    assert "e-0" not in out.split("by layer type")[1].split(ARCH)[0]  # no scientific notation in the tables


def test_each_warning_is_said_once_with_its_models(capsys: pytest.CaptureFixture[str]) -> None:
    same = "op types never seen in training: " + ", ".join(f"Op{i} (predicted as Conv3x3)" for i in range(12))
    predictions = [
        Prediction(model, "energy_j", "J", 1.0, 0.0, (), (same, *extra))
        for model, extra in (("a", ()), ("b", ("b alone",)), ("c", ()))
    ]
    _warn(predictions)
    err = capsys.readouterr().err
    assert err.count("op types never seen") == 1 and "3 models (a, b, c)" in err
    assert "warning: b: b alone" in err
    assert all(len(line) <= 120 for line in err.splitlines())
