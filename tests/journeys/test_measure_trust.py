"""Never a confident wrong number: ``synergy measure`` on fake sensors that cannot determine every layer.

The fake sensor is written by a separate process (``python -m synergy.testing.sysfs``) at its own pace, as
hardware is: the measurement never waits for it or knows when it publishes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from journeys.conftest import SHAPE
from synergy.cli import main


@contextmanager
def _fake_sensor(root: Path, layout: str, *power: str) -> Iterator[None]:
    """The fake tree under ``root``, kept up to date by its own process until the block ends."""
    argv = [sys.executable, "-m", "synergy.testing.sysfs", str(root), layout, "--run-s", "600"]
    argv += [arg for rail in power for arg in ("--power", rail)]
    env = os.environ.copy()
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            deadline = time.monotonic() + 60.0  # a loaded machine starts an interpreter slowly
            while not any(p.is_file() and p.stat().st_size for p in root.rglob("*") if p.name != "name"):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the fake sensor did not start"
                time.sleep(0.05)
            time.sleep(0.5)  # the first publications
            yield
        finally:
            proc.terminate()
            proc.communicate(timeout=30)


def _watts(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3g} W"


def _measure(spec: str, root: Path, sensor: str, out: Path, *extra: str) -> int:
    argv = ["measure", spec, "--runtime", "torch", "--input-shape", SHAPE, "--sensor", sensor]
    argv += ["--sysfs-root", str(root), "--warmup", "2", "--idle-s", "0.3", "--no-counters", "--no-context"]
    return main([*argv, "-o", str(out), *extra])


def _assert_no_confident_wrong_layer(out: Path, power_w: float) -> pd.DataFrame:
    """Every layer is NaN with a reason, or near the constant power, or flagged by a finding.

    Near: within a factor of two, or within four of the standard errors printed next to it (a layer the
    readings see for a tenth of a reading comes with an error bar of half the power, and is not confident)."""
    run = json.loads((out / "run.json").read_text())
    layers = pd.read_csv(out / "layers.csv", keep_default_na=False, na_values=[""])
    codes = {c["code"] for c in run["checks"]}
    for row in layers.itertuples():
        if math.isnan(row.energy_j):
            assert isinstance(row.undetermined_reason, str) and row.undetermined_reason, row
            assert "layers-undetermined" in codes
        elif not (0.5 * power_w <= row.power_w <= 2 * power_w or abs(row.power_w - power_w) <= 4 * row.power_w_se):
            assert codes & {"layer-power-implausible", "residual-large", "readings-downweighted"}, row
    return layers


def test_constant_jetson_rail_gives_no_confident_number(
    net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "jetson"
    with _fake_sensor(root, "jetson:orin_nx", "VDD_IN=15"):
        code = _measure(net_spec, root, "jetson", tmp_path / "run", "--runs", "30")
        captured = capsys.readouterr()
        strict = _measure(net_spec, root, "jetson", tmp_path / "strict", "--runs", "30", "--strict")
    strict_err = capsys.readouterr().err
    assert code == 0, captured.err
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    # The INA3221 averages over hundreds of milliseconds: a few readings for dozens of unknowns.
    assert "layers-undetermined" in {c["code"] for c in run["checks"]}, run["checks"]
    assert "0 ± 0" not in captured.out and "determine" in captured.err
    layers = _assert_no_confident_wrong_layer(tmp_path / "run", 15.0)
    assert layers["energy_j"].isna().any()
    if run["inference_energy_j"] is not None:  # read directly from the sensor over the inferences
        assert run["energy_source"] != "model"
    assert strict == 1 and "failed under --strict (" in strict_err and "layers-undetermined" in strict_err
    strict_run = json.loads((tmp_path / "strict" / "run.json").read_text())
    assert strict_run["status"] == "failed-checks" and (tmp_path / "strict" / "layers.csv").is_file()


def test_constant_rapl_prints_no_absurd_layer_without_a_finding(
    net_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "rapl"
    with _fake_sensor(root, "rapl", "package-0=15"):
        code = _measure(net_spec, root, "rapl", tmp_path / "run", "--runs", "60")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    _assert_no_confident_wrong_layer(tmp_path / "run", 15.0)
    a = run["attribution"]
    assert f"idle measured {_watts(a['idle_measured_w'])}, fitted {_watts(a['idle_fitted_w'])}" in captured.out
    assert "0 ± 0" not in captured.out
