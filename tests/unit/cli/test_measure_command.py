"""``synergy measure`` from the command line: outputs, summary, one-line errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from synergy.cli import main


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), (torch.randn(1, 3, 8, 8),), str(path), dynamo=False)
    return path


def _args(model: Path, out: Path, *extra: str) -> list[str]:
    return ["measure", str(model), "--runs", "4", "--warmup", "1", "--idle-s", "0", "-o", str(out), *extra]


def test_time_only_summary(tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(_args(tiny_onnx, out, "--sensor", "none")) == 0
    printed = capsys.readouterr().out
    assert "measured layers" in printed and "by layer type" in printed
    assert printed.count("energy: not measured") == 1 and "sensor 'none'" in printed
    assert "energy_j" not in printed.split("by layer type")[0]
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_existing_output_exit_2(tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exists"
    out.mkdir()
    assert main(_args(tiny_onnx, out, "--sensor", "none")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output directory") and "--force" in err and err.count("\n") == 1
    assert list(out.iterdir()) == []


def test_absent_sensor_names_what_was_probed(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(tiny_onnx, tmp_path / "o", "--sensor", "rapl", "--sysfs-root", str(tmp_path))) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "intel-rapl" in err
    assert not (tmp_path / "o").exists()


def test_unknown_sensor_exit_2(tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tiny_onnx, tmp_path / "o", "--sensor", "thermometer")) == 2
    assert "unknown sensor" in capsys.readouterr().err


def test_isolation_needs_the_torch_runtime(tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tiny_onnx, tmp_path / "o", "--sensor", "none", "--isolation")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --isolation") and "--runtime torch" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
