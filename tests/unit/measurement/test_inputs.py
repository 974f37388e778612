"""``measure`` with the user's own inputs: the real values are fed, on both runtimes, and bad ones are refused
before anything is opened or written."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

import synergy
from synergy.errors import InputShapeError, UsageError
from synergy.measurement.inputs import given_inputs
from synergy.runtime.base import MeasureSettings
from synergy.runtime.onnxruntime import OnnxRuntime

#: A short measurement without a sensor, counters or context (nothing to warn about on a busy machine).
QUICK: dict[str, Any] = {"sensor": "none", "runs": 6, "warmup": 1, "idle_s": 0.0, "counters": False, "context": False}


class _Recorder(torch.nn.Module):
    """Remembers the first value of every input it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[float] = []
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.relu = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(float(x.flatten()[0]))
        return self.relu(self.conv(x))


def _batches(*values: float, shape: tuple[int, ...] = (1, 3, 8, 8)) -> list[torch.Tensor]:
    return [torch.full(shape, value) for value in values]


def test_the_given_values_are_fed_run_after_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    module = _Recorder()
    result = synergy.measure(module, inputs=_batches(1.0, 2.0, 3.0), runtime="torch", **QUICK)
    assert result.out_dir is None and list(tmp_path.iterdir()) == []
    measured = module.seen[-6:]  # after the analysis and the warm-up
    assert measured == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
    assert result.run["inputs"] == {"source": "given", "batches": 3, "shapes": [[1, 3, 8, 8]]}
    assert result.run["options"]["input_shape"] is None and result.run["model"] == "_Recorder"


def test_without_inputs_a_random_input_is_recorded() -> None:
    result = synergy.measure(_Recorder(), runtime="torch", input_shape=((1, 3, 6, 6),), **QUICK)
    assert result.run["inputs"] == {"source": "random", "batches": 1, "shapes": [[1, 3, 6, 6]]}


def test_data_loader_batches_feed_their_first_element() -> None:
    x = torch.arange(4, dtype=torch.float32).reshape(4, 1, 1, 1).expand(4, 3, 8, 8).contiguous()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(4)), batch_size=2)
    module = _Recorder()
    result = synergy.measure(module, inputs=loader, runtime="torch", **QUICK)
    assert module.seen[-6:] == [0.0, 2.0, 0.0, 2.0, 0.0, 2.0]  # the first value of each batch of two
    assert result.run["inputs"]["batches"] == 2 and result.run["inputs"]["shapes"] == [[2, 3, 8, 8]]


def test_batches_of_other_shapes_are_refused_before_the_sensor_is_opened(tmp_path: Path) -> None:
    out = tmp_path / "out"
    batches = [*_batches(1.0, 2.0), torch.zeros(1, 3, 16, 16)]
    # an empty sysfs root: opening the RAPL sensor would fail with SensorUnavailable
    with pytest.raises(InputShapeError, match=r"batch 3 .*expected 1x3x8x8, got 1x3x16x16"):
        synergy.measure(_Recorder(), out, inputs=batches, sensor="rapl", sysfs_root=tmp_path)
    assert not out.exists()


def test_an_input_shape_other_than_the_batches_is_refused() -> None:
    with pytest.raises(InputShapeError, match="1x3x8x8"):
        synergy.measure(_Recorder(), inputs=_batches(1.0), input_shape=((1, 3, 4, 4),), **QUICK)


def test_inputs_and_an_example_input_are_refused_together() -> None:
    with pytest.raises(UsageError, match="not both"):
        synergy.measure(_Recorder(), inputs=_batches(1.0), example_input=torch.zeros(1, 3, 8, 8), **QUICK)


def test_an_unknown_keyword_names_the_parameter_and_the_options(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        synergy.measure(_Recorder(), tmp_path / "out", rnus=5)
    text = str(caught.value)
    assert "'rnus'" in text and "MeasureOptions" in text and "runs" in text and "sensor" in text
    assert not (tmp_path / "out").exists()


def test_not_a_tensor_is_refused() -> None:
    with pytest.raises(UsageError, match=r"batch 2 .* str"):
        given_inputs([torch.zeros(1, 3), "text"], limit=10)
    with pytest.raises(UsageError, match="no batch"):
        given_inputs([], limit=10)


def test_the_options_object_still_works_with_keywords_in_place(tmp_path: Path) -> None:
    options = synergy.MeasureOptions(model=_Recorder(), runtime="torch", **QUICK)  # type: ignore[arg-type]
    result = synergy.measure(options, tmp_path / "run", example_input=torch.zeros(1, 3, 8, 8), runs=4)
    assert result.run["runs"] == 4 and (tmp_path / "run" / "layers.csv").is_file()


def _small_onnx(folder: Path) -> Path:
    path = folder / "small.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Plain().eval(), (torch.zeros(1, 3, 8, 8),), str(path), dynamo=False, input_names=["input"])
    return path


class _Plain(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


class _Feeds:
    """An ONNX Runtime session that remembers what each run was fed."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.fed: list[float] = []

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> Any:
        self.fed.append(float(feeds["input"].flat[0]))
        return self.session.run(names, feeds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def test_onnxruntime_feeds_the_given_batches(tmp_path: Path) -> None:
    runtime = OnnxRuntime(_small_onnx(tmp_path), tmp_path / "ort", input_shape=((1, 3, 8, 8),))
    runtime.set_input([[np.full((1, 3, 8, 8), v, dtype=np.float64)] for v in (1.0, 2.0)])
    fed = _Feeds(runtime.session)
    runtime.session = fed
    runtime.measure(MeasureSettings(runs=4, warmup=1, pause_s=(0.0, 0.0)))
    assert fed.fed == [1.0, 1.0, 2.0, 1.0, 2.0]  # the warm-up, then the runs from the first batch
    assert runtime.feeds["input"].dtype == np.float32
    with pytest.raises(InputShapeError, match="expected shape 1x3x8x8, got 1x3x9x9"):
        runtime.set_input([[np.zeros((1, 3, 9, 9), dtype=np.float32)]])
    runtime.close()


def test_measure_on_onnxruntime_with_given_inputs_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).standard_normal((2, 1, 3, 8, 8)).astype(np.float32)
    result = synergy.measure(_Plain(), inputs=list(x), runtime="onnxruntime", **QUICK)
    assert list(tmp_path.iterdir()) == []
    assert result.run["inputs"]["source"] == "given" and result.run["runtime"]["inputs"] == {"input": [1, 3, 8, 8]}
    assert "model.onnx" in result.files and isinstance(result.files["model.onnx"], bytes)
    assert result.run["onnx_sha256"] == hashlib.sha256(result.files["model.onnx"]).hexdigest()
    assert not any(name.startswith("ort/optimized") for name in result.files)


def test_one_copy_of_an_onnx_model_unless_kept(tmp_path: Path) -> None:
    model = _small_onnx(tmp_path)
    default = synergy.measure(str(model), tmp_path / "one", **QUICK)
    assert not (tmp_path / "one" / "ort" / "optimized.onnx").exists()
    assert (tmp_path / "one" / "ort" / "ort_profile.json").is_file()  # the layer names' source stays
    run = json.loads((tmp_path / "one" / "run.json").read_text())
    assert run["onnx_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest() and run["onnx_file"] is None
    assert default.layers["layer"].str.contains("Conv").any()
    kept = synergy.measure(model, tmp_path / "kept", keep_models=True, **QUICK)
    assert onnx.load(str(tmp_path / "kept" / "ort" / "optimized.onnx")).graph.node
    assert list(kept.layers["layer"]) == list(default.layers["layer"])


def test_stages_are_reported_from_the_first(tmp_path: Path) -> None:
    stages: list[str] = []
    synergy.measure(_Recorder(), tmp_path / "run", inputs=_batches(1.0), runtime="torch", stage=stages.append, **QUICK)
    assert stages[0] == "resolving model"
    order = ["resolving model", "opening sensor", "analysing model", "warm-up", "runs", "attributing", "writing"]
    assert [s for s in stages if s in order] == order
    assert set(stages) <= set(synergy.measurement.pipeline.STAGES)
