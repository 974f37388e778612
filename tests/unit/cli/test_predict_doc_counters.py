"""The synthetic-counter script of docs/predict.md runs as written, and fit offers the counter models after it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from synergy.cli import main
from synthetic_counters import write_runs

DOC = Path(__file__).resolve().parents[3] / "docs" / "predict.md"


def test_arm_counter_script_of_the_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not DOC.is_file():
        pytest.skip("docs/predict.md is not present")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    script = next(b for b in blocks if "SYNTHETIC ARM counters" in b)
    runs = write_runs(tmp_path / "runs", 5, seed=11, drop=("ase_spec", "bus_access"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["arm_counters.py", "arm", *(str(r) for r in runs)])
    exec(compile(script, str(DOC), "exec"), {"__name__": "__main__"})
    made = sorted((tmp_path / "arm").iterdir())
    assert [m.name for m in made] == [r.name for r in runs]
    layers = pd.read_csv(made[0] / "layers.csv")
    assert {"ase_spec", "bus_access"} <= set(layers.columns) and (layers["ase_spec"] > 0).all()
    assert main(["fit", *(str(m) for m in made), "--target", "energy_j", "--model", "chain", "-o", "c.json"]) == 0
    assert "counters: ase_spec (SIMD) and bus_access (bus)" in capsys.readouterr().out
