"""MODEL specs read from data files never import code unless the user says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.cli import main
from unit.code_from_data import plant_evil


@pytest.fixture
def evil_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plant_evil(tmp_path, monkeypatch)
    rows = ["model,input_shape,energy_mj"] + [f"evil:build,1x3x{s}x{s},{0.1 * s:.3f}" for s in range(6, 14)]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_fit_refuses_code_named_by_a_data_file(evil_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = evil_csv.parent / "predictor.json"
    args = ["fit", str(evil_csv), "--target", "energy_mj", "--no-cache", "--folds", "2", "-o", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "evil" in err and err.rstrip().endswith("(add --trust-code to allow it)")
    assert not (evil_csv.parent / "evil-ran").exists()
    assert not out.exists()


def test_fit_with_trust_code_runs_it(evil_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = evil_csv.parent / "predictor.json"
    args = ["fit", str(evil_csv), "--target", "energy_mj", "--no-cache", "--folds", "2", "--workers", "1"]
    assert main([*args, "--trust-code", "-o", str(out)]) == 0, capsys.readouterr().err
    assert (evil_csv.parent / "evil-ran").read_text() == "imported"
    assert out.is_file()


def test_predict_refuses_code_named_by_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mark = plant_evil(tmp_path, monkeypatch)
    run = tmp_path / "run"
    run.mkdir()
    (run / "layers.csv").write_text("layer,op,runs,duration_s,energy_j\n0,Conv,5,0.001,0.003\n")
    (run / "run.json").write_text('{"format_version": 1, "model": "evil:build"}')
    assert main(["predict", "rpi5-onnxruntime", str(run), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("(add --trust-code to allow it)") and not mark.exists()
