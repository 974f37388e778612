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
    # A power log holds points: a 10 µs layer is seen by a 1 kHz row in one run of a hundred, so 600 runs give
    # every layer several rows (with 60 runs, two or three layers were seen by none, and rightly got NaN).
    args = ["measure", net_spec, "--input-shape", SHAPE, "--runtime", "torch", "--sensor", f"trace:{log}"]
    args += ["--trace-offset", offset, "--runs", "600", "--warmup", "2", "--idle-s", "0.3", "--no-counters"]
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


def test_without_an_offset_the_sync_pattern_aligns_the_log(
    net_spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The meter logged the sync pattern on its own clock; measure finds it and attributes the runs."""
    from synergy.clock import now_ns
    from synergy.sensors import trace

    pattern = trace.SyncPattern.random(n_bursts=6, bit_s=0.1)
    start_ns = now_ns() - 5_000_000_000  # the pattern, as emitted (not burnt here: the test stays quick)
    edges = start_ns + np.concatenate([[0], np.cumsum(np.round(np.asarray(pattern.durations_s) * 1e9))])
    record = trace.SyncRecord(pattern, edges.astype(np.int64))
    monkeypatch.setattr(trace, "emit_sync_pattern", lambda *a, **k: record)
    offset_s = 1234.5  # the meter's clock: monotonic = log time + offset
    t_mono = np.arange(start_ns / 1e9 - 2.0, start_ns / 1e9 + 300.0, 1e-3)
    power = 5.0 + 12.0 * record.level(np.round(t_mono * 1e9).astype(np.int64))
    log = tmp_path / "meter.csv"
    log.write_text("t_s,power_w\n" + "\n".join(f"{t:.6f},{p}" for t, p in zip(t_mono - offset_s, power, strict=True)))
    out = tmp_path / "run"
    args = ["measure", net_spec, "--input-shape", SHAPE, "--runtime", "torch", "--sensor", f"trace:{log}"]
    # Points again: 600 runs give every layer several rows (see above).
    args += ["--runs", "600", "--warmup", "1", "--idle-s", "0.3", "--no-counters", "--no-context", "-o", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    run = json.loads((out / "run.json").read_text())
    assert run["trace"] is not None and run["sensor"]["alignment"]["offset_s"] == pytest.approx(offset_s, abs=0.01)
    layers = pd.read_csv(out / "layers.csv")
    ok = layers["energy_j"].notna()
    assert ok.sum() >= len(layers) - 1
    np.testing.assert_allclose(layers.loc[ok, "energy_j"], 5.0 * layers.loc[ok, "duration_s"], rtol=0.05)
