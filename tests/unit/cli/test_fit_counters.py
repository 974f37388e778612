"""``synergy fit`` / ``synergy predict`` with SyNERGY's counter models on layer-level runs with counters."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synergy.cli import main
from synthetic_counters import write_runs

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNERGY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return write_runs(tmp_path / "runs", 6, seed=3)


def test_fit_offers_counters_and_chain_and_may_choose_them(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.json"
    assert main(["fit", *map(str, runs), "--target", "energy_j", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "counters: ase_spec (SIMD) and bus_access (bus) of " in text
    rows = {line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")}
    assert {"op-mean", "layer-type", "counters", "chain"} <= rows
    # energy is an exact function of the counters: the counter model wins
    assert "chosen: counters" in text and "needs measured counters" in text
    assert json.loads(out.read_text())["model"]["class"] == "LayerCounterModel"


def test_counters_predictor_predicts_measured_runs_only(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "counters.json"
    assert main(["fit", *map(str, runs), "--target", "energy_j", "--model", "counters", "-o", str(out)]) == 0
    assert "fitted: counters" in capsys.readouterr().out
    assert main(["predict", str(out), str(runs[0]), str(runs[1] / "layers.csv"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for result, run in zip(doc, runs[:2], strict=True):
        measured = pd.read_csv(run / "layers.csv")["energy_j"]
        assert result["total"] == pytest.approx(measured.sum(), rel=1e-3)
        assert [layer["name"] for layer in result["layers"]] == list(pd.read_csv(run / "layers.csv")["layer"])
    assert main(["predict", str(out), f"nb201:{ARCH}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "run directory" in err and "--model chain" in err


def test_chain_predictor_predicts_any_model_from_macs(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "chain.json"
    assert main(["fit", *map(str, runs), "--target", "energy_j", "--model", "chain", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), f"nb201:{ARCH}", str(runs[2]), "--format", "json"]) == 0
    captured = capsys.readouterr()
    spec, run = json.loads(captured.out)
    assert spec["model"] == f"nb201:{ARCH}" and spec["total"] > 0
    assert run["total"] == pytest.approx(pd.read_csv(runs[2] / "layers.csv")["energy_j"].sum(), rel=0.1)
    assert "never seen in training" in captured.err  # BatchNorm, pooling ... of nb201


def test_counter_models_without_counters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = write_runs(tmp_path / "plain", 4, seed=4, drop=("ase_spec", "bus_access"))
    out = tmp_path / "p.json"
    for model in ("counters", "chain"):
        assert main(["fit", *map(str, runs), "--target", "energy_j", "--model", model, "-o", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith(f"error: --model {model} needs per-layer hardware counters")
        assert "task_clock_ns is CPU time" in captured.err and "synergy measure --runtime torch" in captured.err
        assert not out.exists()
    assert main(["fit", *map(str, runs), "--target", "energy_j", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "counters, chain: not offered: the layers carry no hardware counter column" in text
    rows = {line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")}
    assert "counters" not in rows and "chain" not in rows


def test_counter_models_refuse_network_level_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "nets.csv"
    csv.write_text(f"model,energy_mj\nnb201:{ARCH},2.0\nnb201:{ARCH.replace('none', 'nor_conv_3x3')},3.0\n")
    out = tmp_path / "p.json"
    assert main(["fit", str(csv), "--target", "energy_mj", "--model", "chain", "-o", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "network-level data has no per-layer counters" in err and err.count("\n") == 1
    assert not out.exists()
