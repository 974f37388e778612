"""Training data never imports the code a data file names, unless the caller trusts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergy.errors import UntrustedCodeError
from synergy.models.dataset import load_layer_runs, load_network_csv
from unit.code_from_data import plant_evil


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plant_evil(tmp_path, monkeypatch)
    return tmp_path


def test_a_network_csv_naming_code_is_refused(cwd: Path) -> None:
    path = cwd / "data.csv"
    path.write_text("model,energy_j\nevil:build,1\n")
    with pytest.raises(UntrustedCodeError, match=r"column 'model' of .*data\.csv"):
        load_network_csv(path, "energy_j", use_cache=False)
    assert not (cwd / "evil-ran").exists()


def test_a_run_json_naming_code_is_refused(cwd: Path) -> None:
    run = cwd / "run"
    run.mkdir()
    (run / "layers.csv").write_text("layer,op,runs,duration_s,energy_j\nconv,Conv,5,0.001,0.003\n")
    (run / "run.json").write_text(json.dumps({"format_version": 1, "model": "evil:build"}))
    with pytest.raises(UntrustedCodeError, match="run"):
        load_layer_runs([run], "energy_j", use_cache=False)
    assert not (cwd / "evil-ran").exists()


def test_the_builtin_zoo_is_always_allowed(cwd: Path) -> None:
    path = cwd / "data.csv"
    path.write_text("model,energy_j\nsynergy.zoo.cifar:nin,1\nsynergy.zoo.cifar:nin,2\n")
    data = load_network_csv(path, "energy_j", use_cache=False, workers=1)
    assert len(data.y) == 2
