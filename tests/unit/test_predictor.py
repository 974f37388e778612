"""Predictor files: round trip, validation on load, domain warnings, presets, atomic saving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synergy.errors import OutputExistsError, PredictorFormatError
from synergy.layers import LayerTable
from synergy.models import MODELS
from synergy.models.data import LayerData
from synergy.predictor import FORMAT_VERSION, Predictor, load_predictor, preset_names, training_domain
from synthetic_nets import conv, eltwise, linear, networks


def fitted(name: str) -> Predictor:
    tables, y = networks(40, seed=11)
    data = LayerData.from_tables(tables)
    model = MODELS[name][0]().fit(data, y)
    return Predictor(name, model, "energy_j", "J", "energy_mj", training_domain(data), {"scores": {}}, {})


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip(tmp_path: Path, name: str) -> None:
    predictor = fitted(name)
    path = predictor.save(tmp_path / "p.json")
    loaded = load_predictor(path)
    tables, _ = networks(5, seed=12)
    a = predictor.predict_tables(tables)
    b = loaded.predict_tables(tables)
    np.testing.assert_allclose([p.total for p in a], [p.total for p in b], rtol=1e-12)
    assert loaded.name == name and loaded.target == "energy_j" and loaded.unit == "J"
    doc = json.loads(path.read_text())
    assert doc["format"] == "synergy-predictor" and doc["format_version"] == FORMAT_VERSION
    assert "macs" in doc["features"] and doc["domain"]["op_keys"]


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    predictor = fitted("layer-type")
    path = predictor.save(tmp_path / "p.json")
    with pytest.raises(OutputExistsError, match="--force"):
        predictor.save(path)
    predictor.save(path, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def damage(doc: dict[str, Any], how: str) -> Any:
    if how == "version":
        doc["format_version"] = FORMAT_VERSION + 1
    elif how == "format":
        doc["format"] = "something-else"
    elif how == "coef":
        doc["model"]["state"]["coef"] = doc["model"]["state"]["coef"][:-1]
    elif how == "nan":
        doc["model"]["state"]["coef"][0] = float("nan")
    elif how == "class":
        doc["model"]["class"] = "os.system"
    elif how == "missing":
        del doc["domain"]
    elif how == "list":
        return [doc]
    elif how == "feature":
        doc["model"]["state"]["terms"][0]["features"] = ["__import__"]
    return doc


@pytest.mark.parametrize(
    ("how", "fragment"),
    [
        ("version", "newer than this SyNERGY reads"),
        ("format", "not a SyNERGY predictor"),
        ("coef", "coefficients for"),
        ("nan", "non-finite"),
        ("class", "unknown model class"),
        ("missing", "missing 'domain'"),
        ("list", "not a SyNERGY predictor"),
        ("feature", "unknown feature"),
    ],
)
def test_invalid_files(tmp_path: Path, how: str, fragment: str) -> None:
    path = fitted("layer-type").save(tmp_path / "p.json")
    path.write_text(json.dumps(damage(json.loads(path.read_text()), how)))
    with pytest.raises(PredictorFormatError, match=fragment):
        load_predictor(path)


def test_corrupt_json_and_unknown_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "synergy-predictor", ')
    with pytest.raises(PredictorFormatError, match="not valid JSON"):
        load_predictor(bad)
    with pytest.raises(PredictorFormatError, match="neither a file nor a preset"):
        load_predictor("no-such-preset")


def test_domain_warnings() -> None:
    predictor = fitted("layer-type")
    odd = LayerTable(
        "odd",
        (),
        (
            conv("c", 64, 256, 64, 3),
            eltwise("s", "Sigmoid", 256, 64),
            eltwise("cat", "Concat", 256, 64),
            linear("fc", 256, 10),
        ),
        0,
    )
    normal, _ = networks(1, seed=13)
    out = predictor.predict_tables([odd, normal[0]])
    text = " | ".join(out[0].warnings)
    assert "Sigmoid (predicted as Relu)" in text and "Concat (no substitute" in text
    assert "Conv3x3 macs" in text and "outside the training range" in text
    assert out[1].warnings == ()
    assert out[0].total > 0 and len(out[0].layers) == 4


def test_presets_are_listed() -> None:
    names = preset_names()
    for name in ("rpi5-onnxruntime", "rpi5-torchmobile", "rpi5-litert"):
        if name in names:
            predictor = load_predictor(name)
            assert predictor.target == "energy_j" and predictor.unit == "J"
