"""A notebook's journey: an in-memory module and real batches measured without an output directory, the result
saved and read back, the cell run again, and the module predicted by a shipped preset."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import synergy
from synergy.graph.leaves import leaf_modules
from synergy.models.dataset import load_layer_runs, load_measured_layers
from synergy.models.predictor import preset_names
from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl


class Net(torch.nn.Module):
    """A few convolutions, activations, a pooling layer and a classifier, with its own input shape."""

    input_shape = (1, 3, 64, 64)

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.relu1 = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(32, 32, 3, padding=1)
        self.relu2 = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def test_measure_in_memory_save_rerun_and_predict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    monkeypatch.chdir(notebook)
    root = tmp_path / "sys-root"
    tree = build_rapl(root, subzones=())
    module = Net()
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randn(*Net.input_shape, generator=generator) for _ in range(3)]
    with SysfsWriter(tree, {"package-0": Constant(20.0)}, default=Constant(0.0)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a loaded machine may be reported
        # 200 runs of this net (about a millisecond each) span hundreds of updates of the 1 ms counter: enough
        # for its six layers even when a loaded machine publishes them late (with 30, all six came out NaN once).
        cell = {"inputs": batches, "runs": 200, "sensor": "rapl", "sysfs_root": root, "runtime": "torch"}
        result = synergy.measure(module, **cell)
        again = synergy.measure(module, **cell)  # the cell run again
    assert list(notebook.iterdir()) == []  # nothing written where the notebook runs
    assert set(result.layers["layer"]) == {name for name, _ in leaf_modules(module)}
    assert result.run["inference_energy_j"] > 0 and result.layers["energy_j"].notna().any()
    assert result.run["inputs"] == {"source": "given", "batches": 3, "shapes": [list(Net.input_shape)]}
    assert again.run["runs"] == 200 and list(again.layers["layer"]) == list(result.layers["layer"])
    text = repr(result)
    assert len(text) < 200 and text.startswith("<MeasureResult Net: 6 layers, ") and "per inference" in text
    assert "<table" in result._repr_html_()

    saved = result.save(tmp_path / "saved")
    names = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()}
    expected = {"layers.csv", "run.json", "events.parquet", "runs.parquet", "samples.parquet", "power_profile.png"}
    assert expected <= names
    with pytest.raises(synergy.OutputExistsError):
        result.save(saved)
    assert result.save(saved, force=True) == saved
    measured = load_measured_layers(saved)
    assert len(measured) == len(result.layers)
    training = load_layer_runs([saved], "energy_j")
    assert len(training.y) > 0 and np.all(training.y > 0)

    predictor = synergy.load_predictor(preset_names()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", synergy.DomainWarning)  # a small net outside the preset's domain
        prediction = predictor.predict(module)  # the module's own input_shape
        from_result = predictor.predict(result)
    frame = prediction.to_frame()
    assert len(frame) > 0 and np.isfinite(prediction.total)
    assert from_result.model == "Net" and len(from_result.layers) == len(result.layers)
