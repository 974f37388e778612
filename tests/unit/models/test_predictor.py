"""Predictor files: round trip, validation on load, domain warnings, presets, atomic saving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synergy.errors import DatasetError, DomainWarning, OutputExistsError, PredictorFormatError, SynergyWarning
from synergy.graph.layers import LayerTable
from synergy.models import MODELS, ResidualModel
from synergy.models.data import LayerData
from synergy.models.predictor import (
    FORMAT_VERSION,
    LayerPrediction,
    Prediction,
    Predictor,
    load_predictor,
    preset_names,
    training_domain,
)
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


def test_residual_files_without_adjacent_pairs_still_load(tmp_path: Path) -> None:
    tables, y = networks(40, seed=11)
    data = LayerData.from_tables(tables)
    model = ResidualModel(neighbours=False).fit(data, y)
    predictor = Predictor("residual", model, "energy_j", "J", "energy_mj", training_domain(data), {"scores": {}}, {})
    path = predictor.save(tmp_path / "p.json")
    doc = json.loads(path.read_text())
    # the form of the files written before the composition held adjacent pairs of op keys
    del doc["model"]["state"]["pairs"], doc["model"]["params"]["neighbours"]
    path.write_text(json.dumps(doc))
    loaded = load_predictor(path)
    new, _ = networks(5, seed=12)
    a = [p.total for p in predictor.predict_tables(new)]
    np.testing.assert_allclose(a, [p.total for p in loaded.predict_tables(new)], rtol=1e-12)


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
    elif how == "negative":
        doc["model"]["state"]["coef"][0] = -591.0
    elif how == "huge":
        doc["model"]["state"]["coef"][0] = 1e308
    elif how == "huge-cost":
        doc["model"]["state"]["network_cost"] = 1e300
    elif how == "text":
        doc["model"]["state"]["coef"][0] = "1e-3"
    elif how == "range":
        first = next(iter(doc["domain"]["op_keys"].values()))
        first["ranges"]["macs"] = [-1.0, 5.0]
    elif how == "scale":
        doc["model"]["state"]["terms"][0]["scale"] = 1e308
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
        ("negative", "model coefficients holds negative numbers"),
        ("huge", r"model coefficients holds numbers beyond ±1e\+30"),
        ("huge-cost", "network cost holds numbers beyond"),
        ("text", "not a number"),
        ("range", "holds negative numbers"),
        ("scale", "term scales holds numbers beyond"),
    ],
)
def test_invalid_files(tmp_path: Path, how: str, fragment: str) -> None:
    path = fitted("layer-type").save(tmp_path / "p.json")
    path.write_text(json.dumps(damage(json.loads(path.read_text()), how)))
    with pytest.raises(PredictorFormatError, match=fragment) as info:
        load_predictor(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


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
    with pytest.warns(DomainWarning) as caught:
        out = predictor.predict_tables([odd, normal[0]])
    assert issubclass(DomainWarning, SynergyWarning)
    assert {str(w.message) for w in caught} == {f"odd: {text}" for text in out[0].warnings}
    text = " | ".join(out[0].warnings)
    # what stood in for each unseen op type and what its layers were predicted at, as the table shows
    values = {layer.name: layer.prediction for layer in out[0].layers}
    assert f"Sigmoid (as Relu; 1 layer, {values['s']:.3g} J)" in text
    assert f"Concat (no similar op type: the costs every layer shares; 1 layer, {values['cat']:.3g} J)" in text
    assert values["cat"] > 0 and "counted as 0" not in text
    assert "Conv3x3 macs" in text and "outside the training range" in text
    assert out[1].warnings == ()
    assert out[0].total > 0 and len(out[0].layers) == 4


def test_presets_are_listed() -> None:
    names = preset_names()
    for name in ("rpi5-onnxruntime", "rpi5-torchmobile", "rpi5-litert"):
        if name in names:
            predictor = load_predictor(name)
            assert predictor.target == "energy_j" and predictor.unit == "J"


def test_every_layer_with_work_gets_a_positive_prediction() -> None:
    """Layer types the training data holds at a single size, and types it never saw, still cost energy
    in proportion to their work (the terms every layer shares)."""
    tables, y = networks(40, seed=11)
    fixed = [LayerTable(t.model, (), (*t.layers, linear("head", 64, 10)), 0) for t in tables]
    data = LayerData.from_tables(fixed)
    model = MODELS["layer-type"][0]().fit(data, y * 1.02)
    predictor = Predictor("layer-type", model, "energy_j", "J", "energy_mj", training_domain(data))
    big = LayerTable(
        "big",
        (),
        (conv("c", 64, 64, 16, 3), eltwise("pool", "MaxPool", 64, 8), linear("fc", 4096, 4096)),
        0,
    )
    with pytest.warns(DomainWarning):
        (p,) = predictor.predict_tables([big])
    values = {layer.name: layer.prediction for layer in p.layers}
    assert all(v > 0 for v in values.values()), values
    # 16.8 M MACs and 67 MB of weights cost more than the training networks' 640-MAC classifier
    assert values["fc"] > 100 * predictor.predict_tables([fixed[0]], warn=False)[0].layers[-1].prediction


def test_fit_refuses_targets_it_cannot_represent() -> None:
    tables, y = networks(20, seed=3)
    data = LayerData.from_tables(tables)
    for bad in (np.full_like(y, 1e305), y * 1e-30):
        with pytest.raises(DatasetError, match="outside 1e-24…1e\\+24"):
            MODELS["layer-type"][0]().fit(data, bad)


def test_prediction_rows_frames_and_reprs() -> None:
    predictor = fitted("layer-type")
    tables, _ = networks(1, seed=5)
    prediction = predictor.predict(tables[0])
    assert isinstance(prediction, Prediction)
    assert all(isinstance(layer, LayerPrediction) for layer in prediction.layers)
    name, op, value = prediction.layers[0]
    assert (name, op, value) == (prediction.layers[0].name, prediction.layers[0].op, prediction.layers[0].prediction)
    frame = prediction.to_frame()
    assert list(frame.columns) == ["name", "op", "layer_type", "energy_j", "share"]
    assert len(frame) == len(prediction.layers)
    assert frame["energy_j"].sum() + prediction.overhead == pytest.approx(prediction.total)
    assert prediction.to_dict()["layers"][0] == {"name": name, "op": op, "prediction": value}
    for obj in (predictor, prediction):
        text = repr(obj)
        assert len(text) < 200 and "\n" not in text
        assert obj._repr_html_().startswith("<")
    assert "layer-type" in repr(predictor) and "energy_j" in repr(prediction)


def test_predict_accepts_specs_paths_and_modules(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    predictor = fitted("layer-type")
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
    from_module = predictor.predict(module, [(1, 3, 16, 16)], warn=False)
    assert from_module.model == "Sequential" and from_module.total > 0
    assert [layer.op for layer in from_module.layers] == ["Conv", "Relu"]
    with pytest.raises(Exception, match="input_shape"):
        predictor.predict(module)
    with pytest.raises(Exception, match="cannot predict a int"):
        predictor.predict(3)
