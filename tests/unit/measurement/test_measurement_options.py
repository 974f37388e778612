"""``measure``'s smaller options: a PMIC calibration on the fake Raspberry Pi 5, ``--top`` and ``--sort``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from synergy.cli import main
from synergy.errors import UsageError
from synergy.measurement import MeasureOptions
from synergy.testing.sysfs import SysfsWriter
from synergy.testing.vcgencmd import build_rpi5


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), (torch.randn(1, 3, 8, 8),), str(path), dynamo=False)
    return path


def test_pmic_calibration_is_for_the_pmic_sensor_only() -> None:
    MeasureOptions(model="m.onnx", pmic_calibration=(1.1, 1.9)).validate()  # auto may find the PMIC
    MeasureOptions(model="m.onnx", sensor="rpi-pmic", pmic_calibration=(1.1, 1.9)).validate()
    with pytest.raises(UsageError, match="rpi-pmic sensor only"):
        MeasureOptions(model="m.onnx", sensor="rapl", pmic_calibration=(1.1, 1.9)).validate()
    with pytest.raises(UsageError, match="finite a > 0"):
        MeasureOptions(model="m.onnx", sensor="rpi-pmic", pmic_calibration=(0.0, 1.9)).validate()
    assert MeasureOptions(model="m.onnx", pmic_calibration=(1.1, 1.9)).to_dict()["pmic_calibration"] == [1.1, 1.9]


def test_bad_calibration_is_refused_by_the_parser(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["measure", str(tiny_onnx), "--pmic-calibration", "1.1", "-o", str(tmp_path / "never")])
    assert caught.value.code == 2 and "a calibration is two numbers" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_pmic_calibration_reaches_the_sensor(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "pi5"
    tree = build_rpi5(root, update_period_s=0.02)
    out = tmp_path / "run"
    args = ["measure", str(tiny_onnx), "--sensor", "rpi-pmic", "--sysfs-root", str(root), "--runs", "5"]
    args += ["--warmup", "1", "--idle-s", "0", "--no-counters", "--no-context", "--pmic-calibration", "1.12,1.9"]
    with SysfsWriter(tree):
        code = main([*args, "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["options"]["pmic_calibration"] == [1.12, 1.9]
    assert run["sensor"]["name"] == "rpi-pmic"
    assert run["sensor"]["calibration"] == {"a": 1.12, "b_w": 1.9, "formula": "board = a × sum + b"}


def test_top_and_sort_cut_the_printed_table_not_the_file(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["measure", str(tiny_onnx), "--sensor", "none", "--runs", "5", "--warmup", "1", "--idle-s", "0"]
    code = main([*args, "--no-counters", "--no-context", "--top", "1", "--sort", "macs", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    table = printed.split("by layer type")[0]
    assert "duration (µs)" in table or "duration (ms)" in table  # one prefix per column, labelled
    assert "… 3 more row(s) not shown" in table
    rows = [line for line in table.splitlines() if "Conv" in line or "Gemm" in line]
    assert len(rows) == 1 and "Conv" in rows[0]  # the most MACs first
    assert len((out / "layers.csv").read_text().splitlines()) == 5  # every layer in the file


def test_unknown_sort_column_is_refused_before_measuring(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    code = main(["measure", str(tiny_onnx), "--sensor", "none", "--sort", "nonsense", "-o", str(out)])
    assert code == 2 and "cannot sort by 'nonsense'" in capsys.readouterr().err
    assert not out.exists()
