"""``measure --sensor trace:FILE``: an external meter's log, read after the runs, aligned and attributed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeys.conftest import SHAPE
from synergy.cli import main

#: The fake meter's power, W: constant, so every layer's true energy is this power times its time.
POWER_W = 12.5


def _meter_log(path: Path, t0_s: float, t1_s: float, offset_s: float) -> Path:
    """A 1 kHz power log from ``t0_s`` to ``t1_s`` (Unix time), stamped ``offset_s`` behind."""
    t = np.arange(t0_s, t1_s, 1e-3) - offset_s
    path.write_text("timestamp,power_w\n" + "\n".join(f"{x:.6f},{POWER_W}" for x in t) + "\n")
    return path


@pytest.mark.parametrize("offset", ["wall", "100.0"])
def test_a_meter_log_covering_the_run_gives_each_layer_its_energy(
    net_spec: str, tmp_path: Path, offset: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from synergy.clock import wall_offset_ns

    now = time.time()
    if offset == "wall":
        log = _meter_log(tmp_path / "meter.csv", now - 5, now + 300, 0.0)
    else:  # a meter on its own clock: monotonic = log time + 100 s
        mono_now = now - wall_offset_ns() / 1e9
        log = _meter_log(tmp_path / "meter.csv", mono_now - 5, mono_now + 300, 100.0)
    out = tmp_path / "run"
    args = ["measure", net_spec, "--input-shape", SHAPE, "--runtime", "torch", "--sensor", f"trace:{log}"]
    args += ["--trace-offset", offset, "--runs", "60", "--warmup", "2", "--idle-s", "0.3", "--no-counters"]
    assert main([*args, "--no-context", "-o", str(out)]) == 0
    assert "energy: " in capsys.readouterr().out
    layers = pd.read_csv(out / "layers.csv")
    truth = POWER_W * layers["duration_s"]
    measured = layers["energy_j"]
    assert measured.notna().sum() >= len(layers) - 1
    ok = measured.notna()
    np.testing.assert_allclose(measured[ok], truth[ok], rtol=0.05)
    run = json.loads((out / "run.json").read_text())
    assert run["inference_energy_j"] == pytest.approx(POWER_W * run["inference_s_mean"], rel=0.05)
    assert run["sensor"]["name"] == "trace" and run["energy_unavailable"] is None
    assert (out / "samples.parquet").is_file()


def test_a_log_that_does_not_cover_the_runs_gives_no_energy(
    net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    log = _meter_log(tmp_path / "old.csv", now - 3600, now - 3500, 0.0)  # an hour ago
    out = tmp_path / "run"
    args = ["measure", net_spec, "--input-shape", SHAPE, "--runtime", "torch", "--sensor", f"trace:{log}"]
    args += ["--trace-offset", "wall", "--runs", "10", "--warmup", "1", "--idle-s", "0", "--no-counters"]
    assert main([*args, "--no-context", "-o", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["inference_energy_j"] is None and run["energy_unavailable"]
    assert pd.read_csv(out / "layers.csv")["energy_j"].isna().all()
    capsys.readouterr()
