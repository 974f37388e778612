"""Predictor files of the counter models: JSON round trip, validation, what each can predict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synergy.errors import DatasetError, DomainWarning, ModelSpecError, PredictorFormatError
from synergy.models import COUNTER_MODELS
from synergy.models.counters import counter_support
from synergy.models.data import LayerData
from synergy.models.features import layer_frame
from synergy.models.predictor import Predictor, load_predictor, training_domain
from synthetic_counters import counter_data
from synthetic_nets import networks


def fitted(name: str) -> Predictor:
    data, y = counter_data(8, seed=21)
    columns = counter_support(data).columns
    model = COUNTER_MODELS[name][0](counters=columns).fit(data, y)
    domain = training_domain(data)
    domain["counters"] = model.counter_ranges_
    return Predictor(name, model, "energy_j", "J", "energy_j", domain, {"scores": {}}, {})


def measured(seed: int) -> tuple[list[pd.DataFrame], list[str]]:
    """Layer frames of networks 'measured' with counters (one frame per network)."""
    data, _ = counter_data(3, seed=seed)
    frame = data.frame
    return [frame[frame["network"] == i].drop(columns=["unit", "network"]) for i in range(3)], ["a", "b", "c"]


@pytest.mark.parametrize("name", list(COUNTER_MODELS))
def test_round_trip(tmp_path: Path, name: str) -> None:
    predictor = fitted(name)
    loaded = load_predictor(predictor.save(tmp_path / "p.json"))
    assert loaded.name == name and loaded.needs_counters == (name == "counters")
    frames, names = measured(22)
    a = predictor.predict_frames(frames, names, warn=False)
    b = loaded.predict_frames(frames, names, warn=False)
    np.testing.assert_allclose([p.total for p in a], [p.total for p in b], rtol=1e-12)
    assert [len(p.layers) for p in b] == [len(f) for f in frames]
    np.testing.assert_allclose([sum(x for _, _, x in p.layers) for p in b], [p.total for p in b], rtol=1e-12)
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["model"]["state"]["counters"] == ["ase_spec", "bus_access"]
    assert set(doc["domain"]["counters"]) == {"ase_spec", "bus_access"}
    assert "SIMD" in doc["features"]["ase_spec"] and "macs" in doc["features"]
    assert doc["target"]["level"] == "layer"


def test_the_chain_predicts_any_network_from_its_layer_table() -> None:
    predictor = fitted("chain")
    tables, _ = networks(3, seed=23)
    with pytest.warns(DomainWarning):
        predictions = predictor.predict_tables(tables)
    assert all(p.total > 0 and np.isfinite(p.total) for p in predictions)
    # the same networks as layer frames (no counters at all): the same predictions
    again = predictor.predict_frames([layer_frame(t) for t in tables], [t.model for t in tables], warn=False)
    np.testing.assert_allclose([p.total for p in again], [p.total for p in predictions], rtol=1e-12)
    assert any("never seen" in w for p in predictions for w in p.warnings)  # Add, Linear, Conv1x1 ...


def test_the_counter_model_refuses_layer_tables_and_runs_without_counters() -> None:
    predictor = fitted("counters")
    tables, _ = networks(1, seed=24)
    with pytest.raises(ModelSpecError, match=r"measured counters \(ase_spec, bus_access\).*--model chain"):
        predictor.predict_tables(tables)
    frames, names = measured(25)
    frames[1] = frames[1].drop(columns=["ase_spec"])
    with pytest.raises(DatasetError, match="needs ase_spec"):
        predictor.predict_frames(frames, names)


def test_counters_beyond_the_training_range_warn() -> None:
    predictor = fitted("counters")
    frames, names = measured(26)
    conv = frames[0]["op"] == "Conv"
    frames[0].loc[conv, "ase_spec"] *= 100
    with pytest.warns(DomainWarning):
        predictions = predictor.predict_frames(frames, names)
    assert any("ase_spec ×" in w for w in predictions[0].warnings)
    assert not any("ase_spec" in w for p in predictions[1:] for w in p.warnings)


def damage(doc: dict[str, Any], how: str) -> None:
    state = doc["model"]["state"]
    if how == "coef":
        state["coef"] = state["coef"][:1]
    elif how == "counter":
        state["counters"] = ["task_clock_ns", "bus_access"]
    elif how == "nan":
        state["intercept"] = float("nan")
    elif how == "chain":
        state["counter_coef"] = state["counter_coef"][:1]
    elif how == "range":
        doc["domain"]["counters"]["ase_spec"] = [2.0, 1.0]
    elif how == "level":
        doc["domain"]["level"] = "network"
    elif how == "rest":
        del state["rest"]["state"]["coef"]


@pytest.mark.parametrize("how", ["coef", "counter", "nan", "chain", "range", "level", "rest"])
def test_damaged_files_are_refused(tmp_path: Path, how: str) -> None:
    path = fitted("chain").save(tmp_path / "p.json")
    doc = json.loads(path.read_text())
    damage(doc, how)
    path.write_text(json.dumps(doc))
    with pytest.raises(PredictorFormatError, match="re-create it with 'synergy fit'"):
        load_predictor(path)


def test_a_network_level_frame_set_sums_per_network() -> None:
    frames, names = measured(27)
    data = LayerData.from_frames(frames, names)
    assert data.n_units == 3 and data.level == "network"
    assert data.frame["unit"].tolist() == [i for i, f in enumerate(frames) for _ in range(len(f))]
