"""Every MODEL form measured end to end: NAS-Bench-201 cells on both runtimes, a ``module:callable`` that
declares its input, the built-in CIFAR nets, and in-memory models through the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

import synergy
from journeys.conftest import quick
from synergy.cli import main
from synergy.errors import InputShapeError
from synergy.measurement import MeasureOptions

#: A small NAS-Bench-201 cell (the default input is CIFAR's 32×32).
NB201 = "nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

#: A module:callable whose callable declares its input: no --input-shape is needed.
DECLARED_SOURCE = """
import torch


def build() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 12 * 12, 5)
    )


build.input_shape = (1, 3, 12, 12)
"""


def _run(out: Path) -> dict[str, object]:
    run: dict[str, object] = json.loads((out / "run.json").read_text())
    return run


@pytest.mark.parametrize("runtime", ["onnxruntime", "torch"])
def test_nb201_is_measured_on_both_runtimes(
    runtime: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = ["measure", NB201, "--runtime", runtime, "--sensor", "none", *quick("--runs", "3", "-o", str(out))]
    assert main(argv) == 0, capsys.readouterr().err
    layers = pd.read_csv(out / "layers.csv")
    assert len(layers) > 3 and layers["macs"].sum() > 0
    assert "Conv" in set(layers["op"])
    run = _run(out)
    assert run["status"] == "complete"
    assert run["options"]["input_shape"] is None  # type: ignore[index]
    assert "error" not in capsys.readouterr().err


def test_a_declared_input_shape_needs_no_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "declared_net.py").write_text(DECLARED_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for runtime in ("torch", "onnxruntime"):
        out = tmp_path / f"run-{runtime}"
        argv = ["measure", "declared_net:build", "--runtime", runtime, "--sensor", "none", *quick("-o", str(out))]
        assert main(argv) == 0, capsys.readouterr().err
        layers = pd.read_csv(out / "layers.csv")
        conv = layers[layers["op"] == "Conv"].iloc[0]
        assert conv["macs"] == 8 * 12 * 12 * 3 * 9
    assert "error" not in capsys.readouterr().err


def test_the_builtin_cifar_net_needs_no_input_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = ["measure", "synergy.zoo.cifar:nin", "--runtime", "torch", "--sensor", "none"]
    assert main([*argv, *quick("--runs", "2", "-o", str(out))]) == 0, capsys.readouterr().err
    layers = pd.read_csv(out / "layers.csv")
    assert layers["macs"].sum() > 0 and "Conv" in set(layers["op"])


def test_measure_typo_says_did_you_mean_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["measure", "torchvision:resnet1", "--sensor", "none", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "did you mean" in err and err.count("\n") == 1
    assert not out.exists()


def test_measure_a_shape_the_model_cannot_take_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "declared_net.py").write_text(DECLARED_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "run"
    argv = ["measure", "declared_net:build", "--input-shape", "1,3,20,20", "--sensor", "none", "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def _module() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 3)
    )


def test_analyze_and_measure_an_in_memory_module(tmp_path: Path) -> None:
    module, example = _module(), torch.randn(1, 3, 8, 8)
    table = synergy.analyze(module, example)
    assert [layer.op for layer in table.layers][:1] == ["Conv"]
    assert table.macs >= 4 * 8 * 8 * 3 * 9
    for runtime in ("torch", "onnxruntime"):
        options = MeasureOptions(
            model=module,  # type: ignore[arg-type]
            runtime=runtime,
            sensor="none",
            runs=3,
            warmup=1,
            idle_s=0.0,
            counters=False,
            context=False,
        )
        out = tmp_path / runtime
        result = synergy.measure(options, out, example_input=example)
        assert result.run["status"] == "complete"
        assert result.layers["macs"].sum() == table.macs
        recorded = _run(out)
        assert recorded["model"] == "Sequential" and recorded["options"]["model"] == "Sequential"  # type: ignore[index]


def test_an_in_memory_module_with_a_wrong_input_writes_nothing(tmp_path: Path) -> None:
    options = MeasureOptions(model=_module(), runtime="torch", sensor="none", context=False)  # type: ignore[arg-type]
    out = tmp_path / "run"
    with pytest.raises(InputShapeError):
        synergy.measure(options, out, example_input=torch.randn(1, 3, 5, 5))
    assert not out.exists()
